package config

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func load(t *testing.T, text, role string) *Loaded {
	t.Helper()
	l, err := LoadParams("heat-params", []byte(text), role)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func example(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExamplesAreValid(t *testing.T) {
	for _, tc := range []struct{ file, role string }{{"master.heat-params", "master"}, {"minion.heat-params", "minion"}} {
		l := load(t, example(t, tc.file), "")
		if len(l.Problems) > 0 || len(l.Warnings) > 0 {
			t.Errorf("%s: problems %v warnings %v", tc.file, l.Problems, l.Warnings)
		}
		if string(l.Params.Role) != tc.role {
			t.Errorf("%s: role %q, want %s", tc.file, l.Params.Role, tc.role)
		}
	}
	p := load(t, example(t, "master.heat-params"), "").Params
	if p.KubeAPIPort != 6443 || p.KubeNodeIP.String() != "10.0.0.4" || p.TLSDisabled || !p.KubeAllowPriv ||
		p.FlannelNetworkCIDR.String() != "10.100.0.0/16" || p.FlannelNetworkSubnetLen != 24 || p.WaitConditionTimeout != 6000 ||
		p.DockerStorageDriver != "overlay2" || p.DockerVolumeSize != -1 {
		t.Errorf("typed values wrong: %+v", p)
	}
}

// The key sets per role are exactly those of spec §2.2 (25) and §2.3 (26).
func TestKeySetsMatchSpec(t *testing.T) {
	master := "KUBE_API_PUBLIC_ADDRESS KUBE_API_PRIVATE_ADDRESS KUBE_API_PORT KUBE_NODE_IP KUBE_ALLOW_PRIV DOCKER_VOLUME NETWORK_DRIVER FLANNEL_NETWORK_CIDR FLANNEL_NETWORK_SUBNETLEN FLANNEL_USE_VXLAN PORTAL_NETWORK_CIDR ETCD_DISCOVERY_URL AUTH_URL USERNAME PASSWORD TENANT_NAME CLUSTER_SUBNET TLS_DISABLED BAY_UUID USER_TOKEN MAGNUM_URL HTTP_PROXY HTTPS_PROXY NO_PROXY WAIT_CURL"
	minion := "KUBE_ALLOW_PRIV KUBE_MASTER_IP KUBE_API_PORT KUBE_NODE_IP ETCD_SERVER_IP DOCKER_VOLUME NETWORK_DRIVER REGISTRY_ENABLED REGISTRY_PORT REGISTRY_AUTH_URL REGISTRY_REGION REGISTRY_USERNAME REGISTRY_PASSWORD REGISTRY_DOMAIN REGISTRY_TRUST_ID REGISTRY_CONTAINER REGISTRY_INSECURE REGISTRY_CHUNKSIZE TLS_DISABLED BAY_UUID USER_TOKEN MAGNUM_URL HTTP_PROXY HTTPS_PROXY NO_PROXY WAIT_CURL"
	for _, tc := range []struct {
		roles Roles
		spec  string
		n     int
	}{{Master, master, 25}, {Minion, minion, 26}} {
		var got []string
		for _, k := range KeysOf(tc.roles) {
			got = append(got, string(k))
		}
		want := strings.Fields(tc.spec)
		slices.Sort(got)
		slices.Sort(want)
		if len(want) != tc.n || !slices.Equal(got, want) {
			t.Errorf("keys of %v = %v, want %v", tc.roles, got, want)
		}
	}
	later := []Key{TrusteeUserID, TrusteePassword, TrustID, DockerVolumeSize, DockerStorageDriver, WaitHandleEndpoint, WaitHandleToken, WaitConditionTimeout, NodeRole}
	for _, k := range later {
		if _, ok := Lookup(k); !ok {
			t.Errorf("later key %s missing", k)
		}
	}
}

func TestValidationNamesKeyAndValue(t *testing.T) {
	base := example(t, "master.heat-params")
	tests := []struct{ set, want string }{
		{`KUBE_API_PORT="70000"`, `KUBE_API_PORT: "70000": not a port number`},
		{`KUBE_API_PORT="http"`, `KUBE_API_PORT: "http": not a port`},
		{`KUBE_NODE_IP="10.0.0.300"`, `KUBE_NODE_IP: "10.0.0.300": not an IP address`},
		{`TLS_DISABLED="yes"`, `TLS_DISABLED: "yes": not a boolean`},
		{`FLANNEL_NETWORK_CIDR="10.100.0.1/16"`, `FLANNEL_NETWORK_CIDR: "10.100.0.1/16": host bits set (did you mean 10.100.0.0/16?)`},
		{`PORTAL_NETWORK_CIDR="10.254/16"`, `PORTAL_NETWORK_CIDR: "10.254/16": not a CIDR`},
		{`MAGNUM_URL="magnum:9511"`, `MAGNUM_URL: "magnum:9511": not an http(s) URL`},
		{`AUTH_URL="http://k/$(id)"`, `AUTH_URL: "http://k/$(id)": URL contains whitespace`},
		{`BAY_UUID="not-a-uuid"`, `BAY_UUID: "not-a-uuid": not a UUID`},
		{`KUBE_API_PUBLIC_ADDRESS="bad host!"`, `KUBE_API_PUBLIC_ADDRESS: "bad host!": not an IP address or DNS name`},
		{`FLANNEL_NETWORK_SUBNETLEN="8"`, `FLANNEL_NETWORK_SUBNETLEN: 8: must be longer than the network prefix /16`},
		{`WAIT_CONDITION_TIMEOUT="0"`, `WAIT_CONDITION_TIMEOUT: 0: Heat allows 1 to 43200 seconds`},
		{`DOCKER_STORAGE_DRIVER="zfs"`, `DOCKER_STORAGE_DRIVER: "zfs": must be overlay2 or devicemapper`},
		{`USER_TOKEN=""`, `USER_TOKEN: required when TLS is enabled`},
		{`TRUST_ID="t"`, `TRUSTEE_USER_ID: required with trust credentials`},
	}
	for _, tt := range tests {
		key := strings.SplitN(tt.set, "=", 2)[0]
		var lines []string
		for _, l := range strings.Split(base, "\n") {
			if !strings.HasPrefix(l, key+"=") {
				lines = append(lines, l)
			}
		}
		l := load(t, strings.Join(lines, "\n")+tt.set+"\n", "")
		if !strings.Contains(l.Problems.Error(), tt.want) {
			t.Errorf("%s: problems %q, want %q", tt.set, l.Problems.Error(), tt.want)
		}
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	l := load(t, "KUBE_API_PUBLIC_ADDRESS=\"1.2.3.4\"\nKUBE_API_PORT=\"x\"\nTLS_DISABLED=\"maybe\"\nPASSWORD=\"hunter22\"\n", "")
	keys := l.Problems.Keys()
	for _, k := range []string{"KUBE_API_PORT", "TLS_DISABLED", "KUBE_NODE_IP"} {
		if !slices.Contains(keys, k) {
			t.Errorf("problems %v lack %s", keys, k)
		}
	}
}

func TestBooleanSpellings(t *testing.T) {
	for in, want := range map[string]bool{"True": true, "true": true, "False": false, "false": false} {
		if got, err := ParseBool(in); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"TRUE", "1", "yes", ""} {
		if _, err := ParseBool(in); err == nil {
			t.Errorf("ParseBool(%q) accepted", in)
		}
	}
}

func TestRole(t *testing.T) {
	tests := []struct {
		text, override, want, err string
	}{
		{`KUBE_API_PUBLIC_ADDRESS="1.2.3.4"`, "", "master", ""},
		{`KUBE_MASTER_IP="10.0.0.5"`, "", "minion", ""},
		{`KUBE_MASTER_IP="10.0.0.5"` + "\n" + `NODE_ROLE="master"`, "", "master", ""},
		{`KUBE_MASTER_IP="10.0.0.5"`, "master", "master", ""},
		{`KUBE_API_PUBLIC_ADDRESS="1.2.3.4"` + "\n" + `KUBE_MASTER_IP="10.0.0.5"`, "", "", "has both"},
		{`KUBE_API_PORT="6443"`, "", "", "neither"},
		{`KUBE_API_PORT="6443"`, "worker", "", "must be master or minion"},
	}
	for _, tt := range tests {
		l := load(t, tt.text+"\n", tt.override)
		if tt.err != "" {
			if !strings.Contains(l.Problems.Error(), tt.err) {
				t.Errorf("%q: problems %v, want %q", tt.text, l.Problems, tt.err)
			}
			continue
		}
		if string(l.Params.Role) != tt.want {
			t.Errorf("%q/%q: role %q, want %q", tt.text, tt.override, l.Params.Role, tt.want)
		}
	}
}

func TestOnlyMasksUndeclaredKeys(t *testing.T) {
	p := load(t, example(t, "master.heat-params"), "").Params
	q := p.Only([]Key{KubeNodeIP, Password})
	if q.KubeNodeIP != p.KubeNodeIP || q.Password.Reveal() != "ChangeMe" || q.Role != RoleMaster {
		t.Errorf("declared keys lost: %+v", q)
	}
	if q.KubeAPIPort != 0 || q.BayUUID != "" || q.FlannelNetworkCIDR.IsValid() || !q.UserToken.IsZero() {
		t.Errorf("undeclared keys leaked: %+v", q)
	}
}

func TestFingerprintFollowsDeclaredKeysOnly(t *testing.T) {
	a := load(t, example(t, "master.heat-params"), "").Params
	b := load(t, strings.Replace(example(t, "master.heat-params"), `FLANNEL_NETWORK_CIDR="10.100.0.0/16"`, `FLANNEL_NETWORK_CIDR="10.101.0.0/16"`, 1), "").Params
	reads := []Key{FlannelNetworkCIDR}
	if a.Fingerprint(reads) == b.Fingerprint(reads) {
		t.Error("fingerprint ignores a changed declared key")
	}
	other := []Key{KubeNodeIP}
	if a.Fingerprint(other) != b.Fingerprint(other) {
		t.Error("fingerprint depends on an undeclared key")
	}
	c := load(t, strings.Replace(example(t, "master.heat-params"), "gAAAAABexampleuserTOKEN", "gAAAAABotheruserTOKEN", 1), "").Params
	if a.Fingerprint([]Key{UserToken}) == c.Fingerprint([]Key{UserToken}) {
		t.Error("fingerprint ignores a changed secret (it must hash the value, not ***)")
	}
}
