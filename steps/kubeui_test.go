package steps

import (
	"maps"
	"os"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/systemd"
)

// unitValues parses a unit file of the node with go-systemd's unit package
// and returns section.Name -> every value, in file order.
func (n *testNode) unitValues(p string) map[string][]string {
	n.t.Helper()
	opts, err := systemd.ReadUnit(n.files, p)
	if err != nil {
		n.t.Fatal(err)
	}
	m := map[string][]string{}
	for _, o := range opts {
		m[o.Section+"."+o.Name] = append(m[o.Section+"."+o.Name], o.Value)
	}
	return m
}

func checkUnitValue(t *testing.T, unitName string, got map[string][]string, key string, want ...string) {
	t.Helper()
	if !slices.Equal(got[key], want) {
		t.Errorf("%s %s = %q, want %q", unitName, key, got[key], want)
	}
}

// kube-system-namespace.service and kube-ui.service run the helpers
// against the apiserver's local insecure port (8080 with TLS, KUBE_API_PORT
// without), kube-ui strictly after the namespace (Mitaka's
// "After=kube-system-namespace" lacked ".service" and raced it, §9.8), and
// both are enabled and started without blocking.
func TestAPIServerHelperUnits(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]string
		api  string
	}{
		{"TLS", nil, "http://127.0.0.1:8080"},
		{"TLS_DISABLED", map[string]string{"TLS_DISABLED": "True", "KUBE_API_PORT": "8081"}, "http://127.0.0.1:8081"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNode(t, config.RoleMaster, copyMap(tc.set))
			for _, s := range []Step{kubeSystemNamespaceService, kubeUIService} {
				if skipped, err := n.run(s); err != nil || skipped != "" {
					t.Fatalf("%s: err=%v skipped=%q", s.Name, err, skipped)
				}
			}
			agent := testSettings(n.root).AgentPath

			ns := n.unitValues("/etc/systemd/system/kube-system-namespace.service")
			checkUnitValue(t, "kube-system-namespace", ns, "Unit.After", "kubelet.service kube-apiserver.service")
			checkUnitValue(t, "kube-system-namespace", ns, "Unit.Requires", "kubelet.service")
			checkUnitValue(t, "kube-system-namespace", ns, "Service.Type", "oneshot")
			checkUnitValue(t, "kube-system-namespace", ns, "Service.RemainAfterExit", "yes")
			checkUnitValue(t, "kube-system-namespace", ns, "Service.ExecStart", agent+" helper kube-system-namespace --api "+tc.api)

			ui := n.unitValues("/etc/systemd/system/kube-ui.service")
			checkUnitValue(t, "kube-ui", ui, "Unit.After", "kube-system-namespace.service")
			checkUnitValue(t, "kube-ui", ui, "Unit.Requires", "kubelet.service kube-system-namespace.service")
			checkUnitValue(t, "kube-ui", ui, "Service.Type", "oneshot")
			checkUnitValue(t, "kube-ui", ui, "Service.ExecStart", agent+" helper kube-ui --api "+tc.api)

			for _, u := range []string{"kube-system-namespace.service", "kube-ui.service"} {
				if target, err := os.Readlink(n.hostPath("/etc/systemd/system/multi-user.target.wants/" + u)); err != nil || target != "/etc/systemd/system/"+u {
					t.Errorf("%s not enabled: %q %v", u, target, err)
				}
			}
			if want, started := []string{"kube-system-namespace.service", "kube-ui.service"}, n.starts(); !slices.Equal(started, want) {
				t.Errorf("started %v, want %v", started, want)
			}
		})
	}
}

