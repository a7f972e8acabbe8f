package steps

import (
	"context"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/config"
)

// kubeUIService writes the kube-ui controller and service manifests and
// installs kube-ui.service, which creates them once the namespace exists
// (spec M17). Mitaka's unit said After=kube-system-namespace without the
// ".service" suffix, so systemd ignored the ordering and kube-ui raced the
// namespace (§9.8); here it is ordered after kube-system-namespace.service.
var kubeUIService = Step{
	Name:    "kube-ui-service",
	Summary: "kube-ui.service creates the kube-ui controller and service",
	Reads:   []config.Key{config.TLSDisabled, config.KubeAPIPort},
	Extra:   func(e *Env) []string { return []string{e.Settings.AgentPath, e.Settings.Images.KubeUI} },
	Run: func(ctx context.Context, e *Env) error {
		err := e.writeFiles(
			file{path: "/srv/kubernetes/manifests/kube-ui-rc.yaml", template: "kube-ui-rc.yaml", mode: 0o644,
				data: map[string]string{"Image": e.Settings.Images.KubeUI}},
			file{path: "/srv/kubernetes/manifests/kube-ui-svc.yaml", template: "kube-ui-svc.yaml", mode: 0o644},
		)
		if err != nil {
			return err
		}
		err = e.writeUnits(unitFile{name: "kube-ui.service", opts: []*unit.UnitOption{
			opt("Unit", "Description", "Create the kube-ui controller and service (heatstrap)"),
			opt("Unit", "After", "kube-system-namespace.service"),
			opt("Unit", "Requires", "kubelet.service kube-system-namespace.service"),
			opt("Service", "Type", "oneshot"),
			opt("Service", "RemainAfterExit", "yes"),
			opt("Service", "EnvironmentFile", "-/etc/kubernetes/config"),
			opt("Service", "ExecStart", e.agentExec("kube-ui", "--api", localAPI(e.Params))),
			opt("Install", "WantedBy", "multi-user.target"),
		}})
		if err != nil {
			return err
		}
		return e.enableAndStart(ctx, "kube-ui.service")
	},
}
