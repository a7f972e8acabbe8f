package steps

import (
	"context"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/config"
)

// networkService wires flanneld to docker on both roles (spec M13):
// flanneld writes /run/flannel/subnet.env, flannel-docker-bridge turns it
// into /run/flannel/docker, and docker reads that before it starts.
//
// Deliberate differences from Mitaka: files are rendered whole (Mitaka
// appended to all four on every run, §9.7); the bridge helper is the agent,
// not a generated script with a broken heredoc and check (§9.8); the bridge
// is enabled explicitly (an [Install] Also= in a drop-in is ignored).
var networkService = Step{
	Name:    "network-service",
	Summary: "flanneld and the flannel-docker-bridge feed docker its subnet",
	Reads:   []config.Key{config.NetworkDriver},
	Extra:   func(e *Env) []string { return []string{e.Settings.AgentPath} },
	When:    flannelOn,
	Run: func(ctx context.Context, e *Env) error {
		if err := e.ensureUnits("flanneld.service"); err != nil {
			return err
		}
		err := e.writeUnits(
			unitFile{name: "flannel-docker-bridge.service", opts: []*unit.UnitOption{
				opt("Unit", "Description", "Give docker the flannel subnet (heatstrap)"),
				opt("Unit", "After", "flanneld.service"),
				opt("Unit", "Before", "docker.service"),
				opt("Unit", "Requires", "flanneld.service"),
				opt("Service", "Type", "oneshot"),
				opt("Service", "RemainAfterExit", "yes"),
				opt("Service", "ExecStart", e.agentExec("flannel-docker-bridge")),
				opt("Install", "WantedBy", "docker.service"),
			}},
			unitFile{name: "docker.service", dropIn: "flannel.conf", opts: []*unit.UnitOption{
				opt("Unit", "Requires", "flannel-docker-bridge.service"),
				opt("Unit", "After", "flannel-docker-bridge.service"),
				opt("Service", "EnvironmentFile", "/run/flannel/docker"),
			}},
			unitFile{name: "flanneld.service", dropIn: "flannel-docker-bridge.conf", opts: []*unit.UnitOption{
				opt("Unit", "Requires", "flannel-docker-bridge.service"),
				opt("Unit", "Before", "flannel-docker-bridge.service"),
			}},
		)
		if err != nil {
			return err
		}
		if _, err := e.Units.Enable(ctx, "flanneld.service", "flannel-docker-bridge.service"); err != nil {
			return err
		}
		return e.Units.Start(ctx, "flanneld.service")
	},
}
