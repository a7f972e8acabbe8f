package steps

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
)

const fedoraAPIServerUnit = `[Unit]
Description=Kubernetes API Server (Fedora package)

[Service]
EnvironmentFile=-/etc/kubernetes/config
EnvironmentFile=-/etc/kubernetes/apiserver
ExecStart=/usr/bin/kube-apiserver $KUBE_API_ARGS

[Install]
WantedBy=multi-user.target
`

// The image's own units are used as they are (our sysconfig files reach
// them through their EnvironmentFile= lines); only a unit the image lacks
// is installed, under /etc/systemd/system, from our fallback. A unit we
// cannot supply (docker) is an error that says what to install.
func TestEnableServicesUsesImageUnits(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	// A Fedora-like image ships kube-apiserver but (here) no kubelet.
	n.write("/usr/lib/systemd/system/kube-apiserver.service", fedoraAPIServerUnit, 0o644)
	docker := n.read("/lib/systemd/system/docker.service")
	n.mustRun(runOpts{}, enableServices)

	if _, err := os.Lstat(n.hostPath("/etc/systemd/system/kube-apiserver.service")); !os.IsNotExist(err) {
		t.Errorf("kube-apiserver.service installed although the image has one (%v)", err)
	}
	if got := n.read("/usr/lib/systemd/system/kube-apiserver.service"); got != fedoraAPIServerUnit {
		t.Errorf("the image's unit was changed:\n%s", got)
	}
	if got := n.read("/lib/systemd/system/docker.service"); got != docker {
		t.Errorf("the image's docker.service was changed")
	}
	kubelet := n.unitValues("/etc/systemd/system/kubelet.service")
	checkUnitValue(t, "kubelet", kubelet, "Service.EnvironmentFile", "-/etc/kubernetes/config", "-/etc/kubernetes/kubelet")
	if ex := kubelet["Service.ExecStart"]; len(ex) != 1 || !strings.HasPrefix(ex[0], "/usr/bin/kubelet ") || !strings.Contains(ex[0], "$KUBELET_ARGS") {
		t.Errorf("kubelet ExecStart %q", ex)
	}
	n.checkMeta("/var/lib/kubelet", "0755 root:root")

	for unit, target := range map[string]string{
		"etcd.service":           "/lib/systemd/system/etcd.service",
		"docker.service":         "/lib/systemd/system/docker.service",
		"kube-apiserver.service": "/usr/lib/systemd/system/kube-apiserver.service",
		"kubelet.service":        "/etc/systemd/system/kubelet.service",
	} {
		if got, err := os.Readlink(n.hostPath("/etc/systemd/system/multi-user.target.wants/" + unit)); err != nil || got != target {
			t.Errorf("%s enabled as %q (%v), want a link to %s", unit, got, err, target)
		}
	}
	if got := n.starts(); !slices.Equal(got, coreServices[config.RoleMaster]) {
		t.Errorf("started %v, want %v in that order", got, coreServices[config.RoleMaster])
	}
	n.assertQuietRerun(enableServices, runOpts{}, "/etc/systemd/system/kubelet.service")
}

func TestEnableServicesMissingDocker(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, nil)
	if err := os.Remove(n.hostPath("/lib/systemd/system/docker.service")); err != nil {
		t.Fatal(err)
	}
	_, _, err := n.runLogged(enableServices, runOpts{})
	if err == nil || !strings.Contains(err.Error(), "docker.service is not installed in this image") || !strings.Contains(err.Error(), "install its package") {
		t.Errorf("err = %v", err)
	}
}

// etcd's distro unit is kept; a drop-in points it at the etcd.conf we
// render (Debian's reads /etc/default/etcd).
func TestConfigureEtcdDropIn(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	unit := n.read("/lib/systemd/system/etcd.service")
	n.mustRun(runOpts{}, configureEtcd)
	d := n.unitValues("/etc/systemd/system/etcd.service.d/heatstrap.conf")
	checkUnitValue(t, "etcd drop-in", d, "Service.EnvironmentFile", "/etc/etcd/etcd.conf")
	if len(d) != 1 {
		t.Errorf("drop-in sets %v; want only EnvironmentFile", d)
	}
	if n.read("/lib/systemd/system/etcd.service") != unit {
		t.Error("the image's etcd.service was changed")
	}
	n.assertQuietRerun(configureEtcd, runOpts{}, "/etc/etcd/etcd.conf", "/etc/systemd/system/etcd.service.d/heatstrap.conf")
}
