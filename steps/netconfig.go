package steps

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/hostfs"
)

const flannelNetworkJSON = "/etc/sysconfig/flannel-network.json"

// writeNetworkConfig renders flanneld's sysconfig (the master's flanneld
// talks to its local etcd) and the network config flannel-config puts
// into etcd (spec M11, §7).
var writeNetworkConfig = Step{
	Name:    "write-network-config",
	Summary: "flannel network config and flanneld's etcd endpoint",
	Reads:   []config.Key{config.NetworkDriver, config.FlannelNetworkCIDR, config.FlannelNetworkSubnetLn, config.FlannelUseVXLAN},
	Extra:   func(e *Env) []string { return []string{e.Settings.Flannel.EtcdPrefix} },
	When:    flannelOn,
	Run: func(ctx context.Context, e *Env) error {
		p := e.Params
		type backend struct {
			Type string `json:"Type"`
		}
		// "Subnetlen" is Mitaka's spelling; flannel decodes JSON
		// case-insensitively, so it sets SubnetLen (spec §7).
		netconf := struct {
			Network   string   `json:"Network"`
			Subnetlen int      `json:"Subnetlen"`
			Backend   *backend `json:"Backend,omitempty"`
		}{Network: p.FlannelNetworkCIDR.String(), Subnetlen: p.FlannelNetworkSubnetLen}
		if p.FlannelUseVXLAN {
			netconf.Backend = &backend{Type: "vxlan"}
		}
		data, err := json.MarshalIndent(netconf, "", "  ")
		if err != nil {
			return err
		}
		if _, err := e.Files.WriteFile(hostfs.File{Path: flannelNetworkJSON, Data: append(data, '\n'), Mode: 0o644}); err != nil {
			return err
		}
		if err := e.writeFiles(flanneldEnv("write-network-config", "http://127.0.0.1:2379", e.Settings.Flannel.EtcdPrefix)); err != nil {
			return err
		}
		return e.Units.Refresh(ctx, "flanneld.service", "flannel-config.service")
	},
}

// flanneldEnv is /etc/sysconfig/flanneld. Both spellings of each key are
// written: Fedora's flannel 0.5 unit reads FLANNEL_ETCD/FLANNEL_ETCD_KEY,
// later packages FLANNEL_ETCD_ENDPOINTS/FLANNEL_ETCD_PREFIX.
func flanneldEnv(step, etcdURL, prefix string) file {
	return envFile(step, "/etc/sysconfig/flanneld",
		kv("FLANNEL_ETCD", etcdURL),
		kv("FLANNEL_ETCD_ENDPOINTS", etcdURL),
		kv("FLANNEL_ETCD_KEY", strings.TrimSuffix(prefix, "/")),
		kv("FLANNEL_ETCD_PREFIX", strings.TrimSuffix(prefix, "/")),
		kv("FLANNEL_OPTIONS", ""),
	)
}
