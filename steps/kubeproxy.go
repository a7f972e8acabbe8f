package steps

import (
	"context"
	"fmt"

	"github.com/heatstrap/heatstrap/config"
)

// enableKubeProxy runs kube-proxy as a static pod: on a master against the
// local apiserver (spec M16), on a minion against KUBE_MASTER_IP with the
// node's client certificate (N13).
//
// Deliberate differences from Mitaka:
//   - the manifest is rendered whole on every run instead of only when
//     absent, so image or flag changes reach the node (§9.7);
//   - with TLS disabled the minion's proxy gets no --kubeconfig; Mitaka
//     passed "--kubeconfig=" (empty), which the flag treats as unset;
//   - the master's local API URL follows KUBE_API_PORT when TLS is
//     disabled (see localAPI); Mitaka hard-coded 8080, which Magnum passed.
var enableKubeProxy = Step{
	Name:    "enable-kube-proxy",
	Summary: "kube-proxy runs as a static pod",
	Reads:   []config.Key{config.KubeMasterIP, config.KubeAPIPort, config.TLSDisabled},
	Extra:   func(e *Env) []string { return []string{e.Settings.Images.Hyperkube} },
	Run: func(_ context.Context, e *Env) error {
		p := e.Params
		data := struct{ Image, Master, Kubeconfig string }{Image: e.Settings.Images.Hyperkube}
		var tmpl string
		switch p.Role {
		case config.RoleMaster:
			tmpl, data.Master = "kube-proxy-master.yaml", localAPI(p)
		case config.RoleMinion:
			tmpl, data.Master = "kube-proxy-minion.yaml", masterURI(p)
			if !p.TLSDisabled {
				data.Kubeconfig = kubeconfigPath
			}
		default:
			return fmt.Errorf("no kube-proxy manifest for role %q", p.Role)
		}
		return e.writeFiles(file{path: manifestsDir + "/kube-proxy.yaml", template: tmpl, data: data, mode: 0o644, owner: "root", group: "root"})
	},
}
