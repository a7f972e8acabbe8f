package steps

import (
	"context"
	"fmt"
	"strconv"

	"github.com/heatstrap/heatstrap/config"
)

// TLS files of a master, as make-cert writes them (spec §5.1).
const (
	serverCert = "/srv/kubernetes/server.crt"
	serverKey  = "/srv/kubernetes/server.key"
	caCert     = "/srv/kubernetes/ca.crt"
)

// configureKubernetes renders the master's kube sysconfig files whole
// (spec M8). Mitaka sed-edited Fedora's files, silently doing nothing for
// missing keys, and appended a second KUBE_API_ARGS on every rerun (§9.7,
// §9.8); here each file holds every key the kube-* units read.
var configureKubernetes = Step{
	Name:    "configure-kubernetes",
	Summary: "apiserver, controller-manager and kubelet configs for a master",
	Reads:   []config.Key{config.KubeAllowPriv, config.TLSDisabled, config.KubeAPIPort, config.PortalNetworkCIDR},
	Run: func(ctx context.Context, e *Env) error {
		p := e.Params
		port := strconv.Itoa(p.KubeAPIPort)
		address := "--insecure-bind-address=0.0.0.0 --insecure-port=" + port
		args := "--runtime_config=api/all=true"
		if !p.TLSDisabled {
			// The insecure port stays on 8080 for the local components, as in Mitaka.
			address = "--bind_address=0.0.0.0 --secure-port=" + port + " --insecure-port=8080"
			args += fmt.Sprintf(" --tls_cert_file=%s --tls_private_key_file=%s --client_ca_file=%s", serverCert, serverKey, caCert)
		}
		const step = "configure-kubernetes"
		err := e.writeFiles(
			kubeConfig(step, p.KubeAllowPriv, "http://127.0.0.1:8080", ""),
			envFile(step, "/etc/kubernetes/apiserver",
				kv("KUBE_API_ADDRESS", address),
				kv("KUBE_ETCD_SERVERS", "--etcd_servers=http://127.0.0.1:2379"),
				kv("KUBE_SERVICE_ADDRESSES", "--service-cluster-ip-range="+p.PortalNetworkCIDR.String()),
				// No admission plugins, as in Mitaka (spec M8; a known weakness, §9.5).
				kv("KUBE_ADMISSION_CONTROL", ""),
				kv("KUBE_API_ARGS", args),
				comment("With the OpenStack cloud provider (off, as in Mitaka):"),
				comment(`KUBE_API_ARGS="`+args+` --cloud_config=/etc/sysconfig/kube_openstack_config --cloud_provider=openstack"`),
			),
			envFile(step, "/etc/kubernetes/controller-manager",
				kv("KUBELET_ADDRESSES", "--machines="),
				kv("KUBE_CONTROLLER_MANAGER_ARGS", ""),
				comment(`KUBE_CONTROLLER_MANAGER_ARGS="--cloud_config=/etc/sysconfig/kube_openstack_config --cloud_provider=openstack"`),
			),
			envFile(step, "/etc/kubernetes/kubelet",
				kv("KUBELET_ADDRESS", "--address=0.0.0.0"),
				kv("KUBELET_HOSTNAME", ""),
				kv("KUBELET_API_SERVER", "--api_servers=http://127.0.0.1:8080"),
				kv("KUBELET_ARGS", "--register-node=false --config=/etc/kubernetes/manifests"),
			),
		)
		if err != nil {
			return err
		}
		// Their EnvironmentFiles: running daemons restart with the new
		// values (enable-services starts them the first time).
		return e.Units.Refresh(ctx, "kube-apiserver.service", "kubelet.service")
	},
}

// kubeConfig is /etc/kubernetes/config, read by every kube-* unit.
func kubeConfig(step string, allowPriv bool, master, etcd string) file {
	lines := []envLine{
		kv("KUBE_LOGTOSTDERR", "--logtostderr=true"),
		kv("KUBE_LOG_LEVEL", "--v=0"),
		kv("KUBE_ALLOW_PRIV", "--allow_privileged="+strconv.FormatBool(allowPriv)),
		kv("KUBE_MASTER", "--master="+master),
	}
	if etcd != "" {
		lines = append(lines, kv("KUBE_ETCD_SERVERS", "--etcd_servers="+etcd))
	}
	return envFile(step, "/etc/kubernetes/config", lines...)
}
