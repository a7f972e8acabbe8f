package systemd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"

	"github.com/heatstrap/heatstrap/hostfs"
)

// Live manages the units of the running system over D-Bus. Steps queue
// starts and stops; Flush issues them after at most one daemon-reload and
// never waits for a job to finish (Mitaka's `systemctl --no-block`, spec
// §1.2 point 8): docker and whatever needs it may be ordered after
// cloud-final, which would otherwise wait for us. The health gates of the
// notify step do the waiting, each with a deadline.
type Live struct {
	conn  *sdbus.Conn
	files *hostfs.FS // the root unit files are read from (mtimes)
	log   *slog.Logger

	mu      sync.Mutex
	dirty   bool     // unit files or [Install] links changed since the last reload
	queue   []Action // start/stop, in request order
	actions []Action
}

// DefaultBus is where the system bus listens unless DBUS_SYSTEM_BUS_ADDRESS says otherwise.
const DefaultBus = "unix:path=/run/dbus/system_bus_socket"

// busTimeout bounds one D-Bus call. A daemon-reload takes 0.1 s in a
// container and 2-3 s on a slow VM; a minute means systemd is stuck.
const busTimeout = time.Minute

// NewLive connects to systemd through the system bus (honouring
// DBUS_SYSTEM_BUS_ADDRESS, as the tests do to reach a container). files is
// the root the units' files are seen under: "/" on a node.
func NewLive(ctx context.Context, files *hostfs.FS, log *slog.Logger) (*Live, error) {
	// godbus closes a connection when the context it was made with ends,
	// so the connection gets the caller's context (the run's lifetime) and
	// the handshake is bounded separately.
	type dialed struct {
		conn *sdbus.Conn
		err  error
	}
	done := make(chan dialed, 1)
	go func() {
		conn, err := sdbus.NewSystemConnectionContext(ctx)
		done <- dialed{conn, err}
	}()
	var d dialed
	select {
	case d = <-done:
	case <-time.After(busTimeout):
		d.err = fmt.Errorf("no answer within %s", busTimeout)
	case <-ctx.Done():
		d.err = context.Cause(ctx)
	}
	if d.err != nil {
		return nil, fmt.Errorf("cannot reach systemd over the D-Bus system bus at %s: %w (is this a systemd host with dbus running? for an image tree use --root DIR)", busAddress(), d.err)
	}
	return &Live{conn: d.conn, files: files, log: log}, nil
}

// Close drops the connection.
func (l *Live) Close() { l.conn.Close() }

// For implements Backend.
func (l *Live) For(_ *hostfs.FS, step string) Manager {
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
	if l.log == nil {
		return
	}
	var attrs []any
	if a.Unit != "" { // a daemon-reload has neither
		attrs = append(attrs, "unit", a.Unit)
	}
	if a.Step != "" {
		attrs = append(attrs, "step", a.Step)
	}
	l.log.Info("unit "+a.Verb, attrs...)
}

// Flush implements Backend: one daemon-reload when something changed,
// then the queued jobs, enqueued without waiting for them. A job systemd
// refuses does not keep the others from being issued; the first refusal
// is returned, blamed on the step that asked.
func (l *Live) Flush(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	queue := dedupe(l.queue)
	l.queue = nil
	if err := l.reloadIfNeeded(ctx, queue); err != nil {
		return err
	}
	var first error
	for _, job := range queue {
		err := l.issue(ctx, job)
		if err == nil {
			continue
		}
		err = &JobError{Step: job.Step, Verb: job.Verb, Unit: job.Unit, Err: err}
		if first == nil {
			first = err
		} else if l.log != nil {
			l.log.Error("unit job refused", "step", job.Step, "error", err.Error())
		}
	}
	return first
}

// reloadIfNeeded reloads when this run changed unit files, and also when
// systemd itself says a queued unit's files changed since it loaded them
// (NeedDaemonReload) or does not know a queued unit: a run killed after
// writing units but before its reload left exactly that behind, and its
// rerun writes nothing new.
func (l *Live) reloadIfNeeded(ctx context.Context, queue []Action) error {
	why := ""
	if l.dirty {
		why = "unit files changed"
	}
	for _, job := range queue {
		if why != "" {
			break
		}
		st, err := l.state(ctx, job.Unit)
		switch {
		case err != nil:
			return err
		case st.needReload:
			why = job.Unit + " changed on disk since systemd loaded it"
		case st.LoadState == "not-found":
			why = job.Unit + " is not loaded yet"
		}
	}
	if why == "" {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, busTimeout)
	defer cancel()
	if err := l.conn.ReloadContext(rctx); err != nil {
		return fmt.Errorf("systemd daemon-reload over D-Bus: %w", err)
	}
	l.dirty = false
	if l.log != nil {
		l.log.Debug("daemon-reload", "why", why)
	}
	l.record(Action{Verb: "daemon-reload"})
	return nil
}

