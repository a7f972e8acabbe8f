package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/userdata"
)

func (a *app) userdataCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "userdata",
		Short: "Print the cloud-init user-data heatstrap's Heat template gives a node with these heat-params",
		Long: `Render the multipart MIME user-data that templates/kubemaster.yaml or
kubeminion.yaml would give a node whose heat-params are --params: heat-params
written 0600 by cloud-init, the interactive user, and the part that runs
'heatstrap launch'. For booting nodes without Heat (nova boot --user-data,
a NoCloud seed). --params is read on this machine, not inside --root; the
role comes from --role, NODE_ROLE or the keys, as for run.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.setup(c); err != nil {
				return err
			}
			path := a.settings.HeatParams
			data, err := os.ReadFile(path)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			l, err := config.LoadParams(path, data, a.settings.Role)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			if len(l.Problems) > 0 {
				return &exitError{exitFailed, fmt.Errorf("%s: %w (heatstrap validate lists them)", path, l.Problems)}
			}
			entries, _, err := config.ReadHeatParams(path, data)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			out, err := userdata.Render(l.Params.Role, entries)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			_, err = a.stdout.Write(out)
			return err
		},
	}
}
