package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/steps"
)

func (a *app) stepsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "steps",
		Short: "List the plans (or the one of --role): steps in order, what they do, what they read, and the health gates",
		Long: `List each role's plan: the steps in order, their timeouts, the heat-params
keys each reads and what it converges. Then the role's health gates: what the
notify step waits for, each within its own deadline, before it reports
SUCCESS (offline, with --root, the gates are skipped).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			role, _ := c.Flags().GetString("role")
			roles := []config.Role{config.RoleMaster, config.RoleMinion}
			if role != "" {
				roles = []config.Role{config.Role(role)}
			}
			for i, r := range roles {
				plan, err := steps.Plan(r)
				if err != nil {
					return &exitError{exitUsage, err}
				}
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				if err := writePlan(a.stdout, r, plan); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout)
				if err := writeGates(a.stdout, r, plan[len(plan)-1].Name); err != nil {
					return err
				}
			}
			return nil
		},
	}
	return c
}

func writePlan(w io.Writer, role config.Role, plan []steps.Step) error {
	fmt.Fprintf(w, "%s plan (%d steps)\n", role, len(plan))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTEP\tTIMEOUT\tREADS\tSUMMARY")
	for i, s := range plan {
		reads := make([]string, len(s.Reads))
		for j, k := range s.Reads {
			reads[j] = string(k)
		}
		r := strings.Join(reads, ",")
		if r == "" {
			r = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", i+1, s.Name, s.EffectiveTimeout(config.Settings{}), r, s.Summary)
	}
	return tw.Flush()
}

// writeGates lists what the notify step waits for before SUCCESS.
func writeGates(w io.Writer, role config.Role, notify string) error {
	gates := steps.Gates(role)
	fmt.Fprintf(w, "%s gates (%d, checked in order by %s before SUCCESS)\n", role, len(gates), notify)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tGATE\tTIMEOUT\tUNITS\tCHECK")
	for i, g := range gates {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", i+1, g.Name, g.Timeout, gateUnits(g), g.Check)
	}
	return tw.Flush()
}

// gateUnits names a gate's units, each with the condition under which the
// plan starts it: "flanneld.service (flannel)".
func gateUnits(g steps.Gate) string {
	names := make([]string, len(g.Units))
	for i, u := range g.Units {
		names[i] = u.Name
		if u.If != "" {
			names[i] += " (" + u.If + ")"
		}
	}
	return strings.Join(names, ", ")
}
