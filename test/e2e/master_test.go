package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/heat/heattest"
	"github.com/heatstrap/heatstrap/ledger"
)

// masterUnits are the units a master with flannel and a docker volume
// ends up running, each enabled so that a reboot brings it back.
var masterUnits = []string{
	"etcd.service", "docker.service", "var-lib-docker.mount", "kube-apiserver.service", "kubelet.service",
	"flannel-config.service", "flanneld.service", "flannel-docker-bridge.service",
	"kube-system-namespace.service", "kube-ui.service",
}

// The whole master plan on a real systemd node, launched as cloud-init
// would: SUCCESS reaches Heat only once etcd, docker on the Cinder disk,
// flannel and the (stand-in) apiserver are really up; a rerun touches
// nothing.
func TestMasterBootstrap(t *testing.T) {
	n := bootNode(t, "hs-e2e-master", nodeOpts{})
	t.Logf("container boot: %s", n.Boot.Round(time.Millisecond))

	start := time.Now()
	out, code := n.agent("launch")
	launched := time.Since(start)
	if code != 0 || !strings.Contains(out, "heatstrap.service queued") {
		t.Fatalf("launch: exit %d\n%s", code, out)
	}
	// cloud-final must not wait on the run: launch only queues it.
	if launched > 3*time.Second {
		t.Errorf("launch took %s; it must return at once", launched)
	}
	if st := n.waitWC(3 * time.Minute); st != heattest.StatusComplete {
		out, _ := n.Exec("journalctl", "-u", "heatstrap", "--no-pager", "-n", "40")
		t.Fatalf("wait condition %s, want COMPLETE\n%s", st, out)
	}
	t.Logf("launch to SUCCESS: %s", time.Since(start).Round(time.Millisecond))

	e, err := n.entry()
	if err != nil {
		t.Fatal(err)
	}
	reason, _ := e.Reason.(string)
	var data map[string]any
	text, _ := e.Data.(string)
	if e.Status != "SUCCESS" || !strings.Contains(reason, "master ready") || !strings.Contains(reason, "3 gates passed") ||
		json.Unmarshal([]byte(text), &data) != nil || data["role"] != "master" || data["failed"] != nil {
		t.Errorf("signal entry %+v (data %v)", e, data)
	}
	waitFor(t, 30*time.Second, "heatstrap.service to finish", func() bool {
		s, _ := n.Exec("systemctl", "show", "heatstrap", "-p", "ActiveState", "--value")
		return strings.TrimSpace(s) == "inactive"
	})
	if r := strings.TrimSpace(n.Must("systemctl", "show", "heatstrap", "-p", "Result", "--value")); r != "success" {
		t.Errorf("heatstrap.service Result=%s", r)
	}

	checkMasterUp(t, n)
	checkLedgerDone(t, n.ledger())
	checkLogs(t, n)

	// A second run resumes with everything done: no unit restarted, no
	// file written but the ledger.
	before, tree := n.unitFacts(masterUnits), n.tree()
	start = time.Now()
	if out, code := n.agent("run"); code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	t.Logf("no-op rerun inside the container: %s", time.Since(start).Round(time.Millisecond))
	if after := n.unitFacts(masterUnits); !maps.Equal(before, after) {
		t.Errorf("second run changed units:\nbefore %v\nafter  %v", before, after)
	}
	if diff := diffTrees(tree, n.tree()); len(diff) > 0 {
		t.Errorf("second run wrote %v", diff)
	}
	out, code = n.agent("status")
	if code != 0 || !strings.Contains(out, "overall: done") || !strings.Contains(out, "signal: SUCCESS delivered") {
		t.Errorf("status: exit %d\n%s", code, out)
	}

	// A changed parameter reaches the running daemons: the units whose
	// EnvironmentFile changed restart, no other does.
	n.params["KUBE_ALLOW_PRIV"] = "false"
	n.writeParams()
	if out, code := n.agent("run"); code != 0 {
		t.Fatalf("run with KUBE_ALLOW_PRIV=false: exit %d\n%s", code, out)
	}
	after := n.unitFacts(masterUnits)
	// systemd carries a restart on to the units that require the
	// restarted one (kube-ui and kube-system-namespace re-create their
	// objects: 409 is success).
	want := map[string]bool{"kube-apiserver.service": true, "kubelet.service": true}
	for _, u := range []string{"kube-apiserver.service", "kubelet.service"} {
		for _, dep := range strings.Fields(n.Must("systemctl", "show", u, "-p", "RequiredBy", "-p", "BoundBy", "--value")) {
			want[dep] = true
		}
	}
	for _, u := range masterUnits {
		restarted := after[u] != before[u]
		if want := want[u]; restarted != want {
			t.Errorf("%s restarted=%v, want %v (%s => %s)", u, restarted, want, before[u], after[u])
		}
	}
	if out := n.Must("systemctl", "show", "kube-apiserver", "-p", "MainPID", "--value"); !strings.Contains(n.Must("cat", "/proc/"+strings.TrimSpace(out)+"/cmdline"), "--allow_privileged=false") {
		t.Errorf("kube-apiserver does not run with --allow_privileged=false")
	}

	// A new flannel network reaches etcd: flannel-config, done long ago,
	// runs again because the file it reads (X-Heatstrap-Reads) changed.
	n.params["FLANNEL_NETWORK_CIDR"] = "10.200.0.0/16"
	n.writeParams()
	if out, code := n.agent("run"); code != 0 {
		t.Fatalf("run with a new FLANNEL_NETWORK_CIDR: exit %d\n%s", code, out)
	}
	waitFor(t, 30*time.Second, "the new network in etcd", func() bool {
		out, _ := n.Exec("etcdctl", "--endpoints=http://127.0.0.1:2379", "get", "--print-value-only", "/atomic.io/network/config")
		return strings.Contains(out, "10.200.0.0/16")
	})
}

