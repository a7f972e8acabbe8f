package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/cobra"

	"github.com/heatstrap/heatstrap/heat"
	"github.com/heatstrap/heatstrap/runner"
	"github.com/heatstrap/heatstrap/steps"
)

// stepNames is a flag that accepts only known step names, so a typo fails
// at parsing with the list of valid names.
type stepNames struct{ names *[]string }

func (s stepNames) String() string { return strings.Join(*s.names, ",") }
func (s stepNames) Type() string   { return "STEP" }
func (s stepNames) Set(v string) error {
	for _, n := range strings.Split(v, ",") {
		if err := steps.CheckNames([]string{n}); err != nil {
			return err
		}
		*s.names = append(*s.names, n)
	}
	return nil
}

type stepName struct{ name *string }

func (s stepName) String() string { return *s.name }
func (s stepName) Type() string   { return "STEP" }
func (s stepName) Set(v string) error {
	if err := steps.CheckNames([]string{v}); err != nil {
		return err
	}
	*s.name = v
	return nil
}

func bindSelection(c *cobra.Command, o *runner.Options) {
	f := c.Flags()
	f.Var(stepNames{&o.Steps}, "step", "run only this step (repeatable)")
	f.Var(stepName{&o.From}, "from", "start at this step")
	f.Var(stepNames{&o.Skip}, "skip", "do not run this step (repeatable)")
	f.BoolVar(&o.Force, "force", false, "rerun steps that already succeeded with the same inputs")
}

func (a *app) runCmd() *cobra.Command {
	var o runner.Options
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the node's plan: resume where it stopped, report to Heat",
		Long: `Run the role's plan. Steps that succeeded with unchanged inputs are kept;
failed, interrupted, pending and changed steps run. The first failure stops
the run, is recorded in the ledger and is reported to Heat as FAILURE.

Exit status: 0 success, 1 a step or the parameters failed, 2 usage error,
3 another run holds the lock.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.setup(c); err != nil {
				return err
			}
			return a.run(c.Context(), o)
		},
	}
	bindSelection(c, &o)
	return c
}

func (a *app) run(parent context.Context, o runner.Options) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			cancel(fmt.Errorf("interrupted by signal %v", s))
		case <-ctx.Done():
		}
	}()

	lp, err := a.loadParams()
	if err != nil {
		return err
	}
	l, release, err := a.lockLedger()
	if err != nil {
		return err
	}
	defer release()
	rep := a.reporter(lp, l)
	if lp.bad != nil {
		return a.reportBadParams(ctx, lp, rep)
	}
	r, err := a.newRunner(ctx, lp, rep, true)
	if err != nil {
		return &exitError{exitFailed, err}
	}
	if a.settings.Live() {
		r.Progress = func(s string) { _, _ = daemon.SdNotify(false, "STATUS="+s) }
	}
	if err := r.Run(ctx, l, o); err != nil {
		return &exitError{exitFailed, err}
	}
	return nil
}

// reportBadParams tells Heat which keys are wrong (when it can be reached
// at all), so a typo costs seconds, not a 60-minute WaitConditionTimeout.
func (a *app) reportBadParams(ctx context.Context, lp *loaded, rep *runner.Reporter) error {
	var reason string
	var probs interface{ Keys() []string }
	if errors.As(lp.bad, &probs) {
		reason = "invalid heat-params: " + strings.Join(probs.Keys(), ", ")
	} else {
		reason = "invalid heat-params: " + lp.bad.Error()
	}
	a.log.Error("heat-params are invalid; nothing was run", "error", lp.bad.Error())
	if rep.Configured() {
		if rep.Ledger.InstanceID == "" {
			rep.Ledger.InstanceID = runner.InstanceID(a.files)
		}
		if err := rep.Send(ctx, heat.Failure, reason); err != nil {
			a.log.Error("could not report FAILURE to Heat", "error", err.Error())
		}
	}
	return &exitError{exitFailed, lp.bad}
}
