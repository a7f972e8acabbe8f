package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/heatstrap/heatstrap/helper"
	"github.com/heatstrap/heatstrap/httpclient"
)

// helperCmd runs the programs that heatstrap's units start
// (ExecStart=/usr/bin/heatstrap helper NAME), replacing the shell scripts
// Mitaka generated (spec M12, M13, M14, M17).
func (a *app) helperCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "helper",
		Short: "Programs run by heatstrap's systemd units (flannel-config, flannel-docker-bridge, kube-system-namespace, kube-ui)",
	}
	withCtx := func(run func(ctx context.Context) error) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, _ []string) error {
			if err := a.setup(c); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if err := run(ctx); err != nil {
				return &exitError{exitFailed, err}
			}
			return nil
		}
	}
	httpOpts := func() httpclient.Options {
		return httpclient.Options{CABundle: a.settings.CABundle, Insecure: a.settings.Insecure, Logger: a.log}
	}

	var api string
	var timeout time.Duration
	flannelConfig := &cobra.Command{
		Use:   "flannel-config",
		Short: "Put the flannel network config into etcd (reads FLANNEL_ETCD, FLANNEL_ETCD_KEY)",
		Args:  cobra.NoArgs,
		RunE: withCtx(func(ctx context.Context) error {
			o := helper.FlannelConfigOptionsFromEnv(os.Getenv, a.files)
			if api != "" {
				o.API = api
			}
			if timeout > 0 {
				o.Timeout = timeout
			}
			o.HTTP, o.Log = httpOpts(), a.log
			return helper.FlannelConfig(ctx, o)
		}),
	}
	flannelConfig.Flags().StringVar(&api, "etcd-api", "", "etcd API: v3 (default) or v2")
	flannelConfig.Flags().DurationVar(&timeout, "timeout", 0, "how long to wait for etcd (default 5m)")

	bridge := &cobra.Command{
		Use:   "flannel-docker-bridge",
		Short: "Turn /run/flannel/subnet.env into docker's /run/flannel/docker",
		Args:  cobra.NoArgs,
		RunE: withCtx(func(ctx context.Context) error {
			return helper.FlannelDockerBridge(ctx, helper.DockerBridgeOptions{Files: a.files, SubnetEnv: "/run/flannel/subnet.env", Out: "/run/flannel/docker"})
		}),
	}

	var apiServer string
	var kubeTimeout time.Duration
	kubeOpts := func() helper.KubeOptions {
		return helper.KubeOptions{APIServer: apiServer, Timeout: kubeTimeout, HTTP: httpOpts(), Files: a.files, Log: a.log}
	}
	namespace := &cobra.Command{
		Use:   "kube-system-namespace",
		Short: "Wait for the apiserver, create the kube-system namespace (existing is fine)",
		Args:  cobra.NoArgs,
		RunE:  withCtx(func(ctx context.Context) error { return helper.KubeSystemNamespace(ctx, kubeOpts()) }),
	}
	ui := &cobra.Command{
		Use:   "kube-ui",
		Short: "Wait for the apiserver, create the kube-ui controller and service (existing is fine)",
		Args:  cobra.NoArgs,
		RunE: withCtx(func(ctx context.Context) error {
			return helper.KubeUI(ctx, helper.KubeUIOptions{KubeOptions: kubeOpts(),
				RCFile: "/srv/kubernetes/manifests/kube-ui-rc.yaml", SvcFile: "/srv/kubernetes/manifests/kube-ui-svc.yaml"})
		}),
	}
	for _, k := range []*cobra.Command{namespace, ui} {
		k.Flags().StringVar(&apiServer, "api", "http://127.0.0.1:8080", "apiserver URL (insecure local port)")
		k.Flags().DurationVar(&kubeTimeout, "timeout", 10*time.Minute, "how long to wait for the apiserver")
	}
	c.AddCommand(flannelConfig, bridge, namespace, ui)
	return c
}
