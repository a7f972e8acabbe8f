package steps

import (
	"context"

	"github.com/heatstrap/heatstrap/config"
)

// coreServices are enabled and started by enable-services, per role, in
// Mitaka's order (spec M10, N12). On a master, scheduler, controller-manager
// and kube-proxy run as pods, not units.
var coreServices = map[config.Role][]string{
	config.RoleMaster: {"etcd.service", "docker.service", "kube-apiserver.service", "kubelet.service"},
	config.RoleMinion: {"docker.service", "kubelet.service"},
}

// enableServices enables the role's core units and queues their start
// (never blocking: docker may be ordered after cloud-final, §1.2 point 8).
// kube-apiserver and kubelet get our unit when the image lacks one.
//
// Deliberate difference from Mitaka's minion: docker is not stopped and
// docker0 not deleted on every run (§9.7: disruptive on a rerun). A queued
// start restarts docker only when its configuration (e.g. the flannel
// drop-in) changed since it started.
var enableServices = Step{
	Name:    "enable-services",
	Summary: "the role's core services are enabled and started without blocking",
	Run: func(ctx context.Context, e *Env) error {
		units := coreServices[e.Params.Role]
		if err := e.ensureUnits(units...); err != nil {
			return err
		}
		if _, err := e.Files.EnsureDir("/var/lib/kubelet", 0o755, "", ""); err != nil {
			return err
		}
		return e.enableAndStart(ctx, units...)
	},
}
