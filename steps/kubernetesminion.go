package steps

import (
	"context"
	"net"
	"strconv"
	"strings"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/hostfs"
)

// configureKubernetesMinion points kubelet, kube-proxy and flanneld at the
// master (spec N9).
//
// Deliberate differences from Mitaka:
//   - KUBERNETES_MASTER goes to /etc/profile.d/kubernetes-master.sh, rendered
//     whole, instead of being appended to /etc/environment on every run;
//   - the ".novalocal" suffix is stripped exactly (Mitaka's regex had an
//     unescaped dot) and persisted in /etc/hostname, not only transiently.
var configureKubernetesMinion = Step{
	Name:    "configure-kubernetes-minion",
	Summary: "kubelet, proxy and flannel point at the master",
	Reads:   []config.Key{config.EtcdServerIP, config.KubeMasterIP, config.KubeAPIPort, config.TLSDisabled, config.KubeAllowPriv, config.NetworkDriver},
	Run: func(ctx context.Context, e *Env) error {
		p := e.Params
		etcd := p.EtcdServerIP
		if etcd == "" {
			etcd = p.KubeMasterIP
		}
		etcdURL := "http://" + net.JoinHostPort(etcd, "2379")
		master := masterURI(p)
		kubeconfigFlag := ""
		if !p.TLSDisabled {
			kubeconfigFlag = "--kubeconfig=" + kubeconfigPath
		}
		const step = "configure-kubernetes-minion"
		files := []file{
			kubeConfig(step, p.KubeAllowPriv, master, etcdURL),
			envFile(step, "/etc/kubernetes/kubelet",
				kv("KUBELET_ADDRESS", "--address=0.0.0.0"),
				kv("KUBELET_HOSTNAME", ""),
				kv("KUBELET_API_SERVER", "--api_servers="+master),
				kv("KUBELET_ARGS", strings.TrimSpace("--config=/etc/kubernetes/manifests --cadvisor-port=4194 "+kubeconfigFlag)),
			),
			envFile(step, "/etc/kubernetes/proxy", kv("KUBE_PROXY_ARGS", kubeconfigFlag)),
			{path: "/etc/profile.d/kubernetes-master.sh", template: "profile-env", mode: 0o644,
				data: profileData(step, [2]string{"KUBERNETES_MASTER", master})},
		}
		if p.NetworkDriver == "flannel" {
			files = append(files, flanneldEnv(step, etcdURL, e.Settings.Flannel.EtcdPrefix))
		}
		if err := e.writeFiles(files...); err != nil {
			return err
		}
		if err := stripNovalocal(ctx, e); err != nil {
			return err
		}
		// Running daemons restart with the new values; their own steps
		// start them the first time.
		units := []string{"kubelet.service"}
		if p.NetworkDriver == "flannel" {
			units = append(units, "flanneld.service")
		}
		return e.Units.Refresh(ctx, units...)
	},
}

// masterURI is how a minion reaches the apiserver.
func masterURI(p config.Params) string {
	scheme := "https"
	if p.TLSDisabled {
		scheme = "http"
	}
	return scheme + "://" + net.JoinHostPort(p.KubeMasterIP, strconv.Itoa(p.KubeAPIPort))
}

// stripNovalocal makes the node register under its Nova server name
// (KUBELET_HOSTNAME is empty, so kubelet uses the hostname).
func stripNovalocal(ctx context.Context, e *Env) error {
	src := "/etc/hostname"
	if e.Live {
		src = "/proc/sys/kernel/hostname" // the name cloud-init set from Nova
	}
	cur, err := e.Files.ReadFile(src)
	if err != nil {
		return nil // no hostname: nothing to fix
	}
	name := strings.TrimSpace(string(cur))
	short, ok := strings.CutSuffix(name, ".novalocal")
	if !ok || short == "" {
		return nil
	}
	if _, err := e.Files.WriteFile(hostfs.File{Path: "/etc/hostname", Data: []byte(short + "\n"), Mode: 0o644}); err != nil {
		return err
	}
	if e.Live {
		_, err = e.Exec.Run(ctx, command.Cmd{Name: "hostname", Args: []string{short}})
	}
	return err
}
