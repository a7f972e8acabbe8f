package steps

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/examples"
	"github.com/heatstrap/heatstrap/heat"
	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/systemd"
)

// testNode is an offline node: a temp root seeded with the example image
// skeleton, the example heat-params of a role (with overrides), and an
// offline unit backend.
type testNode struct {
	t       *testing.T
	root    string
	files   *hostfs.FS
	params  config.Params
	backend *systemd.Offline
	signals []string
}

func newTestNode(t *testing.T, role config.Role, set map[string]string) *testNode {
	t.Helper()
	root := t.TempDir()
	skel, err := fs.Sub(examples.FS, "skeleton")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(root, skel); err != nil {
		t.Fatal(err)
	}
	text, err := examples.FS.ReadFile(string(role) + ".heat-params")
	if err != nil {
		t.Fatal(err)
	}
	entries, _, err := config.ReadHeatParams("x", text)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if v, ok := set[e.Key]; ok {
			entries[i].Value = v
			delete(set, e.Key)
		}
	}
	for k, v := range set {
		entries = append(entries, config.Entry{Key: k, Value: v})
	}
	l, err := config.LoadParams("heat-params", config.RenderHeatParams(entries), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Problems) > 0 {
		t.Fatalf("test params invalid: %v", l.Problems)
	}
	files := hostfs.New(root)
	return &testNode{t: t, root: root, files: files, params: l.Params, backend: systemd.NewOffline(files)}
}

// env returns the Env the runner would give step s.
func (n *testNode) env(s Step) *Env {
	files, _ := n.files.Recording()
	plan, _ := Plan(n.params.Role)
	return &Env{
		Params:   n.params.Only(s.Reads),
		Settings: testSettings(n.root),
		Live:     false,
		Files:    files,
		Exec:     command.Offline{},
		Units:    n.backend.For(files, s.Name),
		Signal:   (*fakeSignal)(n),
		Now:      func() time.Time { return time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) },
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:  "test",
		Plan:     plan,
	}
}

// run runs one step the way the runner does (When, then Run).
func (n *testNode) run(s Step) (skipped string, err error) {
	n.t.Helper()
	e := n.env(s)
	if s.When != nil {
		if why := s.When(e); why != "" {
			return why, nil
		}
	}
	return "", s.Run(context.Background(), e)
}

func (n *testNode) read(path string) string {
	n.t.Helper()
	b, err := n.files.ReadFile(path)
	if err != nil {
		n.t.Fatal(err)
	}
	return string(b)
}

func testSettings(root string) config.Settings {
	s, err := config.LoadSettings(nil, "/none", false, func(string) ([]byte, error) { return nil, os.ErrNotExist })
	if err != nil {
		panic(err)
	}
	s.Root = root
	return s
}

type fakeSignal testNode

func (f *fakeSignal) Configured() bool { return true }
func (f *fakeSignal) Send(_ context.Context, st heat.Status, reason string) error {
	f.signals = append(f.signals, string(st)+": "+reason)
	return nil
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}
