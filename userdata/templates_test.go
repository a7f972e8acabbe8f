package userdata_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/heat"
	"github.com/heatstrap/heatstrap/heat/heattest"
	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/steps"
	"github.com/heatstrap/heatstrap/templates"
	"github.com/heatstrap/heatstrap/userdata"
)

func TestMain(m *testing.M) {
	os.Setenv(httpclient.LoopbackOnlyEnv, "1")
	os.Exit(m.Run())
}

// The parameters of Magnum Mitaka's kubemaster.yaml and kubeminion.yaml
// (spec §2, plus the server, network and pool parameters the parent
// kubecluster.yaml passes): ours must accept every one of them.
var mitakaParams = map[config.Role][]string{
	config.RoleMaster: {"server_image", "master_flavor", "ssh_key_name", "external_network", "portal_network_cidr",
		"kube_allow_priv", "docker_volume_size", "flannel_network_cidr", "flannel_network_subnetlen", "flannel_use_vxlan",
		"discovery_url", "tls_disabled", "kubernetes_port", "user_token", "bay_uuid", "magnum_url", "api_public_address",
		"api_private_address", "fixed_network", "fixed_subnet", "network_driver", "wait_condition_timeout",
		"secgroup_base_id", "secgroup_kube_master_id", "api_pool_id", "etcd_pool_id", "auth_url", "username", "password",
		"tenant_name", "http_proxy", "https_proxy", "no_proxy"},
	config.RoleMinion: {"server_image", "minion_flavor", "ssh_key_name", "external_network", "kube_allow_priv",
		"docker_volume_size", "tls_disabled", "kubernetes_port", "user_token", "bay_uuid", "magnum_url", "kube_master_ip",
		"etcd_server_ip", "fixed_network", "fixed_subnet", "network_driver", "wait_condition_timeout", "registry_enabled",
		"registry_port", "registry_username", "registry_password", "registry_domain", "registry_trust_id",
		"registry_auth_url", "registry_region", "registry_container", "registry_insecure", "registry_chunksize",
		"secgroup_kube_minion_id", "http_proxy", "https_proxy", "no_proxy"},
}

// What Magnum's kubecluster.yaml passes (strings, as Heat hands nested
// stack parameters over), beyond the parameters that have defaults.
var magnumPasses = map[config.Role]map[string]string{
	config.RoleMaster: {"server_image": "fedora-21-atomic-5", "ssh_key_name": "k", "external_network": "public",
		"discovery_url": "https://discovery.example/abc", "user_token": "gAAAAAtoken", "bay_uuid": "3f2e1d0c-b9a8-4765-8432-10fedcba9876",
		"magnum_url": "http://127.0.0.1:9511/v1", "api_public_address": "172.24.4.10", "api_private_address": "10.0.0.5",
		"fixed_network": "private", "fixed_subnet": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "network_driver": "flannel",
		"wait_condition_timeout": "6000", "secgroup_base_id": "sg1", "secgroup_kube_master_id": "sg2", "api_pool_id": "p1",
		"etcd_pool_id": "p2", "auth_url": "http://127.0.0.1:5000/v3", "username": "demo", "tenant_name": "demo", "tls_disabled": "False"},
	config.RoleMinion: {"server_image": "fedora-21-atomic-5", "ssh_key_name": "k", "external_network": "public",
		"user_token": "gAAAAAtoken", "bay_uuid": "3f2e1d0c-b9a8-4765-8432-10fedcba9876", "magnum_url": "http://127.0.0.1:9511/v1",
		"kube_master_ip": "10.0.0.5", "etcd_server_ip": "10.0.0.6", "fixed_network": "private",
		"fixed_subnet": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "network_driver": "flannel", "wait_condition_timeout": "6000",
		"secgroup_kube_minion_id": "sg3", "tls_disabled": "False"},
}

type hotParam struct {
	Type    string `yaml:"type"`
	Default any    `yaml:"default"`
}

type hot struct {
	Version    string                `yaml:"heat_template_version"`
	Parameters map[string]hotParam   `yaml:"parameters"`
	Resources  map[string]hotResouce `yaml:"resources"`
	Outputs    map[string]any        `yaml:"outputs"`
}

type hotResouce struct {
	Type       string         `yaml:"type"`
	Properties map[string]any `yaml:"properties"`
}

