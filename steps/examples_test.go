package steps

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/heatstrap/heatstrap/config"
)

// The examples decode strictly into the k8s.io/api types (a field the
// type lacks fails) and hold what spec M18 lists.
func TestKubeExamples(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, nil)
	n.mustRun(runOpts{}, kubeExamples)
	dir := examplesDir
	n.checkMeta(dir, "0755 root:root")
	path := func(name string) string { return dir + "/" + name }

	var rc corev1.ReplicationController
	decodeStrict(t, "replication-controller.yaml", n.checkMeta(path("replication-controller.yaml"), "0644 root:root"), &rc)
	if rc.Kind != "ReplicationController" || rc.Name != "nginx-controller" || rc.Spec.Replicas == nil || *rc.Spec.Replicas != 2 ||
		rc.Spec.Selector["name"] != "nginx" || rc.Spec.Template.Labels["name"] != "nginx" ||
		rc.Spec.Template.Spec.Containers[0].Image != "nginx" || rc.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort != 80 {
		t.Errorf("replication controller: %+v", rc)
	}

	var pod corev1.Pod
	decodeStrict(t, "pod-nginx-with-label.yaml", n.checkMeta(path("pod-nginx-with-label.yaml"), "0644 root:root"), &pod)
	if pod.Kind != "Pod" || pod.Name != "nginx" || pod.Labels["app"] != "nginx" || pod.Spec.Containers[0].Image != "nginx" {
		t.Errorf("pod: %+v", pod)
	}

	var svc corev1.Service
	decodeStrict(t, "service.yaml", n.checkMeta(path("service.yaml"), "0644 root:root"), &svc)
	if p := svc.Spec.Ports; svc.Kind != "Service" || svc.Name != "nginx-service" || len(p) != 1 || p[0].Port != 8000 ||
		p[0].TargetPort != intstr.FromInt32(80) || p[0].Protocol != corev1.ProtocolTCP || svc.Spec.Selector["app"] != "nginx" {
		t.Errorf("service: %+v", svc)
	}

	readme := n.checkMeta(path("README.md"), "0644 root:root")
	mustContain(t, "README.md", readme, "kubectl create -f pod-nginx-with-label.yaml", "kubectl create -f service.yaml", "kubectl create -f replication-controller.yaml")
}
