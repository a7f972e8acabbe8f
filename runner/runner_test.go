package runner

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/ledger"
	"github.com/heatstrap/heatstrap/steps"
	"github.com/heatstrap/heatstrap/systemd"
)

// recorder is a fake plan whose steps record the order they ran in.
type recorder struct {
	mu    sync.Mutex
	calls []string
	fail  map[string]error
}

func (r *recorder) step(name string, reads ...config.Key) steps.Step {
	return steps.Step{Name: name, Summary: "test step " + name, Reads: reads, Run: func(_ context.Context, e *steps.Env) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls = append(r.calls, name)
		if _, err := e.Files.WriteFile(hostfs.File{Path: "/out/" + name, Data: []byte(e.Params.Value(config.KubeNodeIP)), Mode: 0o644}); err != nil {
			return err
		}
		return r.fail[name]
	}}
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

type fixture struct {
	t      testing.TB
	root   string
	rec    *recorder
	runner *Runner
	store  *ledger.Store
}

func params(t testing.TB, nodeIP string) config.Params {
	t.Helper()
	l, err := config.LoadParams("hp", []byte("KUBE_API_PUBLIC_ADDRESS=\"1.2.3.4\"\nKUBE_NODE_IP=\""+nodeIP+"\"\nTLS_DISABLED=\"True\"\n"), "")
	if err != nil || len(l.Problems) > 0 {
		t.Fatal(err, l.Problems)
	}
	return l.Params
}

func newFixture(t testing.TB, plan func(*recorder) []steps.Step) *fixture {
	t.Helper()
	root := t.TempDir()
	rec := &recorder{fail: map[string]error{}}
	files := hostfs.New(root)
	store := &ledger.Store{FS: files, Path: "/var/lib/heatstrap/status.json"}
	settings := config.Settings{Root: root, StateDir: "/var/lib/heatstrap", TokenLifetime: time.Hour, SignalMargin: time.Minute}
	r := &Runner{
		Plan: plan(rec), Params: params(t, "10.0.0.4"), Checksum: "sum", Settings: settings,
		Files: files, Exec: command.Offline{}, Units: systemd.NewOffline(files), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: time.Now, Version: "test",
		Reporter: &Reporter{Store: store, Redactor: config.NewRedactor(), Now: time.Now},
	}
	return &fixture{t: t, root: root, rec: rec, runner: r, store: store}
}

func (f *fixture) run(ctx context.Context, o Options) (*ledger.Ledger, error) {
	f.t.Helper()
	l, err := f.store.Load()
	if err != nil {
		f.t.Fatal(err)
	}
	f.runner.Reporter.Ledger = l
	err = f.runner.Run(ctx, l, o)
	return l, err
}

func states(l *ledger.Ledger) string {
	var s []string
	for _, st := range l.Steps {
		s = append(s, st.Name+"="+string(st.State))
	}
	return strings.Join(s, " ")
}

func abc(r *recorder) []steps.Step {
	return []steps.Step{r.step("a", config.KubeNodeIP), r.step("b"), r.step("c")}
}

func TestRunOrderAndLedger(t *testing.T) {
	f := newFixture(t, abc)
	l, err := f.run(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.rec.take(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("order %v", got)
	}
	if states(l) != "a=succeeded b=succeeded c=succeeded" {
		t.Fatal(states(l))
	}
	st, err := os.Stat(filepath.Join(f.root, "var/lib/heatstrap/status.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("ledger mode: %v %v", st, err)
	}
	a := l.Lookup("a")
	if a.Started == nil || a.Ended == nil || a.Fingerprint == "" || !slices.Equal(a.Changed, []string{"/out/", "/out/a"}) || a.Runs != 1 {
		t.Errorf("record of a: %+v", a)
	}
}

func TestStopOnFailureThenResume(t *testing.T) {
	f := newFixture(t, abc)
	f.rec.fail["b"] = errors.New("boom on /dev/vdb")
	l, err := f.run(context.Background(), Options{})
	var sf *StepFailed
	if !errors.As(err, &sf) || sf.Step != "b" || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
	if got := f.rec.take(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("ran %v, want a b (stop at the failure)", got)
	}
	if states(l) != "a=succeeded b=failed c=pending" || l.Lookup("b").Error != "boom on /dev/vdb" {
		t.Fatalf("%s / %q", states(l), l.Lookup("b").Error)
	}

	delete(f.rec.fail, "b")
	ds := f.runner.Decide(l, Options{})
	if ds[0].Action != Keep || ds[1].Action != Run || !strings.HasPrefix(ds[1].Why, "failed last time: boom") || ds[2].Why != "not run yet" {
		t.Fatalf("decisions %+v", ds)
	}
	l, err = f.run(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.rec.take(); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("resume ran %v, want b c", got)
	}
	if l.Lookup("b").Runs != 2 || l.Lookup("a").Runs != 1 {
		t.Errorf("runs: %+v", l.Steps)
	}
}

func TestChangedInputRerunsOnlyItsReaders(t *testing.T) {
	f := newFixture(t, abc)
	if _, err := f.run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	f.rec.take()
	f.runner.Params = params(t, "10.0.0.9")
	if _, err := f.run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := f.rec.take(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("ran %v, want only a (the reader of KUBE_NODE_IP)", got)
	}
	if b, _ := os.ReadFile(filepath.Join(f.root, "out/a")); string(b) != "10.0.0.9" {
		t.Errorf("out/a = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(f.root, "out/b")); string(b) != "" {
		t.Errorf("b saw an undeclared key: %q", b)
	}
}

func TestSelection(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want []string
	}{
		{"resume keeps everything", Options{}, nil},
		{"force reruns all", Options{Force: true}, []string{"a", "b", "c"}},
		{"step without force keeps", Options{Steps: []string{"b"}}, nil},
		{"step with force", Options{Steps: []string{"b"}, Force: true}, []string{"b"}},
		{"two steps", Options{Steps: []string{"c", "a"}, Force: true}, []string{"a", "c"}},
		{"from", Options{From: "b", Force: true}, []string{"b", "c"}},
		{"skip", Options{Skip: []string{"b"}, Force: true}, []string{"a", "c"}},
		{"from and skip", Options{From: "b", Skip: []string{"c"}, Force: true}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, abc)
			if _, err := f.run(context.Background(), Options{}); err != nil {
				t.Fatal(err)
			}
			f.rec.take()
			if _, err := f.run(context.Background(), tt.o); err != nil {
				t.Fatal(err)
			}
			if got := f.rec.take(); !slices.Equal(got, tt.want) {
				t.Fatalf("ran %v, want %v", got, tt.want)
			}
		})
	}
	f := newFixture(t, abc)
	if _, err := f.run(context.Background(), Options{Steps: []string{"configure-etcd"}}); err == nil || !strings.Contains(err.Error(), "not a step of this plan") {
		t.Errorf("unknown step: %v", err)
	}
}

