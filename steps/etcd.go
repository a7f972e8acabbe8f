package steps

import (
	"context"
	"fmt"
	"net"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/config"
)

// configureEtcd renders /etc/etcd/etcd.conf whole (Mitaka overwrote it,
// then sed-edited it again in configure_kubernetes; spec M3, M8). etcd is
// started by enable-services.
//
// Deliberate differences from Mitaka:
//   - ETCD_DISCOVERY_PROXY is quoted (Mitaka appended it unquoted);
//   - without ETCD_DISCOVERY_URL the node forms a one-member cluster
//     instead of failing to start, so a cluster without internet works;
//   - ETCD_ENABLE_V2=true, because etcd 3.4+ disables the v2 API flannel used;
//   - a drop-in adds EnvironmentFile=/etc/etcd/etcd.conf for distros whose
//     etcd.service reads another file (Debian: /etc/default/etcd).
var configureEtcd = Step{
	Name:    "configure-etcd",
	Summary: "etcd named after KUBE_NODE_IP, listening for clients and peers, joined by discovery",
	Reads:   []config.Key{config.KubeNodeIP, config.EtcdDiscoveryURL, config.HTTPProxy},
	Run: func(ctx context.Context, e *Env) error {
		p := e.Params
		ip := p.KubeNodeIP.String()
		name := ip
		peer := "http://" + net.JoinHostPort(ip, "2380")
		data := struct {
			Name, PeerURL, ClientURL, Discovery, Proxy, InitialCluster string
		}{
			Name: name, PeerURL: peer, ClientURL: "http://" + net.JoinHostPort(ip, "2379"),
			Discovery: p.EtcdDiscoveryURL, Proxy: p.HTTPProxy,
			InitialCluster: fmt.Sprintf("%s=%s", name, peer),
		}
		if err := e.writeFiles(file{path: "/etc/etcd/etcd.conf", template: "etcd.conf", data: data, mode: 0o644}); err != nil {
			return err
		}
		err := e.writeUnits(unitFile{name: "etcd.service", dropIn: "heatstrap.conf", opts: []*unit.UnitOption{
			opt("Service", "EnvironmentFile", "/etc/etcd/etcd.conf"),
		}})
		if err != nil {
			return err
		}
		// A running etcd restarts with a changed config; enable-services
		// starts it the first time.
		return e.Units.Refresh(ctx, "etcd.service")
	},
}
