package helper

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/heatstrap/heatstrap/hostfs"
)

const (
	rcPath  = "/srv/kubernetes/manifests/kube-ui-rc.yaml"
	svcPath = "/srv/kubernetes/manifests/kube-ui-svc.yaml"
	rcPost  = "/api/v1/namespaces/kube-system/replicationcontrollers"
	svcPost = "/api/v1/namespaces/kube-system/services"
)

// uiRoot is a --root tree holding the kube-ui manifests where the
// kube-ui-service step writes them. testdata/kube-ui-*.yaml are that
// step's output byte for byte (steps' TestKubeUIService checks it).
func uiRoot(t *testing.T) (files *hostfs.FS, rc, svc string) {
	t.Helper()
	files, dir := newRoot(t)
	for p, name := range map[string]string{rcPath: "kube-ui-rc.yaml", svcPath: "kube-ui-svc.yaml"} {
		put(t, dir, p, readTestdata(t, name))
	}
	return files, rcPath, svcPath
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decodeStrictJSON decodes a posted body into a Kubernetes API type,
// refusing fields the type does not have and trailing data.
func decodeStrictJSON(t *testing.T, what string, body []byte, into any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil || dec.More() {
		t.Fatalf("%s does not decode strictly (more data: %v): %v\n%s", what, dec.More(), err, body)
	}
}

func decodeNamespace(t *testing.T, body []byte) corev1.Namespace {
	t.Helper()
	var ns corev1.Namespace
	decodeStrictJSON(t, "namespace", body, &ns)
	if ns.APIVersion != "v1" || ns.Kind != "Namespace" {
		t.Errorf("namespace is %s/%s", ns.APIVersion, ns.Kind)
	}
	return ns
}

// The namespace helper runs first (kube-ui.service is ordered after it),
// then kube-ui creates its controller and service in kube-system, with the
// content of spec M17. A second master finds all three there and succeeds.
func TestKubeUICreatesControllerAndService(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	files, _, _ := uiRoot(t)
	for master, code := range []string{"201", "409"} {
		o, _ := kubeOpts(t, srv.URL, 10*time.Second)
		o.Files = files
		if err := KubeSystemNamespace(context.Background(), o); err != nil {
			t.Fatalf("master %d: %v", master+1, err)
		}
		// The default manifest paths are the ones the step writes.
		if err := KubeUI(context.Background(), KubeUIOptions{KubeOptions: o}); err != nil {
			t.Fatalf("master %d: %v", master+1, err)
		}
		_, posts, _ := f.snapshot()
		want := []string{nsPost(code), rcPost + " " + code, svcPost + " " + code}
		if got := posts[len(posts)-3:]; !slices.Equal(got, want) {
			t.Errorf("master %d: posts %v, want %v", master+1, got, want)
		}
	}
	_, _, objects := f.snapshot()
	if len(objects) != 3 {
		t.Errorf("objects %v, want the namespace, the controller and the service", slices.Collect(maps.Keys(objects)))
	}

	var rc corev1.ReplicationController
	decodeStrictJSON(t, "controller", objects["kube-system/replicationcontrollers/kube-ui-v4"], &rc)
	labels := map[string]string{"k8s-app": "kube-ui", "version": "v4", "kubernetes.io/cluster-service": "true"}
	if rc.APIVersion != "v1" || rc.Kind != "ReplicationController" || rc.Name != "kube-ui-v4" || rc.Namespace != "kube-system" ||
		!maps.Equal(rc.Labels, labels) || rc.Spec.Replicas == nil || *rc.Spec.Replicas != 1 ||
		!maps.Equal(rc.Spec.Selector, map[string]string{"k8s-app": "kube-ui", "version": "v4"}) ||
		rc.Spec.Template == nil || !maps.Equal(rc.Spec.Template.Labels, labels) || len(rc.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("controller: %+v", rc)
	}
	c := rc.Spec.Template.Spec.Containers[0]
	if c.Name != "kube-ui" || c.Image != "gcr.io/google_containers/kube-ui:v4" ||
		!reflect.DeepEqual(c.Ports, []corev1.ContainerPort{{ContainerPort: 8080}}) ||
		len(c.Resources.Limits) != 2 || c.Resources.Limits.Cpu().Cmp(resource.MustParse("100m")) != 0 ||
		c.Resources.Limits.Memory().Cmp(resource.MustParse("50Mi")) != 0 {
		t.Errorf("container: %+v", c)
	}

	var svc corev1.Service
	decodeStrictJSON(t, "service", objects["kube-system/services/kube-ui"], &svc)
	if svc.APIVersion != "v1" || svc.Kind != "Service" || svc.Name != "kube-ui" || svc.Namespace != "kube-system" ||
		!maps.Equal(svc.Labels, map[string]string{"k8s-app": "kube-ui", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "KubeUI"}) ||
		!maps.Equal(svc.Spec.Selector, map[string]string{"k8s-app": "kube-ui"}) ||
		!reflect.DeepEqual(svc.Spec.Ports, []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}) {
		t.Errorf("service: %+v", svc)
	}

	// The YAML becomes exactly the JSON kubectl would have sent: "true"
	// stays a string, 8080 a number, nothing added or lost.
	for key, name := range map[string]string{"kube-system/replicationcontrollers/kube-ui-v4": "kube-ui-rc.json", "kube-system/services/kube-ui": "kube-ui-svc.json"} {
		var got, want any
		if err := json.Unmarshal(objects[key], &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(readTestdata(t, name)), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s posted as\n%s\nwant testdata/%s", key, objects[key], name)
		}
	}
}

