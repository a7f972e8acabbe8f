// Package ledger is heatstrap's memory: one JSON file (0600) that says, for
// every step, whether it is pending, running, succeeded, failed or skipped,
// when, for how long, with which inputs and what it changed; plus the
// signal outbox. It is written atomically before and after every step, so
// after a crash "running" means "interrupted" and is redone, and "failed"
// is never mistaken for "done" (the pitfall of cloud-init's semaphores).
package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
)

// Schema is bumped on incompatible changes to the file.
const Schema = 1

// FileName is the ledger's name inside the state directory.
const FileName = "status.json"

// State of one step.
type State string

const (
	Pending   State = "pending"
	Running   State = "running"
	Succeeded State = "succeeded"
	Failed    State = "failed"
	Skipped   State = "skipped"
)

// Step is the record of one step's last run.
type Step struct {
	Name        string     `json:"name"`
	State       State      `json:"state"`
	Reason      string     `json:"reason,omitempty"` // why it was skipped
	Error       string     `json:"error,omitempty"`  // redacted
	Started     *time.Time `json:"started,omitempty"`
	Ended       *time.Time `json:"ended,omitempty"`
	DurationMS  int64      `json:"duration_ms,omitempty"`
	Fingerprint string     `json:"fingerprint,omitempty"` // of the inputs it ran with
	Changed     []string   `json:"changed,omitempty"`     // files and units it changed
	Runs        int        `json:"runs,omitempty"`
}

// Signal is the outbox entry for Heat: recorded before sending, marked
// delivered after, so `heatstrap signal` can resend exactly what was meant.
type Signal struct {
	Status      string     `json:"status"`
	Reason      string     `json:"reason"`
	Data        string     `json:"data"`
	ID          string     `json:"id"`
	RecordedAt  time.Time  `json:"recorded_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	Attempts    int        `json:"attempts,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

// Ledger is the whole file.
type Ledger struct {
	Schema           int       `json:"schema"`
	InstanceID       string    `json:"instance_id"`
	RunID            string    `json:"run_id"`
	Role             string    `json:"role"`
	Version          string    `json:"version"`
	HeatParamsSHA256 string    `json:"heat_params_sha256"`
	Started          time.Time `json:"started"`
	Updated          time.Time `json:"updated"`
	Steps            []Step    `json:"steps"`
	Signal           *Signal   `json:"signal,omitempty"`
}

// Step returns the record of a step, adding a pending one if missing.
func (l *Ledger) Step(name string) *Step {
	for i := range l.Steps {
		if l.Steps[i].Name == name {
			return &l.Steps[i]
		}
	}
	l.Steps = append(l.Steps, Step{Name: name, State: Pending})
	return &l.Steps[len(l.Steps)-1]
}

// Lookup returns the record of a step, or nil.
func (l *Ledger) Lookup(name string) *Step {
	for i := range l.Steps {
		if l.Steps[i].Name == name {
			return &l.Steps[i]
		}
	}
	return nil
}

// Order puts the records in plan order; records of steps that are not in
// the plan (an older role or version) are dropped.
func (l *Ledger) Order(names []string) {
	steps := make([]Step, 0, len(names))
	for _, n := range names {
		if s := l.Lookup(n); s != nil {
			steps = append(steps, *s)
		} else {
			steps = append(steps, Step{Name: n, State: Pending})
		}
	}
	l.Steps = steps
}

// Store reads and writes the ledger through hostfs.
type Store struct {
	FS   *hostfs.FS
	Path string // inside the root, e.g. /var/lib/heatstrap/status.json
}

// Load returns the ledger, or an empty one when there is none yet.
func (s *Store) Load() (*Ledger, error) {
	data, err := s.FS.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Ledger{Schema: Schema}, nil
	} else if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	var l Ledger
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("ledger %s is corrupt (%v); move it away to start over", s.FS.Display(s.Path), err)
	}
	if l.Schema != Schema {
		return nil, fmt.Errorf("ledger %s has schema %d, this heatstrap reads %d", s.FS.Display(s.Path), l.Schema, Schema)
	}
	return &l, nil
}

// Save writes the ledger atomically, 0600 root.
func (s *Store) Save(l *Ledger) error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if _, err := s.FS.EnsureDir(dirOf(s.Path), 0o700, "", ""); err != nil {
		return err
	}
	_, err = s.FS.WriteFile(hostfs.File{Path: s.Path, Data: data, Mode: 0o600})
	return err
}

func dirOf(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}
