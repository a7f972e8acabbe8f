package systemd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/internal/nspawn"
)

// liveNode is a real systemd (nspawn) driven from the host over its bus,
// with its tree as the files the manager reads mtimes from.
type liveNode struct {
	t     *testing.T
	c     *nspawn.Container
	files *hostfs.FS
}

func bootLive(t *testing.T) *liveNode {
	c := nspawn.Boot(t, nspawn.Rootfs(t), "hs-systemd-live", nspawn.Options{})
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", c.Bus())
	return &liveNode{t: t, c: c, files: hostfs.New(c.Root)}
}

// run is one agent run: a fresh connection, as a new `heatstrap run` has.
func (n *liveNode) run() *Live {
	n.t.Helper()
	l, err := NewLive(context.Background(), n.files, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(l.Close)
	return l
}

func (n *liveNode) state(l *Live, u string) UnitState {
	n.t.Helper()
	st, err := l.state(context.Background(), u)
	if err != nil {
		n.t.Fatal(err)
	}
	return st
}

// settle waits until no job is queued for u and returns its state.
func (n *liveNode) settle(l *Live, u string) UnitState {
	n.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := n.state(l, u)
		if st.Job == 0 && st.ActiveState != "activating" && st.ActiveState != "deactivating" {
			return st
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s still %s", u, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func verbs(as []Action) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Verb + " " + a.Unit
	}
	return out
}

func sleeper(envFile string) []*unit.UnitOption {
	return []*unit.UnitOption{
		Opt("Unit", "Description", "heatstrap live test"),
		Opt("Service", "EnvironmentFile", envFile),
		Opt("Service", "ExecStart", "/bin/sleep infinity"),
		Opt("Install", "WantedBy", "multi-user.target"),
	}
}

// The live manager against systemd itself: one reload only when needed,
// starts that never wait, restarts only for changed files, refreshes that
// never start, a failed unit tried again, stop and disable.
func TestLiveManager(t *testing.T) {
	n := bootLive(t)
	ctx := context.Background()
	const svc, env = "hs-sleep.service", "/etc/hs-sleep.env"

	l := n.run()
	m := l.For(n.files, "install")
	if _, err := n.files.WriteFile(hostfs.File{Path: env, Data: []byte("A=1\n"), Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteUnit(n.files, m, svc, sleeper(env)); err != nil {
		t.Fatal(err)
	}
	if changed, err := m.Enable(ctx, svc); err != nil || !changed {
		t.Fatalf("enable: %v %v", changed, err)
	}
	if err := m.Start(ctx, svc); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("daemon-reload + start enqueued in %s", time.Since(start).Round(time.Millisecond))
	if got := verbs(l.Actions()); !slices.Equal(got, []string{"enable " + svc, "daemon-reload ", "start " + svc}) {
		t.Errorf("first run: %v", got)
	}
	first := n.settle(l, svc)
	if !first.Up() || first.InvocationID == "" {
		t.Fatalf("after start: %s", first)
	}
	if s := strings.TrimSpace(n.c.Must("systemctl", "is-enabled", svc)); s != "enabled" {
		t.Errorf("is-enabled: %s", s)
	}

	t.Run("rerun changes nothing", func(t *testing.T) {
		l := n.run()
		m := l.For(n.files, "rerun")
		if _, err := WriteUnit(n.files, m, svc, sleeper(env)); err != nil {
			t.Fatal(err)
		}
		if changed, err := m.Enable(ctx, svc); err != nil || changed {
			t.Fatalf("enable again: changed=%v %v", changed, err)
		}
		_ = m.Start(ctx, svc)
		_ = m.Refresh(ctx, svc)
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := verbs(l.Actions()); !slices.Equal(got, []string{"enable " + svc}) {
			t.Errorf("a rerun issued %v", got)
		}
		if st := n.state(l, svc); st.InvocationID != first.InvocationID {
			t.Errorf("restarted: %s -> %s", first.InvocationID, st.InvocationID)
		}
	})

	t.Run("changed EnvironmentFile restarts", func(t *testing.T) {
		time.Sleep(10 * time.Millisecond) // a later mtime than the start
		if _, err := n.files.WriteFile(hostfs.File{Path: env, Data: []byte("A=2\n"), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		l := n.run()
		_ = l.For(n.files, "refresh").Refresh(ctx, svc)
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := verbs(l.Actions()); !slices.Equal(got, []string{"restart " + svc}) {
			t.Errorf("refresh of a stale unit issued %v", got)
		}
		if st := n.settle(l, svc); !st.Up() || st.InvocationID == first.InvocationID {
			t.Errorf("after the restart: %s (invocation %s)", st, st.InvocationID)
		}
	})

	t.Run("a file declared in X-Heatstrap-Reads restarts", func(t *testing.T) {
		const reader, data = "hs-reader.service", "/etc/hs-reader.json"
		if _, err := n.files.WriteFile(hostfs.File{Path: data, Data: []byte(`{"v":1}`), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		l := n.run()
		m := l.For(n.files, "reader")
		opts := append([]*unit.UnitOption{Opt("Unit", ReadsKey, data)}, sleeper(env)...)
		if _, err := WriteUnit(n.files, m, reader, opts); err != nil {
			t.Fatal(err)
		}
		_ = m.Start(ctx, reader)
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		before := n.settle(l, reader)
		time.Sleep(10 * time.Millisecond)
		if _, err := n.files.WriteFile(hostfs.File{Path: data, Data: []byte(`{"v":2}`), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		l = n.run()
		_ = l.For(n.files, "data").Refresh(ctx, reader)
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := verbs(l.Actions()); !slices.Equal(got, []string{"restart " + reader}) {
			t.Errorf("refresh after the data changed issued %v", got)
		}
		if st := n.settle(l, reader); st.InvocationID == before.InvocationID {
			t.Error("not restarted")
		}
	})

	t.Run("unit file edited behind systemd's back", func(t *testing.T) {
		// A run killed after writing a unit and before its reload: the
		// next run writes nothing, yet systemd must reload.
		before := n.state(l, svc)
		time.Sleep(10 * time.Millisecond)
		p := filepath.Join(n.c.Root, "etc/systemd/system", svc)
		data, _ := os.ReadFile(p)
		if err := os.WriteFile(p, append(data, []byte("# edited\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		l := n.run()
		_ = l.For(n.files, "resume").Start(ctx, svc)
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := verbs(l.Actions()); !slices.Equal(got, []string{"daemon-reload ", "restart " + svc}) {
			t.Errorf("issued %v", got)
		}
		if st := n.settle(l, svc); st.InvocationID == before.InvocationID || st.needReload {
			t.Errorf("after reload and restart: %s", st)
		}
	})

	t.Run("refresh never starts", func(t *testing.T) {
		const idle = "hs-idle.service"
		l := n.run()
		m := l.For(n.files, "idle")
		if _, err := WriteUnit(n.files, m, idle, sleeper(env)); err != nil {
			t.Fatal(err)
		}
		_ = m.Refresh(ctx, idle, "hs-not-installed.service")
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if st := n.settle(l, idle); st.ActiveState != "inactive" {
			t.Errorf("refresh started %s", st)
		}
	})

	t.Run("failed unit, fixed, started again", func(t *testing.T) {
		const bad = "hs-bad.service"
		l := n.run()
		m := l.For(n.files, "bad")
		opts := []*unit.UnitOption{Opt("Service", "Type", "oneshot"), Opt("Service", "RemainAfterExit", "yes"), Opt("Service", "ExecStart", "/bin/false")}
		if _, err := WriteUnit(n.files, m, bad, opts); err != nil {
			t.Fatal(err)
		}
		_ = m.Start(ctx, bad)
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if st := n.settle(l, bad); st.String() != bad+" is failed (Result=exit-code)" {
			t.Fatalf("bad unit: %s", st)
		}
		l = n.run()
		m = l.For(n.files, "fixed")
		opts[2] = Opt("Service", "ExecStart", "/bin/true")
		if _, err := WriteUnit(n.files, m, bad, opts); err != nil {
			t.Fatal(err)
		}
		_ = m.Start(ctx, bad)
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if st := n.settle(l, bad); !st.Up() {
			t.Errorf("fixed unit: %s", st)
		}
	})

	t.Run("unknown unit names the step", func(t *testing.T) {
		l := n.run()
		_ = l.For(n.files, "enable-services").Start(ctx, "hs-missing.service")
		err := l.Flush(ctx)
		var je *JobError
		if !errors.As(err, &je) || je.Step != "enable-services" || !strings.Contains(err.Error(), "hs-missing.service is not loaded (LoadState=not-found)") {
			t.Errorf("error %v", err)
		}
	})

	t.Run("stop and disable", func(t *testing.T) {
		l := n.run()
		m := l.For(n.files, "off")
		if changed, err := m.Disable(ctx, svc); err != nil || !changed {
			t.Fatalf("disable: %v %v", changed, err)
		}
		_ = m.Stop(ctx, svc)
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if st := n.settle(l, svc); st.ActiveState != "inactive" {
			t.Errorf("after stop: %s", st)
		}
		if s, _ := n.c.Run("systemctl", "is-enabled", svc); strings.TrimSpace(s) != "disabled" {
			t.Errorf("is-enabled after disable: %s", s)
		}
	})
}

func TestLiveWithoutBus(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "no_bus_socket")
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+sock)
	_, err := NewLive(context.Background(), hostfs.New("/"), nil)
	if err == nil || !strings.Contains(err.Error(), sock) || !strings.Contains(err.Error(), "--root DIR") {
		t.Errorf("error %v", err)
	}
}
