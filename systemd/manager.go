// Package systemd manages units for the steps: unit files and drop-ins
// built with go-systemd's unit package and written through hostfs, and a
// Manager that enables, starts and stops them. Offline (--root) the
// Manager edits the [Install] symlinks exactly as `systemctl --root=DIR
// enable` does and records starts; live it talks to systemd over D-Bus.
package systemd

import (
	"context"
	"errors"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
)

// Manager is what one step sees. Starts never block: they are queued and
// carried out by the Backend's Flush, after one daemon-reload, so a run
// inside cloud-final never waits on a unit ordered after cloud-final
// (spec §1.2 point 8: Mitaka's `systemctl --no-block start`).
type Manager interface {
	// Enable creates the unit's [Install] symlinks (WantedBy=, RequiredBy=,
	// Alias=, and the units named by Also=), as systemctl enable does.
	Enable(ctx context.Context, units ...string) (changed bool, err error)
	// Disable removes them.
	Disable(ctx context.Context, units ...string) (changed bool, err error)
	// Start queues "be running": start when inactive, restart when the
	// unit's files or EnvironmentFiles changed since it started, else nothing.
	Start(ctx context.Context, units ...string) error
	// Refresh queues "run with the current files if running": a restart
	// when the unit runs and a file it was started from changed since,
	// else nothing. A step that rewrites a daemon's configuration asks for
	// it, so `run --step` alone reaches the daemon; starting the daemon is
	// left to the step that owns it (enable-services).
	Refresh(ctx context.Context, units ...string) error
	// Stop queues "be stopped".
	Stop(ctx context.Context, units ...string) error
	// NeedReload records that unit files changed (WriteUnit calls it).
	NeedReload()
	// State reads what systemd says about a unit now. Offline there is no
	// systemd to ask: the error is ErrOffline.
	State(ctx context.Context, unit string) (UnitState, error)
	// Flush issues the jobs queued so far, as the runner does before a
	// Barrier step. Only the notify step calls it: its health gates wait
	// on the starts it asks for again.
	Flush(ctx context.Context) error
}

// ReadsKey names, in a unit's [Unit] section, files its program reads
// besides those systemd knows (unit file, drop-ins, EnvironmentFiles): a
// helper's manifest, a config it pushes somewhere. A start or refresh
// restarts a running unit when one of them changed since it started.
// systemd ignores X- keys.
const ReadsKey = "X-Heatstrap-Reads"

// ErrOffline is what State says in offline mode (--root).
var ErrOffline = errors.New("offline (--root): no systemd to ask about units")

// Backend serves a whole run: one Manager per step and one Flush.
type Backend interface {
	// For returns the Manager of one step; files is the step's recording
	// view of the root, so symlinks it makes show up in the step's changes.
	For(files *hostfs.FS, step string) Manager
	// Flush does at most one daemon-reload (only if a unit file changed)
	// and then issues the queued jobs without waiting for them. A failed
	// job names the step that asked for it.
	Flush(ctx context.Context) error
	// Actions lists what was done or queued, for tests and offline logs.
	Actions() []Action
}

// Action is one thing the backend did or would do.
type Action struct {
	Step string    `json:"step"`
	Verb string    `json:"verb"` // enable, disable, start, restart, stop, daemon-reload
	Unit string    `json:"unit,omitempty"`
	At   time.Time `json:"-"`
}

// JobError is a queued job that systemd refused, blamed on its step.
type JobError struct {
	Step, Verb, Unit string
	Err              error
}

func (e *JobError) Error() string { return e.Verb + " " + e.Unit + ": " + e.Err.Error() }
func (e *JobError) Unwrap() error { return e.Err }
