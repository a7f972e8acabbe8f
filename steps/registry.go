package steps

import (
	"context"
	"fmt"
	"strconv"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/config"
)

const registryConfig = "/etc/sysconfig/registry-config.yml"

func registryOn(e *Env) string {
	if !e.Params.RegistryEnabled {
		return "REGISTRY_ENABLED is False"
	}
	return ""
}

// configureDockerRegistry writes the Swift-backed registry config and its
// unit (spec N8). Magnum never enabled it in Mitaka (§9.12), but operators
// with their own templates can.
//
// Deliberate differences: the config holds the Swift password and trust id,
// so it is 0600 from birth (Mitaka: 0644, §9.2); the unit removes a stale
// "registry" container before `docker run`, so a reboot does not fail on
// the name being taken.
var configureDockerRegistry = Step{
	Name:    "configure-docker-registry",
	Summary: "registry config and unit, when REGISTRY_ENABLED",
	Reads: []config.Key{config.RegistryEnabled, config.RegistryPort, config.RegistryAuthURL, config.RegistryRegion, config.RegistryUsername,
		config.RegistryPassword, config.RegistryDomain, config.RegistryTrustID, config.RegistryContainer, config.RegistryInsecure, config.RegistryChunkSize},
	Extra: func(e *Env) []string { return []string{e.Settings.Images.Registry} },
	When:  registryOn,
	Run: func(_ context.Context, e *Env) error {
		p := e.Params
		data := map[string]string{
			"AuthURL": p.RegistryAuthURL, "Region": p.RegistryRegion, "Username": p.RegistryUsername,
			"Password": p.RegistryPassword.Reveal(), "Domain": p.RegistryDomain, "TrustID": p.RegistryTrustID.Reveal(),
			"Container": p.RegistryContainer, "Insecure": strconv.FormatBool(p.RegistryInsecure), "ChunkSize": strconv.Itoa(p.RegistryChunkSize),
		}
		if err := e.writeFiles(file{path: registryConfig, template: "registry-config.yml", data: data, mode: 0o600}); err != nil {
			return err
		}
		run := fmt.Sprintf("/usr/bin/docker run -d -p %d:5000 --restart=always --name registry -v %s:/etc/docker/registry/config.yml %s",
			p.RegistryPort, registryConfig, e.Settings.Images.Registry)
		return e.writeUnits(unitFile{name: "registry.service", opts: []*unit.UnitOption{
			opt("Unit", "Description", "Docker registry v2"),
			opt("Unit", "Requires", "docker.service"),
			opt("Unit", "After", "docker.service"),
			opt("Service", "Type", "oneshot"),
			opt("Service", "RemainAfterExit", "yes"),
			opt("Service", "ExecStartPre", "-/usr/bin/docker rm -f registry"),
			opt("Service", "ExecStart", run),
			opt("Service", "ExecStop", "/usr/bin/docker rm -f registry"),
			opt("Install", "WantedBy", "multi-user.target"),
		}})
	},
}