func load(t *testing.T, role config.Role) hot {
	t.Helper()
	name, err := userdata.TemplateFor(role)
	if err != nil {
		t.Fatal(err)
	}
	b, err := templates.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var h hot
	if err := yaml.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// stack resolves intrinsic functions the way Heat would for one node:
// parameters typed by their schema (Heat's number is an int, boolean a
// bool), the wait handle's attributes from a real Heat emulator, the
// port's fixed IP and the volume's id.
type stack struct {
	t       *testing.T
	h       hot
	given   map[string]string
	wc      *heattest.WaitCondition
	volume  string
	nodeIP  string
	missing []string
}

func (s *stack) Resolve(placeholder string, fn map[string]any) (any, error) {
	if p, ok := fn["get_param"].(string); ok {
		return s.param(p)
	}
	if r, ok := fn["get_resource"].(string); ok {
		if s.h.Resources[r].Type != "OS::Cinder::Volume" {
			return nil, fmt.Errorf("get_resource %s: not a volume", r)
		}
		return s.volume, nil
	}
	if a, ok := fn["get_attr"].([]any); ok && len(a) >= 2 {
		res, _ := a[0].(string)
		switch s.h.Resources[res].Type {
		case "OS::Heat::WaitConditionHandle":
			switch a[1] {
			case "curl_cli":
				return s.wc.CurlCLI(), nil
			case "endpoint":
				return s.wc.Endpoint(), nil
			case "token":
				return s.wc.Token(), nil
			}
		case "OS::Neutron::Port":
			if fmt.Sprint(a[1:]) == "[fixed_ips 0 ip_address]" {
				return s.nodeIP, nil
			}
		}
	}
	return nil, fmt.Errorf("%s: cannot resolve %v", placeholder, fn)
}

func (s *stack) param(name string) (any, error) {
	p, ok := s.h.Parameters[name]
	if !ok {
		return nil, fmt.Errorf("get_param %s: no such parameter", name)
	}
	v, given := s.given[name]
	if !given {
		if p.Default == nil {
			s.missing = append(s.missing, name)
			return nil, nil
		}
		v = fmt.Sprint(p.Default)
	}
	switch p.Type {
	case "number":
		if n, err := strconv.Atoi(v); err == nil {
			return n, nil
		}
		return strconv.ParseFloat(v, 64)
	case "boolean":
		return config.ParseBool(v)
	}
	return v, nil
}

// keysWritten reads the heat-params that part 1 writes.
func keysWritten(t *testing.T, part string) ([]config.Entry, string) {
	t.Helper()
	var cc struct {
		WriteFiles []struct {
			Path, Owner, Permissions, Content string
		} `yaml:"write_files"`
	}
	if !strings.HasPrefix(part, "#cloud-config\n") {
		t.Fatalf("part 1 is not cloud-config:\n%s", part)
	}
	if err := yaml.Unmarshal([]byte(part), &cc); err != nil || len(cc.WriteFiles) != 1 {
		t.Fatalf("part 1: %v %+v", err, cc)
	}
	f := cc.WriteFiles[0]
	if f.Path != "/etc/sysconfig/heat-params" || f.Permissions != "0600" || f.Owner != "root:root" {
		t.Errorf("heat-params written as %s %s %s; want /etc/sysconfig/heat-params root:root 0600", f.Path, f.Owner, f.Permissions)
	}
	entries, warnings, err := config.ReadHeatParams("heat-params", []byte(f.Content))
	if err != nil || len(warnings) > 0 {
		t.Fatalf("%v %v", err, warnings)
	}
	return entries, f.Content
}

func TestTemplatesAreMitakaCompatibleAndMatchTheAgent(t *testing.T) {
	srv := heattest.NewServer(heattest.Options{})
	defer srv.Close()
	for _, role := range []config.Role{config.RoleMaster, config.RoleMinion} {
		t.Run(string(role), func(t *testing.T) {
			h := load(t, role)
			// Swap-in: Mitaka's parameters are all there; ours beyond
			// them have defaults, so Mitaka's parent template still works.
			for _, p := range mitakaParams[role] {
				if _, ok := h.Parameters[p]; !ok {
					t.Errorf("parameter %s of Mitaka's template is missing", p)
				}
			}
			for p, def := range h.Parameters {
				if !slices.Contains(mitakaParams[role], p) && def.Default == nil {
					t.Errorf("parameter %s is not Mitaka's and has no default", p)
				}
			}
			prefix := map[config.Role]string{config.RoleMaster: "master", config.RoleMinion: "minion"}[role]
			if h.Resources[prefix+"_wait_handle"].Type != "OS::Heat::WaitConditionHandle" ||
				h.Resources[prefix+"_wait_condition"].Type != "OS::Heat::WaitCondition" {
				t.Errorf("wait condition resources differ from Mitaka's")
			}
			if got := h.Resources[prefix+"_wait_condition"].Properties["timeout"]; fmt.Sprint(got) != "map[get_param:wait_condition_timeout]" {
				t.Errorf("wait condition timeout %v", got)
			}

			wc := srv.CreateWaitCondition(heattest.WaitConditionSpec{})
			st := &stack{t: t, h: h, given: magnumPasses[role], wc: wc, volume: "8a3b6f2e-4c1d-4e5f-9a7b-2c3d4e5f6a7b", nodeIP: "10.0.0.4"}
			parts, err := userdata.Parts(role, st)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.missing) > 0 {
				t.Fatalf("parameters without value or default: %v", st.missing)
			}
			if len(parts) != 3 || !strings.HasPrefix(parts[1], "#cloud-config\n") || !strings.Contains(parts[2], "exec /usr/bin/heatstrap launch") {
				t.Fatalf("want heat-params, kube_user and the heatstrap part; got %d parts", len(parts))
			}
			entries, content := keysWritten(t, parts[0])

			// Every key the template writes is one the agent knows for this
			// role, and every key the agent knows for it is written.
			var written []string
			for _, e := range entries {
				ki, ok := config.Lookup(config.Key(e.Key))
				if !ok || ki.ReadOn()&roleBits(role) == 0 {
					t.Errorf("the template writes %s, which heatstrap does not read on a %s", e.Key, role)
				}
				written = append(written, e.Key)
			}
			for _, ki := range config.Table {
				if ki.ReadOn()&roleBits(role) != 0 && !slices.Contains(written, string(ki.Key)) {
					t.Errorf("heatstrap reads %s on a %s, but the template does not write it", ki.Key, role)
				}
			}
			// A step shared by both plans may declare keys only the other
			// role has (make-cert's master SANs); any other input must be
			// written.
			plan, _ := steps.Plan(role)
			for _, s := range plan {
				for _, k := range s.Reads {
					ki, _ := config.Lookup(k)
					if !slices.Contains(written, string(k)) && ki.ReadOn()&roleBits(role) != 0 {
						t.Errorf("step %s reads %s, not written by the template", s.Name, k)
					}
				}
			}

			// What the template writes is valid heat-params for the role,
			// and its signal reaches the wait condition Heat made.
			l, err := config.LoadParams("heat-params", []byte(content), "")
			if err != nil || len(l.Problems) > 0 || l.Params.Role != role {
				t.Fatalf("rendered heat-params: %v %v role %q\n%s", err, l.Problems, l.Params.Role, content)
			}
			ep, ok, err := heat.ResolveEndpoint(l.Params.WaitCurl, l.Params.WaitHandleEndpoint, l.Params.WaitHandleToken)
			if !ok || err != nil {
				t.Fatalf("endpoint: %v %v", ok, err)
			}
			c, err := heat.NewClient(ep, httpclient.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := c.Send(ctx, heat.Signal{Status: heat.Success, Reason: "ok", ID: "node"}); err != nil {
				t.Fatal(err)
			}
			if status, err := wc.WaitFor(ctx); err != nil || status != "COMPLETE" {
				t.Fatalf("wait condition %s, %v", status, err)
			}

			// `heatstrap userdata` with those heat-params renders the same
			// bytes as evaluating the template against the stack.
			got, err := userdata.Render(role, entries)
			if err != nil {
				t.Fatal(err)
			}
			if want := userdata.MIME(parts); string(got) != string(want) {
				t.Errorf("Render differs from the template's user-data")
			}
		})
	}
}

func roleBits(r config.Role) config.Roles {
	if r == config.RoleMaster {
		return config.Master
	}
	return config.Minion
}

// Heat's conversions reach the file as Heat writes them: booleans
// capitalised, numbers decimal.
func TestHeatConversions(t *testing.T) {
	srv := heattest.NewServer(heattest.Options{})
	defer srv.Close()
	h := load(t, config.RoleMinion)
	st := &stack{t: t, h: h, given: magnumPasses[config.RoleMinion], wc: srv.CreateWaitCondition(heattest.WaitConditionSpec{}), volume: "v", nodeIP: "10.0.0.9"}
	parts, err := userdata.Parts(config.RoleMinion, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`TLS_DISABLED="False"`, `REGISTRY_ENABLED="False"`, `REGISTRY_INSECURE="True"`,
		`REGISTRY_CHUNKSIZE="5242880"`, `KUBE_API_PORT="6443"`, `DOCKER_STORAGE_WIPE="False"`, `NODE_ROLE="minion"`} {
		if !strings.Contains(parts[0], want) {
			t.Errorf("heat-params lacks %s", want)
		}
	}
}

// Render refuses keys the template would drop and a NODE_ROLE for the
// other template.
func TestRenderRefuses(t *testing.T) {
	if _, err := userdata.Render(config.RoleMinion, []config.Entry{{Key: "KUBE_API_PUBLIC_ADDRESS", Value: "1.2.3.4"}}); err == nil ||
		!strings.Contains(err.Error(), "does not write KUBE_API_PUBLIC_ADDRESS") {
		t.Errorf("lost key: %v", err)
	}
	if _, err := userdata.Render(config.RoleMaster, []config.Entry{{Key: "NODE_ROLE", Value: "minion"}}); err == nil {
		t.Error("role mismatch accepted")
	}
}
