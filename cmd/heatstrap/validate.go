package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/heatstrap/heatstrap/config"
)

func (a *app) validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Parse and check heat-params; report every problem at once",
		Long: `Parse heat-params literally (no shell), type every key, resolve the role and
check what the role needs. Every problem is listed, each naming its key.
Exit status: 0 valid, 1 invalid.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.setup(c); err != nil {
				return err
			}
			lp, err := a.loadParams()
			if err != nil {
				return err
			}
			if lp.bad == nil {
				ep := "none (the notify step will be skipped)"
				if lp.endpoint != nil {
					ep = lp.endpoint.URL
				}
				fmt.Fprintf(a.stdout, "%s: valid, role %s, signal endpoint %s\n",
					a.files.Display(a.settings.HeatParams), lp.Params.Role, ep)
				return nil
			}
			var probs config.Problems
			if errors.As(lp.bad, &probs) {
				fmt.Fprintf(a.stdout, "%s: %d problem(s)\n", a.files.Display(a.settings.HeatParams), len(probs))
				for _, p := range probs {
					fmt.Fprintf(a.stdout, "  %s\n", p)
				}
			} else {
				fmt.Fprintf(a.stdout, "%v\n", lp.bad)
			}
			return &exitError{exitFailed, errors.New("")}
		},
	}
}
