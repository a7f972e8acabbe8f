package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/examples"
	"github.com/heatstrap/heatstrap/runner"
)

// demoOverrides turn the example master into one that needs nothing
// outside this machine: no Heat endpoint (the notify step is skipped), no
// Magnum (TLS off, API on 8080 as Magnum sets it then), no public etcd
// discovery (a one-member cluster).
var demoOverrides = map[string]string{
	"WAIT_CURL":          "",
	"TLS_DISABLED":       "True",
	"KUBE_API_PORT":      "8080",
	"ETCD_DISCOVERY_URL": "",
}

func (a *app) demoCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Bootstrap a master into a temporary root from the embedded example, then show status",
		Long: `Copy the embedded image skeleton and examples/master.heat-params (without a
Heat endpoint, with TLS off and no etcd discovery, so nothing leaves this
machine) into a new directory, run the master plan there in offline mode
(--root), and print the status table. The tree is kept for inspection.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			root := dir
			if root == "" {
				var err error
				if root, err = os.MkdirTemp("", "heatstrap-demo-"); err != nil {
					return err
				}
			}
			if err := seedDemoRoot(root); err != nil {
				return &exitError{exitFailed, err}
			}
			fmt.Fprintf(a.stdout, "demo root: %s\n", root)
			if err := c.Flags().Set("root", root); err != nil {
				return err
			}
			if err := a.setup(c); err != nil {
				return err
			}
			runErr := a.run(c.Context(), runner.Options{})
			if err := a.statusCmd().RunE(c, nil); runErr == nil {
				return err
			}
			return runErr
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "use this directory as the root (default: a new temporary one)")
	return c
}

// seedDemoRoot writes the skeleton and the demo heat-params (0644, the mode
// Mitaka's cloud-init left it with; write-heat-params fixes it).
func seedDemoRoot(root string) error {
	err := fs.WalkDir(examples.FS, "skeleton", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(root, p[len("skeleton"):])
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := examples.FS.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return err
	}
	src, err := examples.FS.ReadFile("master.heat-params")
	if err != nil {
		return err
	}
	entries, _, err := config.ReadHeatParams("master.heat-params", src)
	if err != nil {
		return err
	}
	for i, e := range entries {
		if v, ok := demoOverrides[e.Key]; ok {
			entries[i].Value = v
		}
	}
	dst := filepath.Join(root, "etc/sysconfig/heat-params")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, config.RenderHeatParams(entries), 0o644)
}
