package runner

import (
	"fmt"
	"slices"

	"github.com/heatstrap/heatstrap/ledger"
	"github.com/heatstrap/heatstrap/steps"
)

// Action is what a run does with a step.
type Action string

const (
	Run       Action = "run"
	Keep      Action = "keep"       // succeeded before with the same inputs
	SkipWhen  Action = "skip"       // the step's condition says it does not apply
	NotChosen Action = "not-chosen" // excluded by --step/--from/--skip
)

// Decision is the verdict on one step, with the reason shown by `plan`.
type Decision struct {
	Step        steps.Step
	Action      Action
	Why         string
	Fingerprint string
}

// Options select and force steps.
type Options struct {
	Steps []string // --step: only these
	From  string   // --from: this one and those after it
	Skip  []string // --skip: not these
	Force bool     // rerun succeeded steps too
}

// Validate checks step names against the plan.
func (o Options) Validate(plan []steps.Step) error {
	names := steps.Names(plan)
	check := func(flag, n string) error {
		if !slices.Contains(names, n) {
			return fmt.Errorf("%s %q: not a step of this plan; steps: %v", flag, n, names)
		}
		return nil
	}
	for _, n := range o.Steps {
		if err := check("--step", n); err != nil {
			return err
		}
	}
	for _, n := range o.Skip {
		if err := check("--skip", n); err != nil {
			return err
		}
	}
	if o.From != "" {
		return check("--from", o.From)
	}
	return nil
}

func (o Options) chosen(name string, afterFrom bool) (bool, string) {
	switch {
	case len(o.Steps) > 0 && !slices.Contains(o.Steps, name):
		return false, "not selected by --step"
	case o.From != "" && !afterFrom:
		return false, "before --from " + o.From
	case slices.Contains(o.Skip, name):
		return false, "excluded by --skip"
	}
	return true, ""
}

// decide is the whole resume policy, shared by `run` and `plan`.
func decide(s steps.Step, env *steps.Env, rec *ledger.Step, o Options, afterFrom bool) Decision {
	d := Decision{Step: s, Fingerprint: s.Fingerprint(env)}
	if ok, why := o.chosen(s.Name, afterFrom); !ok {
		d.Action, d.Why = NotChosen, why
		return d
	}
	if s.When != nil {
		if why := s.When(env); why != "" {
			d.Action, d.Why = SkipWhen, why
			return d
		}
	}
	d.Action = Run
	switch {
	case o.Force:
		d.Why = "forced (--force)"
	case rec == nil || rec.State == ledger.Pending:
		d.Why = "not run yet"
	case rec.State == ledger.Running:
		d.Why = "interrupted last time"
	case rec.State == ledger.Failed:
		d.Why = "failed last time: " + rec.Error
	case rec.State == ledger.Skipped:
		d.Why = "skipped last time, applies now"
	case rec.Fingerprint != d.Fingerprint:
		d.Why = "inputs changed since it succeeded"
	default:
		d.Action, d.Why = Keep, "succeeded before with the same inputs"
	}
	return d
}
