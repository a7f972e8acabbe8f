package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/runner"
)

func (a *app) planCmd() *cobra.Command {
	var o runner.Options
	c := &cobra.Command{
		Use:   "plan",
		Short: "Show what `run` would do now with each step, and why",
		Long: `Show, without changing anything, what "run" with the same selection flags would
do with each step: run (and why: not run yet, failed, interrupted, inputs
changed, forced), keep (succeeded with the same inputs), skip (the step does
not apply, with the reason) or not chosen.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.setup(c); err != nil {
				return err
			}
			lp, err := a.loadParams()
			if err != nil {
				return err
			}
			if lp.bad != nil {
				return &exitError{exitFailed, lp.bad}
			}
			l, err := a.store().Load()
			if err != nil {
				return &exitError{exitFailed, err}
			}
			r, err := a.newRunner(c.Context(), lp, a.reporter(lp, l), false)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			if a.settings.Live() {
				// Describe shows what a step would decide on this node,
				// which for configure-docker-storage means probing the
				// disk (blkid -p; it refuses anything but its probes).
				// No step's Run is called here, and units stay offline.
				r.Exec = command.Host{Log: a.log}
			}
			if err := o.Validate(r.Plan); err != nil {
				return &exitError{exitUsage, err}
			}
			fmt.Fprintf(a.stdout, "%s plan (%d steps)\n", lp.Params.Role, len(r.Plan))
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "#\tSTEP\tACTION\tWHY")
			for i, d := range r.Decide(l, o) {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i+1, d.Step.Name, d.Action, oneLine(d.Why, 120))
				if d.Action == runner.Run {
					if what := r.Describe(c.Context(), d.Step); what != "" {
						fmt.Fprintf(tw, "\t\t\t→ %s\n", oneLine(what, 1000))
					}
				}
			}
			return tw.Flush()
		},
	}
	bindSelection(c, &o)
	return c
}
