// Package steps holds what a node does, as data: the Step contract, the two
// ordered plans (master.go, minion.go) and one file per step. Steps touch the
// host only through their Env, so the same code converges a live node or an
// image tree (--root) and is tested on both.
package steps

import (
	"context"
	"time"

	"github.com/heatstrap/heatstrap/config"
)

// Step is one named, idempotent piece of a node's bootstrap.
type Step struct {
	Name    string
	Summary string
	// Reads are the heat-params keys the step uses. The runner hands the
	// step a Params masked to these keys and fingerprints their values, so
	// a step reruns exactly when one of its inputs changed.
	Reads []config.Key
	// Extra returns further fingerprint inputs (agent settings, checksums).
	Extra func(e *Env) []string
	// When returns a reason to skip the step ("" = run it).
	When func(e *Env) string
	// Timeout bounds Run; the agent config can override it per step.
	Timeout time.Duration
	// Barrier: the unit jobs queued by earlier steps (one daemon-reload,
	// then starts) are issued before this step runs, e.g. before the notify
	// step checks that the node is up.
	Barrier bool
	// Run converges the node; it is called again on reruns and must then
	// change nothing.
	Run func(ctx context.Context, e *Env) error
	// Describe (optional) says what Run would do now, for `plan`: it may
	// look (read files, run read-only probes) but must change nothing.
	Describe func(ctx context.Context, e *Env) string
}

// DefaultTimeout applies to steps that do not set one.
const DefaultTimeout = 2 * time.Minute

// Fingerprint identifies the inputs the step would run with now.
func (s Step) Fingerprint(e *Env) string {
	var extra []string
	if s.Extra != nil {
		extra = s.Extra(e)
	}
	return e.Params.Fingerprint(s.Reads, append(extra, "version="+e.Version)...)
}

// EffectiveTimeout applies the agent config's override, if any.
func (s Step) EffectiveTimeout(st config.Settings) time.Duration {
	if d, ok := st.StepTimeouts[s.Name]; ok {
		return d
	}
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}
