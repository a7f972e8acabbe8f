package systemd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"

	"github.com/heatstrap/heatstrap/hostfs"
)

// Live manages units of the running system over D-Bus.
type Live struct {
	conn *sdbus.Conn
	log  *slog.Logger

	mu      sync.Mutex
	dirty   bool
	queue   []Action // start/stop, in request order
	actions []Action
}

// DefaultBus is where the system bus listens unless DBUS_SYSTEM_BUS_ADDRESS says otherwise.
const DefaultBus = "unix:path=/run/dbus/system_bus_socket"

// NewLive connects to systemd through the system bus (honouring
// DBUS_SYSTEM_BUS_ADDRESS, as the test suite does to reach a container).
func NewLive(ctx context.Context, log *slog.Logger) (*Live, error) {
	conn, err := sdbus.NewSystemConnectionContext(ctx)
	if err != nil {
		addr := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
		if addr == "" {
			addr = DefaultBus
		}
		return nil, fmt.Errorf("cannot reach systemd over the D-Bus system bus at %s: %w (is this a systemd host with dbus running? for an image tree use --root DIR)", addr, err)
	}
	return &Live{conn: conn, log: log}, nil
}

// Close drops the connection.
func (l *Live) Close() { l.conn.Close() }

// For implements Backend.
func (l *Live) For(files *hostfs.FS, step string) Manager {
	return &liveManager{l: l, step: step}
}

// Actions implements Backend.
func (l *Live) Actions() []Action {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.actions)
}

func (l *Live) record(a Action) {
	a.At = time.Now()
	l.actions = append(l.actions, a)
	if l.log != nil {
		l.log.Info("unit "+a.Verb, "unit", a.Unit, "step", a.Step)
	}
}

// Flush implements Backend: one daemon-reload when a unit file changed,
// then the queued jobs, enqueued without waiting for them (--no-block).
func (l *Live) Flush(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dirty {
		if err := l.conn.ReloadContext(ctx); err != nil {
			return fmt.Errorf("daemon-reload: %w", err)
		}
		l.dirty = false
		l.record(Action{Verb: "daemon-reload"})
	}
	queue := dedupe(l.queue)
	l.queue = nil
	for _, job := range queue {
		if err := l.issue(ctx, job); err != nil {
			return &JobError{Step: job.Step, Verb: job.Verb, Unit: job.Unit, Err: err}
		}
	}
	return nil
}

// dedupe keeps the last request per unit, in first-request order.
func dedupe(q []Action) []Action {
	last := map[string]Action{}
	var order []string
	for _, a := range q {
		if _, seen := last[a.Unit]; !seen {
			order = append(order, a.Unit)
		}
		last[a.Unit] = a
	}
	out := make([]Action, 0, len(order))
	for _, u := range order {
		out = append(out, last[u])
	}
	return out
}

func (l *Live) issue(ctx context.Context, job Action) error {
	st, err := l.state(ctx, job.Unit)
	if err != nil {
		return err
	}
	if st.loadState == "not-found" {
		return fmt.Errorf("unit %s not found", job.Unit)
	}
	switch job.Verb {
	case "stop":
		if !st.active() {
			return nil
		}
		_, err = l.conn.StopUnitContext(ctx, job.Unit, "replace", nil)
	case "start":
		switch {
		case !st.active():
			_, err = l.conn.StartUnitContext(ctx, job.Unit, "replace", nil)
		case st.stale():
			job.Verb = "restart"
			_, err = l.conn.RestartUnitContext(ctx, job.Unit, "replace", nil)
		default:
			return nil // running with its current configuration
		}
	}
	if err != nil {
		return err
	}
	l.record(job)
	return nil
}

// unitState is what Flush needs to know to leave a unit alone.
type unitState struct {
	loadState, activeState string
	since                  time.Time // when it last became active
	files                  []string  // unit file, drop-ins, EnvironmentFiles
}

func (s unitState) active() bool {
	return s.activeState == "active" || s.activeState == "activating" || s.activeState == "reloading"
}

// stale: a file the unit was started from changed after it started. Our
// writes leave unchanged files untouched, so mtimes move only on real change.
func (s unitState) stale() bool {
	for _, f := range s.files {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(s.since) {
			return true
		}
	}
	return false
}

func (l *Live) state(ctx context.Context, unit string) (unitState, error) {
	props, err := l.conn.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return unitState{}, fmt.Errorf("read properties of %s: %w", unit, err)
	}
	st := unitState{}
	st.loadState, _ = props["LoadState"].(string)
	st.activeState, _ = props["ActiveState"].(string)
	if us, ok := props["ActiveEnterTimestamp"].(uint64); ok {
		st.since = time.UnixMicro(int64(us))
	}
	if p, ok := props["FragmentPath"].(string); ok && p != "" {
		st.files = append(st.files, p)
	}
	if ds, ok := props["DropInPaths"].([]string); ok {
		st.files = append(st.files, ds...)
	}
	if typed, err := l.conn.GetUnitTypePropertiesContext(ctx, unit, unitType(unit)); err == nil {
		st.files = append(st.files, envFiles(typed["EnvironmentFiles"])...)
	}
	return st, nil
}

// envFiles decodes the a(sb) EnvironmentFiles property.
func envFiles(v any) []string {
	var out []string
	if list, ok := v.([][]any); ok {
		for _, item := range list {
			if len(item) > 0 {
				if p, ok := item[0].(string); ok {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

func unitType(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			t := name[i+1:]
			return string(t[0]-'a'+'A') + t[1:]
		}
	}
	return "Service"
}

type liveManager struct {
	l    *Live
	step string
}

func (m *liveManager) Enable(ctx context.Context, units ...string) (bool, error) {
	_, changes, err := m.l.conn.EnableUnitFilesContext(ctx, units, false, false)
	if err != nil {
		return false, fmt.Errorf("enable %v: %w", units, err)
	}
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	for _, u := range units {
		m.l.record(Action{Step: m.step, Verb: "enable", Unit: u})
	}
	return len(changes) > 0, nil
}

func (m *liveManager) Disable(ctx context.Context, units ...string) (bool, error) {
	changes, err := m.l.conn.DisableUnitFilesContext(ctx, units, false)
	if err != nil {
		return false, fmt.Errorf("disable %v: %w", units, err)
	}
	return len(changes) > 0, nil
}

func (m *liveManager) Start(_ context.Context, units ...string) error { return m.queue("start", units) }
func (m *liveManager) Stop(_ context.Context, units ...string) error  { return m.queue("stop", units) }

func (m *liveManager) queue(verb string, units []string) error {
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	for _, u := range units {
		m.l.queue = append(m.l.queue, Action{Step: m.step, Verb: verb, Unit: u})
	}
	return nil
}

func (m *liveManager) NeedReload() {
	m.l.mu.Lock()
	m.l.dirty = true
	m.l.mu.Unlock()
}
