// Package runner executes a plan: it decides per step (run, keep, skip),
// runs each with its deadline inside the overall one, keeps the ledger
// before and after every step, and reports to Heat: SUCCESS through the
// plan's notify step, FAILURE itself the moment a step fails.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/heat"
	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/ledger"
	"github.com/heatstrap/heatstrap/steps"
	"github.com/heatstrap/heatstrap/systemd"
)

// Runner holds everything a run needs; cmd/heatstrap wires it.
type Runner struct {
	Plan     []steps.Step
	Params   config.Params // complete; steps get masked copies
	Checksum string        // of heat-params
	Settings config.Settings
	Files    *hostfs.FS
	Exec     command.Runner
	Units    systemd.Backend
	HTTP     func(httpclient.Options) (*retryablehttp.Client, error)
	Reporter *Reporter
	Log      *slog.Logger
	Now      func() time.Time
	Version  string
	// Progress, when set, hears "configure-etcd (3/19)" (sd_notify STATUS=).
	Progress func(string)
}

// StepFailed is the error of a run that stopped at a step.
type StepFailed struct {
	Step string
	Err  error
}

func (e *StepFailed) Error() string { return fmt.Sprintf("step %s failed: %v", e.Step, e.Err) }
func (e *StepFailed) Unwrap() error { return e.Err }

func (r *Runner) env(s steps.Step) (*steps.Env, *hostfs.ChangeLog) {
	files, log := r.Files.Recording()
	return &steps.Env{
		Params:         r.Params.Only(s.Reads),
		Settings:       r.Settings,
		ParamsChecksum: r.Checksum,
		Live:           r.Settings.Live(),
		Files:          files,
		Exec:           r.Exec,
		Units:          r.Units.For(files, s.Name),
		HTTP:           r.HTTP,
		Signal:         r.Reporter,
		Now:            r.Now,
		Log:            r.Log.With("step", s.Name),
		Version:        r.Version,
		Plan:           r.Plan,
	}, log
}

// Decide returns what a run with these options would do now, and why.
func (r *Runner) Decide(l *ledger.Ledger, o Options) []Decision {
	ds := make([]Decision, 0, len(r.Plan))
	afterFrom := o.From == ""
	for _, s := range r.Plan {
		afterFrom = afterFrom || s.Name == o.From
		env, _ := r.env(s)
		ds = append(ds, decide(s, env, l.Lookup(s.Name), o, afterFrom))
	}
	return ds
}

// Describe is what the step would do now, in its own words ("" when it
// does not say); `plan` shows it under each step it would run.
func (r *Runner) Describe(ctx context.Context, s steps.Step) string {
	if s.Describe == nil {
		return ""
	}
	env, _ := r.env(s)
	return s.Describe(ctx, env)
}

// Deadline is when the whole run must be over: before Heat times the node
// out and while its handle token still works, minus a margin for FAILURE.
func (r *Runner) Deadline(start time.Time) (time.Time, string) {
	budget := time.Duration(r.Params.WaitConditionTimeout) * time.Second
	why := fmt.Sprintf("WAIT_CONDITION_TIMEOUT=%ds", r.Params.WaitConditionTimeout)
	if r.Settings.TokenLifetime < budget {
		budget, why = r.Settings.TokenLifetime, fmt.Sprintf("token_lifetime %s", r.Settings.TokenLifetime)
	}
	if budget > 2*r.Settings.SignalMargin {
		budget -= r.Settings.SignalMargin
		why += fmt.Sprintf(" minus signal_margin %s", r.Settings.SignalMargin)
	}
	return start.Add(budget), why
}

// Run executes the plan. The ledger must be the one the Reporter holds.
func (r *Runner) Run(ctx context.Context, l *ledger.Ledger, o Options) error {
	if err := o.Validate(r.Plan); err != nil {
		return err
	}
	start := r.Now()
	deadline, why := r.Deadline(start)
	ctx, cancel := context.WithDeadlineCause(ctx, deadline, fmt.Errorf("overall deadline passed (%s)", why))
	defer cancel()

	r.begin(l, start)
	if err := r.Reporter.Store.Save(l); err != nil {
		return err
	}
	decisions := r.Decide(l, o)
	ran := 0
	r.Reporter.Summary = func() map[string]any {
		return summary(l, r.Version, ran, r.Now().Sub(start))
	}
	for i, d := range decisions {
		rec := l.Step(d.Step.Name)
		switch d.Action {
		case NotChosen, Keep:
			continue
		case SkipWhen:
			*rec = ledger.Step{Name: rec.Name, State: ledger.Skipped, Reason: d.Why, Fingerprint: d.Fingerprint, Runs: rec.Runs}
			r.Log.Info("step skipped", "step", d.Step.Name, "result", "skipped", "reason", d.Why)
			continue
		}
		if r.Progress != nil {
			r.Progress(fmt.Sprintf("%s (%d/%d)", d.Step.Name, i+1, len(r.Plan)))
		}
		ran++
		err := r.flushIf(ctx, l, d.Step.Barrier)
		if err == nil {
			err = r.runStep(ctx, l, d)
		}
		if err != nil {
			return r.fail(ctx, l, err)
		}
	}
	if err := r.flushIf(ctx, l, true); err != nil {
		return r.fail(ctx, l, err)
	}
	l.Updated = r.Now().UTC()
	r.Log.Info("run finished", "ran", ran, "seconds", r.Now().Sub(start).Round(time.Millisecond).Seconds())
	return r.Reporter.Store.Save(l)
}