func TestInterruptedStepIsRedone(t *testing.T) {
	f := newFixture(t, abc)
	if _, err := f.run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	f.rec.take()
	// What a kill -9 in the middle of b leaves behind.
	l, _ := f.store.Load()
	l.Lookup("b").State = ledger.Running
	if err := f.store.Save(l); err != nil {
		t.Fatal(err)
	}
	if ds := f.runner.Decide(l, Options{}); ds[1].Why != "interrupted last time" {
		t.Fatalf("decision %+v", ds[1])
	}
	if _, err := f.run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := f.rec.take(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("ran %v", got)
	}
}

func TestWhenSkipsWithReason(t *testing.T) {
	f := newFixture(t, func(r *recorder) []steps.Step {
		s := r.step("b")
		s.When = func(*steps.Env) string { return "NETWORK_DRIVER is not flannel" }
		return []steps.Step{r.step("a"), s}
	})
	l, err := f.run(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.rec.take(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("ran %v", got)
	}
	if b := l.Lookup("b"); b.State != ledger.Skipped || b.Reason != "NETWORK_DRIVER is not flannel" {
		t.Fatalf("b = %+v", b)
	}
}

func blocking(name string) steps.Step {
	return steps.Step{Name: name, Timeout: 50 * time.Millisecond, Run: func(ctx context.Context, _ *steps.Env) error {
		<-ctx.Done()
		return ctx.Err()
	}}
}

func TestStepTimeout(t *testing.T) {
	f := newFixture(t, func(r *recorder) []steps.Step { return []steps.Step{blocking("slow"), r.step("after")} })
	start := time.Now()
	l, err := f.run(context.Background(), Options{})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
	if e := l.Lookup("slow").Error; !strings.Contains(e, "step timed out after 50ms") {
		t.Fatalf("error %q", e)
	}
	if len(f.rec.take()) != 0 {
		t.Fatal("a step after the failure ran")
	}
}

func TestInterruptRecordsFailure(t *testing.T) {
	f := newFixture(t, func(*recorder) []steps.Step {
		s := blocking("slow")
		s.Timeout = time.Minute
		return []steps.Step{s}
	})
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(30*time.Millisecond, func() { cancel(errors.New("interrupted by signal terminated")) })
	l, err := f.run(ctx, Options{})
	if err == nil || !strings.Contains(l.Lookup("slow").Error, "interrupted by signal terminated") || l.Lookup("slow").State != ledger.Failed {
		t.Fatalf("err %v, record %+v", err, l.Lookup("slow"))
	}
}

func TestOverallDeadline(t *testing.T) {
	f := newFixture(t, func(*recorder) []steps.Step {
		s := blocking("slow")
		s.Timeout = time.Minute
		return []steps.Step{s}
	})
	f.runner.Params.WaitConditionTimeout = 1 // second; margin 1m is too big to subtract
	f.runner.Settings.SignalMargin = time.Minute
	start := time.Now()
	l, _ := f.run(context.Background(), Options{})
	if e := l.Lookup("slow").Error; !strings.Contains(e, "overall deadline passed (WAIT_CONDITION_TIMEOUT=1s)") || time.Since(start) > 5*time.Second {
		t.Fatalf("error %q after %s", e, time.Since(start))
	}
	f.runner.Params.WaitConditionTimeout = 6000
	d, why := f.runner.Deadline(start)
	if got := d.Sub(start); got != 59*time.Minute || why != "token_lifetime 1h0m0s minus signal_margin 1m0s" {
		t.Errorf("deadline %s (%s)", got, why)
	}
}

// The ledger is on disk, saying "running", while the step runs: a crash
// at any point leaves a truthful file.
func TestLedgerSavedBeforeAndAfterEachStep(t *testing.T) {
	var seen string
	f := newFixture(t, func(*recorder) []steps.Step { return nil })
	f.runner.Plan = []steps.Step{{Name: "peek", Run: func(_ context.Context, e *steps.Env) error {
		data, err := e.Files.ReadFile("/var/lib/heatstrap/status.json")
		if err != nil {
			return err
		}
		var l ledger.Ledger
		if err := json.Unmarshal(data, &l); err != nil {
			return err
		}
		seen = string(l.Lookup("peek").State)
		return nil
	}}}
	l, err := f.run(context.Background(), Options{})
	if err != nil || seen != "running" || l.Lookup("peek").State != ledger.Succeeded {
		t.Fatalf("err %v, state seen during the step %q", err, seen)
	}
	disk, _ := f.store.Load()
	if disk.Lookup("peek").State != ledger.Succeeded {
		t.Fatalf("after: %+v", disk.Steps)
	}
}
