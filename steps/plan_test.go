package steps

import (
	"slices"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
)

// The plans are Magnum Mitaka's MIME parts, in order, named as in spec §3.A
// (master, M1–M19) and §3.B (minion, N1–N15) with "_" written as "-".
func TestPlansMatchSpec(t *testing.T) {
	spec := map[config.Role]string{
		config.RoleMaster: "disable_selinux write_heat_params configure_etcd kube_user write_kube_os_config make_cert configure_docker_storage configure_kubernetes add_proxy enable_services write_network_config network_config_service network_service kube_system_namespace_service enable_kube_podmaster enable_kube_proxy kube_ui_service kube_examples master_wc_notify",
		config.RoleMinion: "disable_selinux write_heat_params kube_user write_kubeconfig make_cert kube_examples configure_docker_storage configure_docker_registry configure_kubernetes_minion network_service add_proxy enable_services enable_kube_proxy enable_docker_registry minion_wc_notify",
	}
	for role, parts := range spec {
		plan, err := Plan(role)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Fields(strings.ReplaceAll(parts, "_", "-"))
		if got := Names(plan); !slices.Equal(got, want) {
			t.Errorf("%s plan:\n got %v\nwant %v", role, got, want)
		}
	}
	if len(Master) != 19 || len(Minion) != 15 {
		t.Errorf("plan sizes %d/%d, want 19/15", len(Master), len(Minion))
	}
}

func TestStepsAreWellFormed(t *testing.T) {
	for _, plan := range [][]Step{Master, Minion} {
		seen := map[string]bool{}
		for _, s := range plan {
			if seen[s.Name] {
				t.Errorf("%s twice in a plan", s.Name)
			}
			seen[s.Name] = true
			if s.Summary == "" || s.Run == nil {
				t.Errorf("%s: needs a summary and a Run", s.Name)
			}
			keys := map[config.Key]bool{}
			for _, k := range s.Reads {
				if _, ok := config.Lookup(k); !ok || keys[k] {
					t.Errorf("%s reads unknown or repeated key %s", s.Name, k)
				}
				keys[k] = true
			}
		}
	}
	if err := CheckNames([]string{"make-cert", "minion-wc-notify"}); err != nil {
		t.Error(err)
	}
	if err := CheckNames([]string{"make-certs"}); err == nil || !strings.Contains(err.Error(), "valid steps: disable-selinux") {
		t.Errorf("CheckNames: %v", err)
	}
}