func (r *Runner) begin(l *ledger.Ledger, start time.Time) {
	l.Schema = ledger.Schema
	if l.InstanceID == "" {
		l.InstanceID = InstanceID(r.Files)
	}
	l.RunID = newRunID()
	l.Role = string(r.Params.Role)
	l.Version = r.Version
	l.HeatParamsSHA256 = r.Checksum
	l.Started, l.Updated = start.UTC(), start.UTC()
	l.Order(steps.Names(r.Plan))
}

func (r *Runner) runStep(ctx context.Context, l *ledger.Ledger, d Decision) error {
	s := d.Step
	env, changes := r.env(s)
	rec := l.Step(s.Name)
	started := r.Now().UTC()
	*rec = ledger.Step{Name: s.Name, State: ledger.Running, Started: &started, Fingerprint: d.Fingerprint, Runs: rec.Runs + 1}
	if err := r.Reporter.Store.Save(l); err != nil {
		return &StepFailed{s.Name, err}
	}
	timeout := s.EffectiveTimeout(r.Settings)
	env.Log.Info("step started", "why", d.Why, "timeout", timeout.String())
	sctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("step timed out after %s", timeout))
	err := s.Run(sctx, env)
	if err != nil && sctx.Err() != nil {
		// Say why the context ended: the step's own timeout, the overall
		// deadline, or an interrupt (SIGTERM) — not just "context canceled".
		err = fmt.Errorf("%w (%v)", context.Cause(sctx), err)
	}
	cancel()
	ended := r.Now().UTC()
	rec.Ended, rec.DurationMS = &ended, ended.Sub(started).Milliseconds()
	rec.Changed = changes.Paths()
	if err != nil {
		rec.State, rec.Error = ledger.Failed, r.Reporter.Redactor.Redact(trim(err.Error(), 1000))
		env.Log.Error("step failed", "result", "failed", "seconds", ended.Sub(started).Round(time.Millisecond).Seconds(), "error", rec.Error)
		return &StepFailed{s.Name, errors.New(rec.Error)}
	}
	rec.State = ledger.Succeeded
	env.Log.Info("step succeeded", "result", "succeeded", "seconds", ended.Sub(started).Round(time.Millisecond).Seconds(), "changed", len(rec.Changed))
	return r.Reporter.Store.Save(l)
}

func (r *Runner) fail(ctx context.Context, l *ledger.Ledger, err error) error {
	l.Updated = r.Now().UTC()
	_ = r.Reporter.Store.Save(l)
	r.reportFailure(ctx, err)
	return err
}

// flushIf issues the queued unit jobs. A job systemd refuses fails the
// step that queued it, in the ledger too.
func (r *Runner) flushIf(ctx context.Context, l *ledger.Ledger, now bool) error {
	if !now {
		return nil
	}
	err := r.Units.Flush(ctx)
	if err == nil {
		return nil
	}
	var je *systemd.JobError
	if !errors.As(err, &je) || je.Step == "" {
		return &StepFailed{Step: "(unit jobs)", Err: err}
	}
	rec := l.Step(je.Step)
	rec.State, rec.Error = ledger.Failed, r.Reporter.Redactor.Redact(trim(err.Error(), 1000))
	r.Log.Error("step failed", "step", je.Step, "result", "failed", "error", rec.Error)
	return &StepFailed{Step: je.Step, Err: err}
}

// reportFailure sends FAILURE even when ctx is already over (interrupt,
// deadline): the margin reserved by Deadline pays for this request.
func (r *Runner) reportFailure(ctx context.Context, err error) {
	if !r.Reporter.Configured() {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.failureBudget())
	defer cancel()
	if serr := r.Reporter.Send(sctx, heat.Failure, err.Error()); serr != nil {
		r.Log.Error("could not report FAILURE to Heat", "error", r.Reporter.Redactor.Redact(serr.Error()))
	}
}

func (r *Runner) failureBudget() time.Duration {
	if m := r.Settings.SignalMargin; m > 10*time.Second {
		return m
	}
	return time.Minute
}

// summary is the signal's data: enough for an operator reading
// `openstack stack output`/events to know what ran, without a secret.
func summary(l *ledger.Ledger, version string, ran int, took time.Duration) map[string]any {
	counts := map[ledger.State]int{}
	failed := ""
	for _, s := range l.Steps {
		counts[s.State]++
		if s.State == ledger.Failed && failed == "" {
			failed = s.Name
		}
	}
	m := map[string]any{
		"role": l.Role, "version": version, "steps": len(l.Steps), "ran": ran,
		"succeeded": counts[ledger.Succeeded], "skipped": counts[ledger.Skipped],
		"seconds": int(took.Round(time.Second).Seconds()),
	}
	if failed != "" {
		m["failed"] = failed
	}
	return m
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
