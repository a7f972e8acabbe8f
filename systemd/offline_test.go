package systemd

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
)

func TestEnableIdempotent(t *testing.T) {
	root := t.TempDir()
	tree{
		usrLib + "etcd.service":    svc("WantedBy=multi-user.target\nRequiredBy=kubelet.service\nAlias=etcd2.service"),
		etc + "flannel.service":    svc("WantedBy=multi-user.target"),
		etc + "x.service.d/i.conf": "[Install]\nWantedBy=x.target\n",
	}.build(t, root)
	files := hostfs.New(root)
	m := NewOffline(files).For(files, "etcd")
	ctx := t.Context()
	links := []string{
		etc + "multi-user.target.wants/etcd.service",
		etc + "kubelet.service.requires/etcd.service",
		etc + "etcd2.service",
		etc + "multi-user.target.wants/flannel.service",
	}
	if c, err := m.Enable(ctx, "etcd.service", "flannel.service"); err != nil || !c {
		t.Fatalf("Enable: changed=%v err=%v", c, err)
	}
	mtimes := map[string]time.Time{}
	for _, l := range links {
		st, err := files.Lstat(l)
		if err != nil {
			t.Fatal(err)
		}
		mtimes[l] = st.ModTime()
	}
	time.Sleep(10 * time.Millisecond) // so that a rewrite would show
	if c, err := m.Enable(ctx, "etcd.service", "flannel.service"); err != nil || c {
		t.Fatalf("second Enable: changed=%v err=%v", c, err)
	}
	for _, l := range links {
		st, err := files.Lstat(l)
		if err != nil {
			t.Fatal(err)
		}
		if !st.ModTime().Equal(mtimes[l]) {
			t.Errorf("%s rewritten: mtime %v -> %v", l, mtimes[l], st.ModTime())
		}
	}
	if c, err := m.Disable(ctx, "etcd.service"); err != nil || !c {
		t.Fatalf("Disable: changed=%v err=%v", c, err)
	}
	if c, err := m.Disable(ctx, "etcd.service"); err != nil || c {
		t.Fatalf("second Disable: changed=%v err=%v", c, err)
	}
}

func TestEnableRecordsInStepView(t *testing.T) {
	root := t.TempDir()
	tree{usrLib + "etcd.service": svc("WantedBy=multi-user.target")}.build(t, root)
	base := hostfs.New(root)
	view, log := base.Recording()
	m := NewOffline(base).For(view, "etcd")
	if _, err := m.Enable(t.Context(), "etcd.service"); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(log.Paths(), etc+"multi-user.target.wants/etcd.service") {
		t.Errorf("step change log %v lacks the symlink", log.Paths())
	}
}

func TestEnableUnknownUnit(t *testing.T) {
	root := t.TempDir()
	files := hostfs.New(root)
	m := NewOffline(files).For(files, "s")
	_, err := m.Enable(t.Context(), "etcd.service")
	if err == nil || !strings.Contains(err.Error(), "etcd.service") || !strings.Contains(err.Error(), root) {
		t.Errorf("error %v should name the unit and the root %s", err, root)
	}
}

func TestActionsAndFlush(t *testing.T) {
	root := t.TempDir()
	tree{usrLib + "etcd.service": svc("WantedBy=multi-user.target")}.build(t, root)
	files := hostfs.New(root)
	b := NewOffline(files)
	m := b.For(files, "etcd")
	ctx := t.Context()

	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countVerb(b.Actions(), "daemon-reload"); n != 0 {
		t.Fatalf("daemon-reload recorded with nothing changed")
	}
	must(t, m.Start(ctx, "etcd.service", "docker.service"))
	must(t, m.Stop(ctx, "flannel.service"))
	_, err := m.Enable(ctx, "etcd.service")
	must(t, err)
	if _, err := WriteUnit(files, m, "x.service", flannelOpts); err != nil {
		t.Fatal(err)
	}
	must(t, b.Flush(ctx))
	must(t, b.Flush(ctx)) // nothing new: no second reload
	got := b.Actions()
	want := []Action{
		{Step: "etcd", Verb: "start", Unit: "etcd.service"},
		{Step: "etcd", Verb: "start", Unit: "docker.service"},
		{Step: "etcd", Verb: "stop", Unit: "flannel.service"},
		{Step: "etcd", Verb: "enable", Unit: "etcd.service"},
		{Verb: "daemon-reload"},
	}
	if len(got) != len(want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Step != want[i].Step || got[i].Verb != want[i].Verb || got[i].Unit != want[i].Unit || got[i].At.IsZero() {
			t.Errorf("action %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	got[0].Verb = "mutated"
	if b.Actions()[0].Verb != "start" {
		t.Error("Actions returned the backend's own slice")
	}
}

// TestConcurrentSteps runs steps in parallel under -race: each enables,
// starts and disables its own units, all wanted by the same target.
func TestConcurrentSteps(t *testing.T) {
	root := t.TempDir()
	tr := tree{}
	for i := range 8 {
		tr[fmt.Sprintf("%su%d.service", usrLib, i)] = svc("WantedBy=multi-user.target")
	}
	tr.build(t, root)
	files := hostfs.New(root)
	b := NewOffline(files)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			view, _ := files.Recording()
			m := b.For(view, fmt.Sprint("step", i))
			u := fmt.Sprintf("u%d.service", i)
			for range 5 {
				if _, err := m.Enable(t.Context(), u); err != nil {
					t.Error(err)
				}
				_ = m.Start(t.Context(), u)
				m.NeedReload()
				if i%2 == 0 {
					if _, err := m.Disable(t.Context(), u); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	must(t, b.Flush(t.Context()))
	for i := range 8 {
		p := fmt.Sprintf("%smulti-user.target.wants/u%d.service", etc, i)
		if files.Exists(p) != (i%2 == 1) {
			t.Errorf("%s exists=%v", p, files.Exists(p))
		}
	}
	if n := countVerb(b.Actions(), "daemon-reload"); n != 1 {
		t.Errorf("%d daemon-reloads, want 1", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
