package steps

import (
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
)

// Every image of the Mitaka manifests comes from the agent config file
// (a local registry for clusters without gcr.io, §9.9): loaded through
// config.LoadSettings as the binary does, it lands in every manifest and
// unit that runs the image, and the default appears nowhere.
func TestImagesFromAgentConfig(t *testing.T) {
	agentConfig := []byte(`images:
  hyperkube: registry.local:5000/hyperkube:v1.0.6
  podmaster: registry.local:5000/podmaster:1.1
  kube_ui: registry.local:5000/kube-ui:v4
  registry: registry.local:5000/registry:2
`)
	loaded, err := config.LoadSettings(nil, "/etc/heatstrap/config.yaml", true, func(string) ([]byte, error) { return agentConfig, nil })
	if err != nil {
		t.Fatal(err)
	}
	opts := runOpts{settings: func(s *config.Settings) { s.Images = loaded.Images }}
	master := newTestNode(t, config.RoleMaster, nil)
	master.mustRun(opts, enableKubePodmaster, enableKubeProxy, kubeUIService)
	minion := newTestNode(t, config.RoleMinion, map[string]string{"REGISTRY_ENABLED": "True", "REGISTRY_AUTH_URL": "https://keystone.example.com:5000/v3"})
	minion.mustRun(opts, enableKubeProxy, configureDockerRegistry)

	for _, tc := range []struct {
		n     *testNode
		path  string
		image string
	}{
		{master, manifestsDir + "/kube-podmaster.yaml", "registry.local:5000/podmaster:1.1"},
		{master, srvManifestsDir + "/kube-controller-manager.yaml", "registry.local:5000/hyperkube:v1.0.6"},
		{master, srvManifestsDir + "/kube-scheduler.yaml", "registry.local:5000/hyperkube:v1.0.6"},
		{master, manifestsDir + "/kube-proxy.yaml", "registry.local:5000/hyperkube:v1.0.6"},
		{master, srvManifestsDir + "/kube-ui-rc.yaml", "registry.local:5000/kube-ui:v4"},
		{minion, manifestsDir + "/kube-proxy.yaml", "registry.local:5000/hyperkube:v1.0.6"},
		{minion, "/etc/systemd/system/registry.service", "registry.local:5000/registry:2"},
	} {
		text := tc.n.read(tc.path)
		if !strings.Contains(text, tc.image) {
			t.Errorf("%s does not run %s:\n%s", tc.path, tc.image, text)
		}
		if strings.Contains(text, "gcr.io/") || strings.Contains(text, " registry:2") {
			t.Errorf("%s still names a default image:\n%s", tc.path, text)
		}
	}
}
