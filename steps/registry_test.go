package steps

import (
	"os"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/heatstrap/heatstrap/config"
)

// The registry config holds the Swift password and trust id: 0600 root:root
// (Mitaka: 0644, §9.2), hostile values land literally in valid YAML, a
// leftover world-readable file is tightened, and the unit runs the
// configured image. enable-docker-registry enables and starts it.
func TestDockerRegistry(t *testing.T) {
	password := `p"a$(id)` + "`id`" + `'s\w: #x`
	n := newTestNode(t, config.RoleMinion, map[string]string{
		"REGISTRY_ENABLED": "True", "REGISTRY_PASSWORD": password, "REGISTRY_TRUST_ID": "trust: {x}",
		"REGISTRY_CONTAINER": "c-1", "REGISTRY_PORT": "5001", "REGISTRY_AUTH_URL": "https://keystone.example.com:5000/v3",
	})
	n.write(registryConfig, "old: config\n", 0o644) // Mitaka left it world-readable
	opts := runOpts{settings: func(s *config.Settings) { s.Images.Registry = "registry.example:5000/registry:2.1" }}
	n.mustRun(opts, configureDockerRegistry, enableDockerRegistry)

	var conf struct {
		Version string
		Storage struct {
			Swift map[string]any
		}
		HTTP struct{ Addr string }
	}
	text := n.checkMeta(registryConfig, "0600 root:root")
	if err := yaml.Unmarshal([]byte(text), &conf); err != nil {
		t.Fatalf("registry config is not YAML: %v\n%s", err, text)
	}
	sw := conf.Storage.Swift
	if sw["password"] != password || sw["trustid"] != "trust: {x}" || sw["container"] != "c-1" || sw["authurl"] != "https://keystone.example.com:5000/v3" ||
		sw["insecureskipverify"] != true || sw["chunksize"] != float64(5242880) || conf.HTTP.Addr != ":5000" {
		t.Errorf("registry config: %+v", conf)
	}

	u := n.unitValues("/etc/systemd/system/registry.service")
	checkUnitValue(t, "registry", u, "Service.ExecStartPre", "-/usr/bin/docker rm -f registry")
	checkUnitValue(t, "registry", u, "Service.ExecStart",
		"/usr/bin/docker run -d -p 5001:5000 --restart=always --name registry -v "+registryConfig+":/etc/docker/registry/config.yml registry.example:5000/registry:2.1")
	checkUnitValue(t, "registry", u, "Unit.Requires", "docker.service")
	if target, err := os.Readlink(n.hostPath("/etc/systemd/system/multi-user.target.wants/registry.service")); err != nil || target != "/etc/systemd/system/registry.service" {
		t.Errorf("registry.service not enabled: %q %v", target, err)
	}
	if got := n.starts(); !slices.Equal(got, []string{"registry.service"}) {
		t.Errorf("started %v", got)
	}
	n.assertQuietRerun(configureDockerRegistry, opts, registryConfig, "/etc/systemd/system/registry.service")

	e := n.env(configureDockerRegistry)
	before := configureDockerRegistry.Fingerprint(e)
	e.Settings.Images.Registry = "registry:other"
	if configureDockerRegistry.Fingerprint(e) == before {
		t.Error("the registry image is not a fingerprint input")
	}
	checkReadsOnlyDeclared(t, config.RoleMinion, map[string]string{"REGISTRY_ENABLED": "True", "REGISTRY_AUTH_URL": "https://keystone.example.com:5000/v3"}, configureDockerRegistry)
}

// Disabled (Magnum's Mitaka default), both steps skip and write nothing.
func TestDockerRegistryDisabled(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, nil)
	for _, s := range []Step{configureDockerRegistry, enableDockerRegistry} {
		skipped, changed, err := n.runLogged(s, runOpts{})
		if err != nil || skipped != "REGISTRY_ENABLED is False" || len(changed) > 0 {
			t.Errorf("%s: skipped %q changed %v err %v", s.Name, skipped, changed, err)
		}
	}
	if _, err := os.Lstat(n.hostPath(registryConfig)); !os.IsNotExist(err) {
		t.Errorf("registry config written while disabled (%v)", err)
	}
}
