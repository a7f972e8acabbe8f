package e2e

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/heat/heattest"
	"github.com/heatstrap/heatstrap/ledger"
)

// kill -9 in the middle of a step (no chance to record anything), then a
// plain run: the interrupted step is redone, the node comes up, and it is
// in the state a clean run leaves — rerunning every step changes nothing.
func TestKill9MidStep(t *testing.T) {
	// Without the disk's by-id link, configure-docker-storage waits for
	// the Cinder volume to be attached: a step caught in the middle.
	n := bootNode(t, "hs-e2e-kill", nodeOpts{noDisk: true})
	if out, code := n.agent("launch"); code != 0 {
		t.Fatalf("launch: exit %d\n%s", code, out)
	}
	const step = "configure-docker-storage"
	waitFor(t, 30*time.Second, step+" running", func() bool {
		s := n.ledgerStep(step)
		return s != nil && s.State == ledger.Running
	})
	// The run's progress, as sd_notify told systemd.
	if st := n.Must("systemctl", "show", "heatstrap", "-p", "StatusText", "--value"); strings.TrimSpace(st) != step+" (7/19)" {
		t.Errorf("StatusText %q, want %q", strings.TrimSpace(st), step+" (7/19)")
	}
	n.Must("systemctl", "kill", "--signal=KILL", "heatstrap.service")
	waitFor(t, 10*time.Second, "heatstrap.service to die", func() bool {
		s, _ := n.Exec("systemctl", "show", "heatstrap", "-p", "Result", "--value")
		return strings.TrimSpace(s) == "signal"
	})
	if s := n.ledgerStep(step); s == nil || s.State != ledger.Running {
		t.Fatalf("after kill -9 the ledger says %+v, want %s still running", s, step)
	}

	n.plugDisk()
	plan, _ := n.agent("plan")
	if !strings.Contains(plan, step) || !strings.Contains(plan, "interrupted") {
		t.Errorf("plan does not say %s was interrupted:\n%s", step, plan)
	}
	if out, code := n.agent("run"); code != 0 {
		t.Fatalf("run after kill -9: exit %d\n%s", code, out)
	}
	if st := n.waitWC(time.Minute); st != heattest.StatusComplete {
		t.Fatalf("wait condition %s, want COMPLETE", st)
	}
	if s := n.ledgerStep(step); s.Runs != 2 || s.State != ledger.Succeeded {
		t.Errorf("%s after the rerun: %+v", step, s)
	}
	checkLedgerDone(t, n.ledger())
	checkMasterUp(t, n)

	// Every step again, from scratch: a converged node has nothing left
	// for them to change.
	before, tree := n.unitFacts(masterUnits), n.tree()
	if out, code := n.agent("run", "--force"); code != 0 {
		t.Fatalf("run --force: exit %d\n%s", code, out)
	}
	for _, s := range n.ledger().Steps {
		if len(s.Changed) > 0 {
			t.Errorf("run --force: %s changed %v", s.Name, s.Changed)
		}
	}
	if after := n.unitFacts(masterUnits); !maps.Equal(before, after) {
		t.Errorf("run --force restarted units:\nbefore %v\nafter  %v", before, after)
	}
	if diff := diffTrees(tree, n.tree()); len(diff) > 0 {
		t.Errorf("run --force wrote %v", diff)
	}
}

// ledgerStep reads one step's record; nil while the ledger or the step is
// not there yet.
func (n *node) ledgerStep(name string) *ledger.Step {
	n.t.Helper()
	l, err := readLedger(n.Root)
	if err != nil {
		return nil
	}
	for i := range l.Steps {
		if l.Steps[i].Name == name {
			return &l.Steps[i]
		}
	}
	return nil
}