// dedupe keeps the last request per unit, in first-request order.
func dedupe(q []Action) []Action {
	last := map[string]Action{}
	var order []string
	for _, a := range q {
		prev, seen := last[a.Unit]
		if !seen {
			order = append(order, a.Unit)
		}
		// A start restarts a stale unit anyway, and a stop makes a
		// refresh moot: a refresh never overrides either.
		if seen && a.Verb == "refresh" && prev.Verb != "refresh" {
			continue
		}
		last[a.Unit] = a
	}
	out := make([]Action, 0, len(order))
	for _, u := range order {
		out = append(out, last[u])
	}
	return out
}

// issue turns "be running" / "be stopped" into the one job that gets the
// unit there, or none when it is there already.
func (l *Live) issue(ctx context.Context, job Action) error {
	st, err := l.state(ctx, job.Unit)
	if err != nil {
		return err
	}
	if job.Verb == "refresh" {
		// Not running (or not installed yet): its own step starts it,
		// with the new files.
		if st.LoadState != "loaded" || !st.running() || st.Job != 0 {
			return nil
		}
		job.Verb = "start" // running: restart only when stale
	}
	if st.LoadState != "loaded" {
		return fmt.Errorf("%s; install its unit file (or package) first", st)
	}
	ctx, cancel := context.WithTimeout(ctx, busTimeout)
	defer cancel()
	switch job.Verb {
	case "stop":
		if !st.running() && st.ActiveState != "deactivating" && st.Job == 0 {
			return nil
		}
		_, err = l.conn.StopUnitContext(ctx, job.Unit, "replace", nil)
	case "start":
		switch {
		case st.Job != 0:
			return nil // systemd is already starting (or restarting) it
		case st.running():
			f, stale := st.stale(l.stat)
			if !stale {
				return nil // running with its current configuration
			}
			if l.log != nil {
				l.log.Info("restarting: a file it was started from changed", "unit", job.Unit, "file", f)
			}
			job.Verb = "restart"
			_, err = l.conn.RestartUnitContext(ctx, job.Unit, "replace", nil)
		default:
			if st.ActiveState == "failed" {
				// A unit that hit its start limit refuses a plain
				// start; a rerun is an explicit request to try again.
				if err := l.conn.ResetFailedUnitContext(ctx, job.Unit); err != nil {
					return fmt.Errorf("reset-failed %s: %w", job.Unit, err)
				}
			}
			_, err = l.conn.StartUnitContext(ctx, job.Unit, "replace", nil)
		}
	default:
		return fmt.Errorf("unknown unit job %q", job.Verb)
	}
	if err != nil {
		return err
	}
	l.record(job)
	return nil
}

func (l *Live) stat(p string) (os.FileInfo, error) {
	hp, err := l.files.Path(p)
	if err != nil {
		return nil, err
	}
	return os.Stat(hp)
}

type liveManager struct {
	l    *Live
	step string
}

func (m *liveManager) Enable(ctx context.Context, units ...string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, busTimeout)
	defer cancel()
	_, changes, err := m.l.conn.EnableUnitFilesContext(ctx, units, false, false)
	if err != nil {
		return false, fmt.Errorf("enable %v over D-Bus: %w", units, err)
	}
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	for _, u := range units {
		m.l.record(Action{Step: m.step, Verb: "enable", Unit: u})
	}
	// New .wants links count only after a reload, as with systemctl
	// enable, which reloads by itself.
	m.l.dirty = m.l.dirty || len(changes) > 0
	return len(changes) > 0, nil
}

func (m *liveManager) Disable(ctx context.Context, units ...string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, busTimeout)
	defer cancel()
	changes, err := m.l.conn.DisableUnitFilesContext(ctx, units, false)
	if err != nil {
		return false, fmt.Errorf("disable %v over D-Bus: %w", units, err)
	}
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	for _, u := range units {
		m.l.record(Action{Step: m.step, Verb: "disable", Unit: u})
	}
	m.l.dirty = m.l.dirty || len(changes) > 0
	return len(changes) > 0, nil
}

func (m *liveManager) Start(_ context.Context, units ...string) error { return m.queue("start", units) }
func (m *liveManager) Stop(_ context.Context, units ...string) error  { return m.queue("stop", units) }
func (m *liveManager) Refresh(_ context.Context, units ...string) error {
	return m.queue("refresh", units)
}

func (m *liveManager) queue(verb string, units []string) error {
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	for _, u := range units {
		if !validUnitName(u) {
			return fmt.Errorf("%s %q: not a valid unit name", verb, u)
		}
		m.l.queue = append(m.l.queue, Action{Step: m.step, Verb: verb, Unit: u})
	}
	return nil
}

func (m *liveManager) NeedReload() {
	m.l.mu.Lock()
	m.l.dirty = true
	m.l.mu.Unlock()
}

func (m *liveManager) State(ctx context.Context, unit string) (UnitState, error) {
	if !validUnitName(unit) {
		return UnitState{}, errors.New("state: invalid unit name " + unit)
	}
	return m.l.state(ctx, unit)
}

func (m *liveManager) Flush(ctx context.Context) error { return m.l.Flush(ctx) }
