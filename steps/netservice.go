package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/systemd"
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
	// docker's own ExecStart decides the drop-in: a package update that
	// changes it is a new input.
	Extra: func(e *Env) []string {
		start, _ := dockerExecStart(e)
		return []string{e.Settings.AgentPath, "docker-exec-start=" + start}
	},
	When: flannelOn,
	Run: func(ctx context.Context, e *Env) error {
		if err := e.ensureUnits("flanneld.service"); err != nil {
			return err
		}
		dockerDropIn, err := dockerFlannelDropIn(e)
		if err != nil {
			return err
		}
		err = e.writeUnits(
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
			unitFile{name: "docker.service", dropIn: "flannel.conf", opts: dockerDropIn},
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

// dockerNetworkVar is what flannel-docker-bridge writes to /run/flannel/docker.
const dockerNetworkVar = "DOCKER_NETWORK_OPTIONS"

// dockerFlannelDropIn makes docker start after the bridge helper with its
// options. Fedora's docker.service passes $DOCKER_NETWORK_OPTIONS itself
// (spec M13 relies on that); Debian's runs `dockerd -H fd:// $DOCKER_OPTS`
// and would ignore the variable, leaving docker0 outside the node's
// flannel subnet. There the drop-in restates the image's own command line
// with the variable added.
func dockerFlannelDropIn(e *Env) ([]*unit.UnitOption, error) {
	opts := []*unit.UnitOption{
		opt("Unit", "Requires", "flannel-docker-bridge.service"),
		opt("Unit", "After", "flannel-docker-bridge.service"),
		opt("Service", "EnvironmentFile", "/run/flannel/docker"),
	}
	start, err := dockerExecStart(e)
	if err != nil {
		return nil, err
	}
	if strings.Contains(start, dockerNetworkVar) {
		return opts, nil
	}
	return append(opts,
		opt("Service", "ExecStart", ""), // a service has one ExecStart: reset, then restate
		opt("Service", "ExecStart", start+" $"+dockerNetworkVar),
	), nil
}

// dockerExecStart is the ExecStart= of the image's docker.service (its
// last one: an empty ExecStart= resets the list).
func dockerExecStart(e *Env) (string, error) {
	p, err := systemd.FindUnit(e.Files, "docker.service")
	if err != nil {
		return "", fmt.Errorf("docker.service is not installed in this image (%w); install docker", err)
	}
	opts, err := systemd.ReadUnit(e.Files, p)
	if err != nil {
		return "", err
	}
	start := ""
	for _, o := range opts {
		if o.Section == "Service" && o.Name == "ExecStart" {
			start = o.Value
		}
	}
	if start == "" {
		return "", fmt.Errorf("%s has no ExecStart=; cannot hand docker its flannel options", e.Files.Display(p))
	}
	return start, nil
}
