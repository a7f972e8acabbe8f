package steps

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/heatstrap/heatstrap/config"
)

var customImages = runOpts{settings: func(s *config.Settings) {
	s.Images.Podmaster = "registry.example:5000/podmaster:1.1"
	s.Images.Hyperkube = "registry.example:5000/hyperkube:v1.0.6"
}}

// pod decodes a static-pod manifest strictly and checks what every one of
// them shares: a Pod in kube-system on the host network.
func (n *testNode) pod(path, name string) corev1.Pod {
	n.t.Helper()
	var p corev1.Pod
	decodeStrict(n.t, path, n.checkMeta(path, "0644 root:root"), &p)
	if p.APIVersion != "v1" || p.Kind != "Pod" || p.Name != name || p.Namespace != "kube-system" || !p.Spec.HostNetwork {
		n.t.Errorf("%s: %s/%s %s/%s hostNetwork=%v", path, p.APIVersion, p.Kind, p.Namespace, p.Name, p.Spec.HostNetwork)
	}
	return p
}

func checkCommand(t *testing.T, what string, c corev1.Container, want ...string) {
	t.Helper()
	if !slices.Equal(c.Command, want) || len(c.Args) > 0 {
		t.Errorf("%s command %q args %q, want %q", what, c.Command, c.Args, want)
	}
}

func checkHealthz(t *testing.T, what string, c corev1.Container, port int32) {
	t.Helper()
	p := c.LivenessProbe
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Host != "127.0.0.1" || p.HTTPGet.Path != "/healthz" ||
		p.HTTPGet.Port != intstr.FromInt32(port) || p.InitialDelaySeconds != 15 || p.TimeoutSeconds != 1 {
		t.Errorf("%s liveness probe %+v", what, p)
	}
}

// hostPaths maps volume name to host path; any other volume type fails.
func hostPaths(t *testing.T, p corev1.Pod) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, v := range p.Spec.Volumes {
		if v.HostPath == nil {
			t.Errorf("%s: volume %s is not a hostPath", p.Name, v.Name)
			continue
		}
		m[v.Name] = v.HostPath.Path
	}
	return m
}

func mounts(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, v := range c.VolumeMounts {
		ro := ""
		if v.ReadOnly {
			ro = " ro"
		}
		m[v.Name] = v.MountPath + ro
	}
	return m
}

// The podmaster and the two manifests it elects decode strictly into Pods
// and hold spec M15's commands, probes and volumes, with overridden images.
func TestEnableKubePodmasterManifests(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	n.mustRun(customImages, enableKubePodmaster)

	p := n.pod(manifestsDir+"/kube-podmaster.yaml", "kube-podmaster")
	if len(p.Spec.Containers) != 2 {
		t.Fatalf("podmaster containers: %+v", p.Spec.Containers)
	}
	for i, key := range []string{"scheduler", "controller"} {
		c := p.Spec.Containers[i]
		file := map[string]string{"scheduler": "kube-scheduler.yaml", "controller": "kube-controller-manager.yaml"}[key]
		if want := []string{"scheduler-elector", "controller-manager-elector"}[i]; c.Name != want {
			t.Errorf("container %d is %s, want %s", i, c.Name, want)
		}
		if c.Image != "registry.example:5000/podmaster:1.1" {
			t.Errorf("%s image %s", c.Name, c.Image)
		}
		checkCommand(t, c.Name, c, "/podmaster", "--etcd-servers=http://127.0.0.1:2379", "--key="+key,
			"--source-file=/src/manifests/"+file, "--dest-file=/dst/manifests/"+file)
		if got := mounts(c); got["manifest-src"] != "/src/manifests ro" || got["manifest-dst"] != "/dst/manifests" {
			t.Errorf("%s mounts %v", c.Name, got)
		}
	}
	if got := p.Spec.Containers[1].TerminationMessagePath; got != "/dev/termination-log" {
		t.Errorf("controller-manager-elector terminationMessagePath %q", got)
	}
	if got := hostPaths(t, p); len(got) != 2 || got["manifest-src"] != "/srv/kubernetes/manifests" || got["manifest-dst"] != "/etc/kubernetes/manifests" {
		t.Errorf("podmaster volumes %v", got)
	}

	cm := n.pod(srvManifestsDir+"/kube-controller-manager.yaml", "kube-controller-manager")
	c := cm.Spec.Containers[0]
	if len(cm.Spec.Containers) != 1 || c.Name != "kube-controller-manager" || c.Image != "registry.example:5000/hyperkube:v1.0.6" {
		t.Errorf("controller-manager containers %+v", cm.Spec.Containers)
	}
	checkCommand(t, "controller-manager", c, "/hyperkube", "controller-manager", "--master=http://127.0.0.1:8080",
		"--service-account-private-key-file=/etc/kubernetes/ssl/server.key", "--root-ca-file=/etc/kubernetes/ssl/ca.crt")
	checkHealthz(t, "controller-manager", c, 10252)
	if got := mounts(c); len(got) != 2 || got["ssl-certs-kubernetes"] != "/etc/kubernetes/ssl ro" || got["ssl-certs-host"] != "/etc/ssl/certs ro" {
		t.Errorf("controller-manager mounts %v", got)
	}
	if got := hostPaths(t, cm); len(got) != 2 || got["ssl-certs-kubernetes"] != "/srv/kubernetes" || got["ssl-certs-host"] != "/etc/ssl/certs" {
		t.Errorf("controller-manager volumes %v", got)
	}

	s := n.pod(srvManifestsDir+"/kube-scheduler.yaml", "kube-scheduler")
	c = s.Spec.Containers[0]
	if len(s.Spec.Containers) != 1 || c.Name != "kube-scheduler" || c.Image != "registry.example:5000/hyperkube:v1.0.6" {
		t.Errorf("scheduler containers %+v", s.Spec.Containers)
	}
	checkCommand(t, "scheduler", c, "/hyperkube", "scheduler", "--master=http://127.0.0.1:8080")
	checkHealthz(t, "scheduler", c, 10251)
}

// Without TLS the controller-manager gets no key/CA flags (Mitaka passed
// them empty), and the local API is the apiserver's insecure KUBE_API_PORT.
func TestEnableKubePodmasterWithoutTLS(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, map[string]string{"TLS_DISABLED": "True", "KUBE_API_PORT": "8081"})
	n.mustRun(runOpts{}, enableKubePodmaster)
	cm := n.pod(srvManifestsDir+"/kube-controller-manager.yaml", "kube-controller-manager")
	checkCommand(t, "controller-manager", cm.Spec.Containers[0], "/hyperkube", "controller-manager", "--master=http://127.0.0.1:8081")
	s := n.pod(srvManifestsDir+"/kube-scheduler.yaml", "kube-scheduler")
	checkCommand(t, "scheduler", s.Spec.Containers[0], "/hyperkube", "scheduler", "--master=http://127.0.0.1:8081")
	// Default images are Mitaka's.
	if img := s.Spec.Containers[0].Image; img != "gcr.io/google_containers/hyperkube:v1.0.6" {
		t.Errorf("default hyperkube image %s", img)
	}
	p := n.pod(manifestsDir+"/kube-podmaster.yaml", "kube-podmaster")
	if img := p.Spec.Containers[0].Image; img != "gcr.io/google_containers/podmaster:1.1" {
		t.Errorf("default podmaster image %s", img)
	}
}
