package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/heat/heattest"
)

// minionUnits are what a minion with flannel and a docker volume runs.
var minionUnits = []string{"docker.service", "var-lib-docker.mount", "kubelet.service", "flanneld.service", "flannel-docker-bridge.service"}

// A master and a minion, linked by a veth, launched together as Heat
// boots them: the minion's flannel waits for the master's etcd to hold the
// network config, and each node reports SUCCESS on its own wait condition.
func TestMasterAndMinion(t *testing.T) {
	master := bootNode(t, "hs-e2e-c-master", nodeOpts{noNet: true})
	minion := bootNode(t, "hs-e2e-c-minion", nodeOpts{role: "minion", noNet: true})
	link(master, minion)

	start := time.Now()
	for _, n := range []*node{minion, master} { // the minion first: it must wait for the master
		if out, code := n.agent("launch"); code != 0 {
			t.Fatalf("%s launch: exit %d\n%s", n.role, code, out)
		}
	}
	for _, n := range []*node{master, minion} {
		if st := n.waitWC(3 * time.Minute); st != heattest.StatusComplete {
			out, _ := n.Exec("journalctl", "-u", "heatstrap", "--no-pager", "-n", "40")
			_, reason := n.wc.Status()
			t.Fatalf("%s wait condition %s: %s\n%s", n.role, st, reason, out)
		}
		t.Logf("%s: launch to SUCCESS %s", n.role, time.Since(start).Round(time.Millisecond))
	}
	checkMasterUp(t, master)

	l := minion.ledger()
	if len(l.Steps) != 15 || l.Role != "minion" {
		t.Errorf("minion ledger: role %s, %d steps", l.Role, len(l.Steps))
	}
	checkLedgerSteps(t, l)
	for _, u := range minionUnits {
		if s := strings.TrimSpace(minion.Must("systemctl", "is-enabled", u)); s != "enabled" {
			t.Errorf("minion %s is %s, want enabled", u, s)
		}
		if s, _ := minion.Run("systemctl", "is-active", u); strings.TrimSpace(s) != "active" {
			t.Errorf("minion %s is %s, want active", u, strings.TrimSpace(s))
		}
	}
	// The minion's flanneld read the network the master put into etcd,
	// across the link, and docker took its subnet.
	if env := minion.Must("cat", "/run/flannel/subnet.env"); !strings.Contains(env, "FLANNEL_NETWORK=10.100.0.0/16") {
		t.Errorf("minion subnet.env:\n%s", env)
	}
	if out := minion.Must("docker", "info", "--format", "{{.Driver}} {{.DriverStatus}}"); !strings.HasPrefix(out, "overlay2") || !strings.Contains(out, "xfs") {
		t.Errorf("minion docker storage: %s", out)
	}
	if cfg := minion.Must("cat", "/etc/kubernetes/config"); !strings.Contains(cfg, "--master=http://"+nodeIP+":8080") {
		t.Errorf("minion kube config does not name the master:\n%s", cfg)
	}
	if out, code := minion.agent("status"); code != 0 || !strings.Contains(out, "overall: done") {
		t.Errorf("minion status: exit %d\n%s", code, out)
	}
}
