package steps

import (
	"context"
	"net"
	"strconv"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/config"
)

// localAPI is the apiserver's insecure port as seen from the master itself:
// 8080 on localhost with TLS, KUBE_API_PORT on all addresses without.
func localAPI(p config.Params) string {
	port := 8080
	if p.TLSDisabled {
		port = p.KubeAPIPort
	}
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// kubeSystemNamespaceService installs kube-system-namespace.service, which
// runs `heatstrap helper kube-system-namespace` once the apiserver is up
// (spec M14). The helper treats "already exists" as success, so the second
// master no longer leaves a failed unit (§9.11). Files are rendered every
// run, not only when absent (§9.7).
var kubeSystemNamespaceService = Step{
	Name:    "kube-system-namespace-service",
	Summary: "kube-system-namespace.service creates the kube-system namespace",
	Reads:   []config.Key{config.TLSDisabled, config.KubeAPIPort},
	Extra:   func(e *Env) []string { return []string{e.Settings.AgentPath} },
	Run: func(ctx context.Context, e *Env) error {
		err := e.writeFiles(file{path: "/srv/kubernetes/kube-system-namespace.json", template: "kube-system-namespace.json", mode: 0o644})
		if err != nil {
			return err
		}
		err = e.writeUnits(unitFile{name: "kube-system-namespace.service", opts: []*unit.UnitOption{
			opt("Unit", "Description", "Create the kube-system namespace (heatstrap)"),
			opt("Unit", "After", "kubelet.service kube-apiserver.service"),
			opt("Unit", "Requires", "kubelet.service"),
			opt("Service", "Type", "oneshot"),
			opt("Service", "RemainAfterExit", "yes"),
			opt("Service", "EnvironmentFile", "-/etc/kubernetes/config"),
			opt("Service", "ExecStart", e.agentExec("kube-system-namespace", "--api", localAPI(e.Params))),
			opt("Install", "WantedBy", "multi-user.target"),
		}})
		if err != nil {
			return err
		}
		return e.enableAndStart(ctx, "kube-system-namespace.service")
	},
}
