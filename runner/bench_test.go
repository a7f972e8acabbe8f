package runner

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/steps"
)

// realShape is a plan with the real master plan's names and inputs whose
// steps converge one file each: it measures what the runner itself costs
// on a resumed run (decisions, fingerprints, ledger).
func realShape(r *recorder) []steps.Step {
	plan := make([]steps.Step, len(steps.Master))
	for i, s := range steps.Master {
		plan[i] = r.step(s.Name, s.Reads...)
	}
	return plan
}

func mtimes(t testing.TB, root string) map[string]time.Time {
	m := map[string]time.Time{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m[p] = info.ModTime()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A resumed run over a finished plan runs nothing and writes only the ledger.
func TestNoopRerunWritesOnlyTheLedger(t *testing.T) {
	f := newFixture(t, realShape)
	if _, err := f.run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	f.rec.take()
	before := mtimes(t, f.root)
	time.Sleep(10 * time.Millisecond)
	if _, err := f.run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := f.rec.take(); len(got) != 0 {
		t.Fatalf("a no-op rerun ran %v", got)
	}
	ledgerPath := filepath.Join(f.root, "var/lib/heatstrap/status.json")
	for p, mt := range mtimes(t, f.root) {
		if p == ledgerPath || p == filepath.Dir(ledgerPath) {
			continue
		}
		if !mt.Equal(before[p]) {
			t.Errorf("%s changed on a no-op rerun", p)
		}
	}
}

func BenchmarkNoopRerun(b *testing.B) {
	f := newFixture(b, realShape)
	if _, err := f.run(context.Background(), Options{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		l, err := f.store.Load()
		if err != nil {
			b.Fatal(err)
		}
		f.runner.Reporter.Ledger = l
		if err := f.runner.Run(context.Background(), l, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	if n := len(f.rec.take()); n != len(steps.Master) {
		b.Fatalf("steps ran during the benchmark: %d", n-len(steps.Master))
	}
}
