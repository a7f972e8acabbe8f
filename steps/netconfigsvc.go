package steps

import (
	"context"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/systemd"
)

// networkConfigService installs flannel-config.service, which runs
// `heatstrap helper flannel-config` to put the network config into etcd
// (spec M12). Mitaka generated a shell script with an endless curl loop;
// the helper has a deadline, backoff and a clear error. RemainAfterExit
// keeps the unit active after success, so a rerun sees it done and does
// not start it again.
var networkConfigService = Step{
	Name:    "network-config-service",
	Summary: "flannel-config.service puts the network config into etcd",
	Reads:   []config.Key{config.NetworkDriver},
	Extra:   func(e *Env) []string { return []string{e.Settings.AgentPath, e.Settings.Flannel.EtcdAPI} },
	When:    flannelOn,
	Run: func(ctx context.Context, e *Env) error {
		err := e.writeUnits(unitFile{name: "flannel-config.service", opts: []*unit.UnitOption{
			opt("Unit", "Description", "Put the flannel network config into etcd (heatstrap)"),
			opt("Unit", "After", "etcd.service"),
			opt("Unit", "Requires", "etcd.service"),
			// A new network config is pushed again: write-network-config
			// refreshes this unit, which restarts when the file changed.
			opt("Unit", systemd.ReadsKey, flannelNetworkJSON),
			opt("Service", "Type", "oneshot"),
			opt("Service", "RemainAfterExit", "yes"),
			opt("Service", "EnvironmentFile", "/etc/sysconfig/flanneld"),
			opt("Service", "ExecStart", e.agentExec("flannel-config", "--etcd-api", e.Settings.Flannel.EtcdAPI)),
			opt("Install", "WantedBy", "multi-user.target"),
		}})
		if err != nil {
			return err
		}
		return e.enableAndStart(ctx, "flannel-config.service")
	},
}
