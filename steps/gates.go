package steps

import (
	"context"
	"time"

	"github.com/heatstrap/heatstrap/config"
)

// Gate is one proof that the node is really up, which the notify step
// waits for before it reports SUCCESS: its units active, then (for some)
// an endpoint answering. Gates are data: `heatstrap steps` and the README
// list them from these same values.
type Gate struct {
	Name string
	// Units must be active ("active (exited)" for a oneshot that
	// succeeded). The notify step asks for them to run again first, so
	// a unit that failed or was stopped since gets another start on a
	// rerun, and one whose files changed is restarted.
	Units []GateUnit
	// Probe, when set, must pass once the units are active.
	Probe func(ctx context.Context, e *Env) error
	// Check says what the gate waits for, for listings.
	Check   string
	Timeout time.Duration
}

// GateUnit is a unit a gate waits for, with the condition under which the
// plan starts it at all.
type GateUnit struct {
	Name string
	// If says when the unit is expected, for listings ("" = always).
	If   string
	when func(e *Env) string // a reason it is not expected, "" if it is
}

func always(name string) GateUnit { return GateUnit{Name: name} }

// Applies reports whether the plan started the unit with these parameters.
func (u GateUnit) Applies(e *Env) bool { return u.when == nil || u.when(e) == "" }

// Units started by the flannel steps and by configure-docker-storage, with
// the same conditions those steps use.
var (
	flannelUnits = []GateUnit{
		{Name: "flanneld.service", If: "flannel", when: flannelOn},
		{Name: "flannel-docker-bridge.service", If: "flannel", when: flannelOn},
	}
	dockerMount = GateUnit{Name: dockerMountUnit, If: "docker volume, overlay2", when: func(e *Env) string {
		if why := storageWhen(e); why != "" {
			return why
		}
		if newStoragePlan(e.Params).want.VG != "" {
			return "devicemapper: docker's storage is an LVM volume group, not a mount"
		}
		return ""
	}}
)

// gateReads are the heat-params keys the gates' conditions and probes read.
var gateReads = []config.Key{
	config.NetworkDriver, config.DockerVolume, config.DockerVolumeSize,
	config.DockerStorageDevice, config.DockerStorageDriver,
}

var masterGates = []Gate{
	{
		Name:  "etcd-healthy",
		Units: []GateUnit{always("etcd.service")},
		Probe: etcdHealthy,
		Check: `GET ` + etcdHealthURL + ` says {"health":"true"}`,
		// Discovery waits for every member of the cluster to boot.
		Timeout: 5 * time.Minute,
	},
	{
		Name:    "apiserver-healthy",
		Units:   []GateUnit{always("kube-apiserver.service")},
		Probe:   apiserverHealthy,
		Check:   "GET https://127.0.0.1:KUBE_API_PORT/healthz says ok, trusting the cluster CA (http when TLS_DISABLED)",
		Timeout: 3 * time.Minute,
	},
	{
		Name: "units-active",
		Units: append(append([]GateUnit{always("docker.service"), always("kubelet.service"), dockerMount,
			{Name: "flannel-config.service", If: "flannel", when: flannelOn}}, flannelUnits...),
			always("kube-system-namespace.service"), always("kube-ui.service")),
		Check:   "every unit the plan started is active",
		Timeout: 5 * time.Minute,
	},
}

var minionGates = []Gate{
	{
		Name: "units-active",
		Units: append(append([]GateUnit{always("docker.service"), always("kubelet.service"), dockerMount}, flannelUnits...),
			GateUnit{Name: "registry.service", If: "REGISTRY_ENABLED", when: registryOn}),
		Check: "every unit the plan started is active",
		// flanneld needs the masters' etcd, which may still be forming.
		Timeout: 8 * time.Minute,
	},
}

// Gates returns the health gates of a role, in the order they are checked.
func Gates(role config.Role) []Gate {
	switch role {
	case config.RoleMaster:
		return masterGates
	case config.RoleMinion:
		return minionGates
	}
	return nil
}

// gatesTimeout is the sum of a role's gate deadlines: the notify step's
// own timeout leaves a minute beyond it for the signal.
func gatesTimeout(gates []Gate) time.Duration {
	var d time.Duration
	for _, g := range gates {
		d += g.Timeout
	}
	return d
}
