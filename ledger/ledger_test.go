package ledger_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/ledger"
)

func store(t *testing.T) (*ledger.Store, string) {
	t.Helper()
	root := t.TempDir()
	return &ledger.Store{FS: hostfs.New(root), Path: "/var/lib/heatstrap/status.json"}, root
}

func TestLoadWithoutFileIsEmpty(t *testing.T) {
	s, _ := store(t)
	l, err := s.Load()
	if err != nil || l.Schema != ledger.Schema || len(l.Steps) != 0 || l.Signal != nil {
		t.Fatalf("%+v, %v", l, err)
	}
}

// Save writes the whole file 0600 in a 0700 directory and Load reads back
// exactly what was saved.
func TestSaveLoadRoundTrip(t *testing.T) {
	s, root := store(t)
	now := time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)
	l := &ledger.Ledger{Schema: ledger.Schema, InstanceID: "i-1", RunID: "r", Role: "master", Started: now, Updated: now}
	st := l.Step("configure-etcd")
	st.State, st.Started, st.Ended, st.DurationMS, st.Fingerprint, st.Changed = ledger.Succeeded, &now, &now, 12, "fp", []string{"/etc/etcd/etcd.conf"}
	l.Step("make-cert").State = ledger.Failed
	l.Signal = &ledger.Signal{Status: "FAILURE", Reason: "step make-cert failed: x", ID: "i-1", RecordedAt: now}
	if err := s.Save(l); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{"var/lib/heatstrap": 0o700, "var/lib/heatstrap/status.json": 0o600} {
		if fi, err := os.Stat(filepath.Join(root, p)); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %o", p, fi.Mode(), err, want)
		}
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got.Step("configure-etcd").Fingerprint != "fp" || got.Lookup("make-cert").State != ledger.Failed ||
		got.Signal.Reason != l.Signal.Reason || !got.Started.Equal(now) {
		t.Errorf("round trip lost data: %+v", got)
	}
	// Nothing but the ledger is left in its directory: no temp files.
	ents, _ := os.ReadDir(filepath.Join(root, "var/lib/heatstrap"))
	if len(ents) != 1 {
		t.Errorf("state dir holds %v", ents)
	}
}

// A damaged or foreign file is an error that says what to do, never a
// silent fresh start that would redo (or skip) work.
func TestLoadRefusesCorruptAndForeign(t *testing.T) {
	for name, tc := range map[string]struct{ data, want string }{
		"truncated": {`{"schema": 1, "steps": [`, "is corrupt"},
		"not json":  {"hello\n", "move it away to start over"},
		"schema 99": {`{"schema": 99}`, "has schema 99, this heatstrap reads 1"},
	} {
		t.Run(name, func(t *testing.T) {
			s, root := store(t)
			p := filepath.Join(root, "var/lib/heatstrap/status.json")
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// Order follows the plan: records of steps no longer in it are dropped,
// new steps start pending, existing records keep their state.
func TestOrder(t *testing.T) {
	l := &ledger.Ledger{}
	l.Step("b").State = ledger.Succeeded
	l.Step("gone").State = ledger.Failed
	l.Order([]string{"a", "b", "c"})
	var got []string
	for _, s := range l.Steps {
		got = append(got, s.Name+"="+string(s.State))
	}
	if strings.Join(got, " ") != "a=pending b=succeeded c=pending" {
		t.Fatal(got)
	}
}

func TestLock(t *testing.T) {
	files := hostfs.New(t.TempDir())
	l1, err := ledger.Acquire(files, "/var/lib/heatstrap")
	if err != nil {
		t.Fatal(err)
	}
	if !ledger.Held(files, "/var/lib/heatstrap") {
		t.Error("Held = false while held")
	}
	_, err = ledger.Acquire(files, "/var/lib/heatstrap")
	if !errors.Is(err, ledger.ErrLocked) || !strings.Contains(err.Error(), "another heatstrap run holds the lock (pid ") {
		t.Fatalf("second acquire: %v", err)
	}
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := ledger.Acquire(files, "/var/lib/heatstrap")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
}