// The files the helpers read or that operators use decode strictly into
// the k8s.io/api types and hold spec M14 and M17's objects; kube-ui's image
// comes from the agent config. With the default image the manifests are
// byte for byte the fixtures the helper's own tests post to the fake
// apiserver, so those tests exercise what nodes get.
func TestAPIServerHelperManifests(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	n.mustRun(runOpts{}, kubeSystemNamespaceService, kubeUIService)

	var ns corev1.Namespace
	decodeStrict(t, "kube-system-namespace.json", n.checkMeta("/srv/kubernetes/kube-system-namespace.json", "0644 root:root"), &ns)
	if ns.APIVersion != "v1" || ns.Kind != "Namespace" || ns.Name != "kube-system" || ns.Namespace != "" {
		t.Errorf("namespace: %+v", ns)
	}

	for _, name := range []string{"kube-ui-rc.yaml", "kube-ui-svc.yaml"} {
		fixture, err := os.ReadFile("../helper/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.checkMeta(srvManifestsDir+"/"+name, "0644 root:root"); got != string(fixture) {
			t.Errorf("%s differs from helper/testdata/%s; update the fixture:\n%s", name, name, got)
		}
	}

	n.assertQuietRerun(kubeUIService, runOpts{}, srvManifestsDir+"/kube-ui-rc.yaml", srvManifestsDir+"/kube-ui-svc.yaml", "/etc/systemd/system/kube-ui.service")
	n.assertQuietRerun(kubeSystemNamespaceService, runOpts{}, "/srv/kubernetes/kube-system-namespace.json", "/etc/systemd/system/kube-system-namespace.service")

	n.mustRun(runOpts{settings: func(s *config.Settings) { s.Images.KubeUI = "registry.example:5000/kube-ui:v4" }}, kubeUIService)
	var rc corev1.ReplicationController
	decodeStrict(t, "kube-ui-rc.yaml", n.read(srvManifestsDir+"/kube-ui-rc.yaml"), &rc)
	labels := map[string]string{"k8s-app": "kube-ui", "version": "v4", "kubernetes.io/cluster-service": "true"}
	if rc.APIVersion != "v1" || rc.Kind != "ReplicationController" || rc.Name != "kube-ui-v4" || rc.Namespace != "kube-system" ||
		!maps.Equal(rc.Labels, labels) || rc.Spec.Replicas == nil || *rc.Spec.Replicas != 1 ||
		!maps.Equal(rc.Spec.Selector, map[string]string{"k8s-app": "kube-ui", "version": "v4"}) ||
		rc.Spec.Template == nil || !maps.Equal(rc.Spec.Template.Labels, labels) || len(rc.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("controller: %+v", rc)
	}
	c := rc.Spec.Template.Spec.Containers[0]
	if c.Name != "kube-ui" || c.Image != "registry.example:5000/kube-ui:v4" || len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 ||
		c.Resources.Limits.Cpu().Cmp(resource.MustParse("100m")) != 0 || c.Resources.Limits.Memory().Cmp(resource.MustParse("50Mi")) != 0 {
		t.Errorf("container: %+v", c)
	}

	var svc corev1.Service
	decodeStrict(t, "kube-ui-svc.yaml", n.read(srvManifestsDir+"/kube-ui-svc.yaml"), &svc)
	if p := svc.Spec.Ports; svc.APIVersion != "v1" || svc.Kind != "Service" || svc.Name != "kube-ui" || svc.Namespace != "kube-system" ||
		!maps.Equal(svc.Labels, map[string]string{"k8s-app": "kube-ui", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "KubeUI"}) ||
		!maps.Equal(svc.Spec.Selector, map[string]string{"k8s-app": "kube-ui"}) ||
		len(p) != 1 || p[0].Port != 80 || p[0].TargetPort != intstr.FromInt32(8080) {
		t.Errorf("service: %+v", svc)
	}
}

// The image is a fingerprint input of kube-ui-service, and both steps read
// only the heat-params they declare.
func TestAPIServerHelperStepInputs(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	e := n.env(kubeUIService)
	before := kubeUIService.Fingerprint(e)
	e.Settings.Images.KubeUI = "kube-ui:other"
	if kubeUIService.Fingerprint(e) == before {
		t.Error("kube-ui-service's fingerprint ignores the kube_ui image")
	}
	for _, set := range []map[string]string{nil, {"TLS_DISABLED": "True", "KUBE_API_PORT": "8081"}} {
		checkReadsOnlyDeclared(t, config.RoleMaster, copyMap(set), kubeSystemNamespaceService)
		checkReadsOnlyDeclared(t, config.RoleMaster, copyMap(set), kubeUIService)
	}
}
