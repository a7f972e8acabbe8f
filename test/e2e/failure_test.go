package e2e

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/heat/heattest"
	"github.com/heatstrap/heatstrap/ledger"
)

// A parameter that breaks etcd: Heat hears FAILURE naming the step and
// the unit within seconds, not a WaitConditionTimeout an hour later. The
// operator fixes heat-params and reruns: the run resumes where it failed
// (plus the steps whose inputs changed) and ends in SUCCESS.
func TestMasterFailureThenFix(t *testing.T) {
	// etcd cannot bind its peer URL on an address the node does not have.
	n := bootNode(t, "hs-e2e-fail", nodeOpts{set: map[string]string{"KUBE_NODE_IP": "10.0.0.99"}})
	start := time.Now()
	if out, code := n.agent("launch"); code != 0 {
		t.Fatalf("launch: exit %d\n%s", code, out)
	}
	if st := n.waitWC(2 * time.Minute); st != heattest.StatusFailed {
		t.Fatalf("wait condition %s, want FAILED", st)
	}
	took := time.Since(start)
	t.Logf("launch to FAILURE: %s", took.Round(time.Millisecond))
	_, reason := n.wc.Status()
	for _, want := range []string{"WaitConditionFailure", "step master-wc-notify failed", "gate etcd-healthy", "etcd.service is failed"} {
		if !strings.Contains(reason, want) {
			t.Errorf("FAILURE reason lacks %q: %s", want, reason)
		}
	}
	if took > time.Minute {
		t.Errorf("FAILURE took %s: a failed unit must fail its gate at once", took)
	}
	waitFor(t, 30*time.Second, "heatstrap.service to end", func() bool {
		s, _ := n.Exec("systemctl", "show", "heatstrap", "-p", "ActiveState", "--value")
		return strings.TrimSpace(s) != "activating"
	})
	if out, code := n.agent("status"); code != 1 || !strings.Contains(out, "overall: failed") {
		t.Errorf("status after FAILURE: exit %d, want 1\n%s", code, out)
	}
	first := n.ledger()

	// The fix: the right address. Only the steps that read it, and the
	// failed one, run again.
	n.params["KUBE_NODE_IP"] = nodeIP
	n.writeParams()
	if out, code := n.agent("run"); code != 0 {
		t.Fatalf("run after the fix: exit %d\n%s", code, out)
	}
	fixed := n.ledger()
	reran := rerunSteps(first, fixed)
	if want := []string{"write-heat-params", "configure-etcd", "master-wc-notify"}; strings.Join(reran, ",") != strings.Join(want, ",") {
		t.Errorf("after the fix, ran %v, want %v", reran, want)
	}
	checkLedgerDone(t, fixed)
	checkMasterUp(t, n)
	// The same id overwrites the FAILURE entry; Heat keeps the wait
	// condition FAILED (an operator then updates or recreates the stack).
	if e, err := n.entry(); err != nil || e.Status != "SUCCESS" {
		t.Errorf("handle entry after the fix: %+v %v", e, err)
	}
	if st, _ := n.wc.Status(); st != heattest.StatusFailed {
		t.Errorf("wait condition %s after a late SUCCESS; Heat keeps it FAILED", st)
	}

	// One step on demand: it runs, changes nothing, restarts nothing.
	before, tree := n.unitFacts(masterUnits), n.tree()
	if out, code := n.agent("run", "--step", "configure-etcd", "--force"); code != 0 {
		t.Fatalf("run --step configure-etcd --force: exit %d\n%s", code, out)
	}
	if reran := rerunSteps(fixed, n.ledger()); strings.Join(reran, ",") != "configure-etcd" {
		t.Errorf("--step configure-etcd --force ran %v", reran)
	}
	if after := n.unitFacts(masterUnits); !maps.Equal(before, after) {
		t.Errorf("forced configure-etcd restarted units:\nbefore %v\nafter  %v", before, after)
	}
	if diff := diffTrees(tree, n.tree()); len(diff) > 0 {
		t.Errorf("forced configure-etcd wrote %v", diff)
	}
}

// rerunSteps lists, in plan order, the steps whose run count went up.
func rerunSteps(before, after *ledger.Ledger) []string {
	runs := map[string]int{}
	for _, s := range before.Steps {
		runs[s.Name] = s.Runs
	}
	var out []string
	for _, s := range after.Steps {
		if s.Runs > runs[s.Name] {
			out = append(out, s.Name)
		}
	}
	return out
}