// checkMasterUp asks the node itself, not heatstrap's ledger.
func checkMasterUp(t *testing.T, n *node) {
	t.Helper()
	for _, u := range masterUnits {
		if s := strings.TrimSpace(n.Must("systemctl", "is-enabled", u)); s != "enabled" {
			t.Errorf("%s is %s, want enabled", u, s)
		}
		if s, _ := n.Run("systemctl", "is-active", u); strings.TrimSpace(s) != "active" {
			t.Errorf("%s is %s, want active", u, strings.TrimSpace(s))
		}
	}
	if out := n.Must("etcdctl", "--endpoints=http://127.0.0.1:2379", "endpoint", "health"); !strings.Contains(out, "is healthy") {
		t.Errorf("etcd: %s", out)
	}
	if out := n.Must("etcdctl", "--endpoints=http://127.0.0.1:2379", "get", "--print-value-only", "/atomic.io/network/config"); !strings.Contains(out, `"Network": "10.100.0.0/16"`) && !strings.Contains(out, `"Network":"10.100.0.0/16"`) {
		t.Errorf("flannel network config in etcd: %q", out)
	}
	// Real dockerd, overlay2 on the xfs heatstrap made on the Cinder disk.
	if out := n.Must("findmnt", "-n", "-o", "SOURCE,FSTYPE", "/var/lib/docker"); !strings.Contains(out, "xfs") {
		t.Errorf("/var/lib/docker is mounted from %q", out)
	}
	info := n.Must("docker", "info", "--format", "{{.Driver}} {{.DriverStatus}}")
	if !strings.HasPrefix(info, "overlay2") || !strings.Contains(info, "xfs") {
		t.Errorf("docker storage: %s", info)
	}
	// docker's bridge is in the node's flannel subnet.
	env := n.Must("cat", "/run/flannel/subnet.env")
	subnet := regexp.MustCompile(`FLANNEL_SUBNET=(\S+)`).FindStringSubmatch(env)
	if subnet == nil {
		t.Fatalf("no FLANNEL_SUBNET in %s", env)
	}
	if out := n.Must("ip", "-o", "-4", "addr", "show", "docker0"); !strings.Contains(out, subnet[1]) {
		t.Errorf("docker0 is %s, want flannel's %s", strings.TrimSpace(out), subnet[1])
	}
	fi, err := os.Stat(filepath.Join(n.Root, "etc/sysconfig/heat-params"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("heat-params mode: %v %v", fi.Mode(), err)
	}
}

func checkLedgerDone(t *testing.T, l *ledger.Ledger) {
	t.Helper()
	if len(l.Steps) != 19 {
		t.Errorf("ledger has %d steps, want 19", len(l.Steps))
	}
	checkLedgerSteps(t, l)
}

// checkLedgerSteps: every step succeeded, or was skipped with a reason,
// and Heat has the SUCCESS.
func checkLedgerSteps(t *testing.T, l *ledger.Ledger) {
	t.Helper()
	for _, s := range l.Steps {
		switch {
		case s.State == ledger.Succeeded:
		case s.State == ledger.Skipped && s.Reason != "":
		default:
			t.Errorf("step %s: %s %q %q", s.Name, s.State, s.Reason, s.Error)
		}
	}
	if l.Signal == nil || l.Signal.DeliveredAt == nil || l.Signal.Status != "SUCCESS" {
		t.Errorf("signal record %+v", l.Signal)
	}
}

// checkLogs: the journal has the run once, as entries with fields; the
// console (a VM's serial log) has its lines.
func checkLogs(t *testing.T, n *node) {
	t.Helper()
	out := n.Must("journalctl", "-u", "heatstrap", "-o", "json", "--no-pager", "STEP=configure-etcd", "RESULT=succeeded")
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &rec); err != nil {
		t.Fatalf("no journal entry with STEP=configure-etcd RESULT=succeeded: %v\n%s", err, out)
	}
	if msg, _ := rec["MESSAGE"].(string); !strings.HasPrefix(msg, "step succeeded ") || !strings.Contains(msg, "step=configure-etcd") {
		t.Errorf("journal MESSAGE %q", msg)
	}
	all := n.Must("journalctl", "-u", "heatstrap", "-o", "cat", "--no-pager")
	if c := strings.Count(all, "step succeeded step=configure-etcd"); c != 1 {
		t.Errorf("the journal has the configure-etcd line %d times, want once:\n%s", c, all)
	}
	console, _ := os.ReadFile(filepath.Join(n.Dir, "console.log"))
	for _, want := range []string{`msg="step succeeded" step=configure-etcd`, `msg="Heat signal delivered" status=SUCCESS`} {
		if !strings.Contains(string(console), want) {
			t.Errorf("console lacks %q", want)
		}
	}
}
