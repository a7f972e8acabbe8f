package steps

import (
	"context"
	"fmt"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/systemd"
)

// fallbackUnits are installed under /etc/systemd/system only when the image
// does not ship the unit (Debian has no kube-* or flanneld units; Fedora
// Atomic has them all). They mirror Fedora's package units, so the
// sysconfig files we render mean the same on both.
var fallbackUnits = map[string][]*unit.UnitOption{
	"kube-apiserver.service": {
		opt("Unit", "Description", "Kubernetes API Server (unit installed by heatstrap)"),
		opt("Unit", "After", "network.target etcd.service"),
		opt("Service", "EnvironmentFile", "-/etc/kubernetes/config"),
		opt("Service", "EnvironmentFile", "-/etc/kubernetes/apiserver"),
		opt("Service", "User", "kube"),
		opt("Service", "ExecStart", "/usr/bin/kube-apiserver $KUBE_LOGTOSTDERR $KUBE_LOG_LEVEL $KUBE_ETCD_SERVERS $KUBE_API_ADDRESS $KUBE_API_PORT $KUBELET_PORT $KUBE_ALLOW_PRIV $KUBE_SERVICE_ADDRESSES $KUBE_ADMISSION_CONTROL $KUBE_API_ARGS"),
		opt("Service", "Restart", "on-failure"),
		opt("Service", "LimitNOFILE", "65536"),
		opt("Install", "WantedBy", "multi-user.target"),
	},
	"kubelet.service": {
		opt("Unit", "Description", "Kubernetes Kubelet Server (unit installed by heatstrap)"),
		opt("Unit", "After", "docker.service"),
		opt("Unit", "Requires", "docker.service"),
		opt("Service", "WorkingDirectory", "/var/lib/kubelet"),
		opt("Service", "EnvironmentFile", "-/etc/kubernetes/config"),
		opt("Service", "EnvironmentFile", "-/etc/kubernetes/kubelet"),
		opt("Service", "ExecStart", "/usr/bin/kubelet $KUBE_LOGTOSTDERR $KUBE_LOG_LEVEL $KUBELET_API_SERVER $KUBELET_ADDRESS $KUBELET_PORT $KUBELET_HOSTNAME $KUBE_ALLOW_PRIV $KUBELET_ARGS"),
		opt("Service", "Restart", "on-failure"),
		opt("Install", "WantedBy", "multi-user.target"),
	},
	// Fedora's flanneld also runs mk-docker-opts.sh; here the
	// flannel-docker-bridge unit (network-service) writes /run/flannel/docker.
	"flanneld.service": {
		opt("Unit", "Description", "Flanneld overlay address etcd agent (unit installed by heatstrap)"),
		opt("Unit", "After", "network-online.target etcd.service"),
		opt("Unit", "Wants", "network-online.target"),
		opt("Unit", "Before", "docker.service"),
		opt("Service", "Type", "notify"),
		opt("Service", "EnvironmentFile", "/etc/sysconfig/flanneld"),
		opt("Service", "ExecStart", "/usr/bin/flanneld -etcd-endpoints=${FLANNEL_ETCD} -etcd-prefix=${FLANNEL_ETCD_KEY} $FLANNEL_OPTIONS"),
		opt("Service", "Restart", "on-failure"),
		opt("Install", "WantedBy", "multi-user.target"),
	},
}

// ensureUnits makes sure each unit exists: the image's own, or our
// fallback. A unit with neither (docker, etcd: we cannot supply the
// program) is an error that says so.
func (e *Env) ensureUnits(names ...string) error {
	for _, name := range names {
		_, err := systemd.FindUnit(e.Files, name)
		if err == nil {
			continue
		}
		opts, ok := fallbackUnits[name]
		if !ok {
			return fmt.Errorf("%s is not installed in this image (%w); install its package", name, err)
		}
		if _, err := systemd.WriteUnit(e.Files, e.Units, name, opts); err != nil {
			return err
		}
	}
	return nil
}

// enableAndStart enables units and queues their start (started later,
// without blocking; spec §1.2 point 8).
func (e *Env) enableAndStart(ctx context.Context, names ...string) error {
	if _, err := e.Units.Enable(ctx, names...); err != nil {
		return err
	}
	return e.Units.Start(ctx, names...)
}

// agentExec is an ExecStart= that runs a heatstrap helper.
func (e *Env) agentExec(args ...string) string {
	s := e.Settings.AgentPath + " helper"
	for _, a := range args {
		s += " " + a
	}
	return s
}