// Should kube-ui ever run without the namespace (started by hand), the
// apiserver's 404 is final and the error points at the unit that creates it.
func TestKubeUIWithoutNamespace(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t)
	files, _, _ := uiRoot(t)
	o, _ := kubeOpts(t, srv.URL, 10*time.Second)
	o.Files = files
	err := timed(t, 0, time.Second, func() error { return KubeUI(context.Background(), KubeUIOptions{KubeOptions: o}) })
	mustContain(t, err, "kube-ui: create ReplicationController kube-system/kube-ui-v4", "HTTP 404 NotFound", `namespaces "kube-system" not found`,
		"systemctl status kube-system-namespace")
	if _, posts, _ := f.snapshot(); !slices.Equal(posts, []string{rcPost + " 404"}) {
		t.Errorf("posts %v, want one attempt and no service", posts)
	}
}

// A manifest the apiserver cannot decode (400) fails at once, naming the
// file to fix; the service is not attempted.
func TestKubeUIRejectedManifestFailsFast(t *testing.T) {
	t.Parallel()
	f, srv := newFakeAPI(t, "kube-system")
	files, dir := newRoot(t)
	put(t, dir, rcPath, strings.Replace(readTestdata(t, "kube-ui-rc.yaml"), "replicas: 1", `replicas: "one"`, 1))
	put(t, dir, svcPath, readTestdata(t, "kube-ui-svc.yaml"))
	o, _ := kubeOpts(t, srv.URL, 10*time.Second)
	o.Files = files
	err := timed(t, 0, time.Second, func() error { return KubeUI(context.Background(), KubeUIOptions{KubeOptions: o}) })
	mustContain(t, err, "HTTP 400 BadRequest", "cannot be handled as a ReplicationController",
		"the apiserver rejected the manifest, fix "+files.Display(rcPath))
	if _, posts, _ := f.snapshot(); !slices.Equal(posts, []string{rcPost + " 400"}) {
		t.Errorf("posts %v, want one attempt and no service", posts)
	}
}

// Manifests are checked before the wait: a broken file fails in
// milliseconds with what is wrong, not after the apiserver came up.
func TestKubeUIChecksManifestsBeforeWaiting(t *testing.T) {
	t.Parallel()
	rc := readTestdata(t, "kube-ui-rc.yaml")
	for _, tc := range []struct {
		name, rc string // "" leaves the file out
		want     string
	}{
		{"missing", "", "kube-ui-rc.yaml does not exist; the kube-ui-service step writes it"},
		{"two documents", rc + "---\n" + rc, "holds 2 YAML documents; want exactly one ReplicationController"},
		{"empty", "# nothing\n", "holds 0 YAML documents"},
		{"not YAML", "kind: [", "is not valid YAML"},
		{"duplicated key", strings.Replace(rc, "replicas: 1", "replicas: 1\n  replicas: 2", 1), `"replicas" already set`},
		{"other kind", strings.Replace(rc, "kind: ReplicationController", "kind: Pod", 1), `has kind "Pod"; want ReplicationController`},
		{"other apiVersion", strings.Replace(rc, "apiVersion: v1", "apiVersion: extensions/v1beta1", 1), `apiVersion "extensions/v1beta1"; want v1`},
		{"other namespace", strings.Replace(rc, "namespace: kube-system", "namespace: default", 1), `is for namespace "default"; it must be kube-system`},
		{"no name", strings.Replace(rc, "name: kube-ui-v4", "name: ''", 1), "has no metadata.name"},
		{"not an object", "- a\n- b\n", "is not a Kubernetes object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, srv := newFakeAPI(t, "kube-system")
			files, dir := newRoot(t)
			if tc.rc != "" {
				put(t, dir, rcPath, tc.rc)
			}
			put(t, dir, svcPath, readTestdata(t, "kube-ui-svc.yaml"))
			o, _ := kubeOpts(t, srv.URL, time.Minute)
			o.Files = files
			err := timed(t, 0, time.Second, func() error { return KubeUI(context.Background(), KubeUIOptions{KubeOptions: o}) })
			mustContain(t, err, "kube-ui: ", tc.want)
			if healthz, posts, _ := f.snapshot(); healthz != 0 || len(posts) != 0 {
				t.Errorf("asked healthz %d times and posted %v for a broken manifest", healthz, posts)
			}
		})
	}
}
