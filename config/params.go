package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Role is the kind of node being bootstrapped.
type Role string

const (
	RoleMaster Role = "master"
	RoleMinion Role = "minion"
)

// Params is heat-params as typed values. Fields hold the effective value:
// the file's text parsed, or the table default when the key is absent or
// empty. Steps get a copy masked to the keys they declare (see Only).
type Params struct {
	KubeAPIPublicAddress    string
	KubeAPIPrivateAddress   string
	KubeAPIPort             int
	KubeNodeIP              netip.Addr
	KubeAllowPriv           bool
	DockerVolume            string
	NetworkDriver           string
	FlannelNetworkCIDR      netip.Prefix
	FlannelNetworkSubnetLen int
	FlannelUseVXLAN         bool
	PortalNetworkCIDR       netip.Prefix
	EtcdDiscoveryURL        string
	AuthURL                 string
	Username                string
	Password                Secret
	TenantName              string
	ClusterSubnet           string
	TLSDisabled             bool
	BayUUID                 string
	UserToken               Secret
	MagnumURL               string
	HTTPProxy               string
	HTTPSProxy              string
	NoProxy                 string
	WaitCurl                Secret

	KubeMasterIP      string
	EtcdServerIP      string
	RegistryEnabled   bool
	RegistryPort      int
	RegistryAuthURL   string
	RegistryRegion    string
	RegistryUsername  string
	RegistryPassword  Secret
	RegistryDomain    string
	RegistryTrustID   Secret
	RegistryContainer string
	RegistryInsecure  bool
	RegistryChunkSize int

	TrusteeUserID        string
	TrusteePassword      Secret
	TrustID              string
	DockerVolumeSize     int
	DockerStorageDriver  string
	WaitHandleEndpoint   string
	WaitHandleToken      Secret
	WaitConditionTimeout int
	NodeRole             Role
	DockerStorageDevice  string
	DockerStorageWipe    bool

	// Role is the resolved role (flag, NODE_ROLE or inference); every step sees it.
	Role Role
	// Present lists the keys the file actually set (role inference, validation).
	Present map[Key]bool
}

// Problem is one invalid or missing parameter.
type Problem struct {
	Key Key
	Msg string
}

func (p Problem) String() string { return string(p.Key) + ": " + p.Msg }

// Problems is every problem found at once, so an operator fixes them in one go.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "invalid heat-params: " + strings.Join(s, "; ")
}

// Keys returns the keys named by the problems (for a short FAILURE reason).
func (ps Problems) Keys() []string {
	var ks []string
	for _, p := range ps {
		if !slices.Contains(ks, string(p.Key)) {
			ks = append(ks, string(p.Key))
		}
	}
	return ks
}

// Decode turns raw key/value text into Params. Unknown keys are ignored here
// (the reader warns about them). Every bad value is reported, not just the first.
func Decode(raw map[string]string) (Params, Problems) {
	p := Params{Present: map[Key]bool{}}
	var probs Problems
	for i := range Table {
		ki := &Table[i]
		text, set := raw[string(ki.Key)]
		if set && text != "" {
			p.Present[ki.Key] = true
		} else {
			text = ki.Default
		}
		if err := parseInto(ki, text, ki.field(&p)); err != nil {
			shown := strconv.Quote(text)
			if ki.Kind == KindSecret {
				shown = redacted
			}
			probs = append(probs, Problem{ki.Key, fmt.Sprintf("%s: %v", shown, err)})
		}
	}
	return p, probs
}

// Only returns a copy holding just the given keys (and the role); all other
// fields are zero. Steps run on such a copy, so a step cannot depend on a
// key that is missing from its declared inputs and hence from its fingerprint.
func (p Params) Only(keys []Key) Params {
	q := Params{Role: p.Role, Present: map[Key]bool{}}
	for _, k := range keys {
		ki, ok := byKey[k]
		if !ok {
			continue
		}
		copyField(ki.field(&q), ki.field(&p))
		q.Present[k] = p.Present[k]
	}
	return q
}

func copyField(dst, src any) {
	switch d := dst.(type) {
	case *string:
		*d = *src.(*string)
	case *int:
		*d = *src.(*int)
	case *bool:
		*d = *src.(*bool)
	case *netip.Addr:
		*d = *src.(*netip.Addr)
	case *netip.Prefix:
		*d = *src.(*netip.Prefix)
	case *Secret:
		*d = *src.(*Secret)
	case *Role:
		*d = *src.(*Role)
	default:
		panic(fmt.Sprintf("config: no copy for %T", dst))
	}
}

// Value returns the canonical text of a key's effective value (secrets
// revealed: callers hash it or write it to a 0600 file, never log it).
func (p *Params) Value(k Key) string {
	ki, ok := byKey[k]
	if !ok {
		return ""
	}
	switch v := ki.field(p).(type) {
	case *string:
		return *v
	case *int:
		return strconv.Itoa(*v)
	case *bool:
		return strconv.FormatBool(*v)
	case *netip.Addr:
		if !v.IsValid() {
			return ""
		}
		return v.String()
	case *netip.Prefix:
		if !v.IsValid() {
			return ""
		}
		return v.String()
	case *Secret:
		return v.Reveal()
	case *Role:
		return string(*v)
	}
	return ""
}

// Fingerprint hashes the effective values of keys (plus any extra inputs,
// e.g. agent settings a step uses). Equal fingerprints mean a step that
// already succeeded has nothing new to do.
func (p *Params) Fingerprint(keys []Key, extra ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "role=%s\n", p.Role)
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%q\n", k, p.Value(k))
	}
	for _, e := range extra {
		fmt.Fprintf(h, "+%q\n", e)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// SecretValues returns every secret value in the parameters, including the
// token inside WAIT_CURL (which is itself a secret as a whole), for redaction.
func (p *Params) SecretValues() []string {
	var vs []string
	for _, ki := range Table {
		if ki.Kind == KindSecret {
			if v := p.Value(ki.Key); v != "" {
				vs = append(vs, v)
			}
		}
	}
	return vs
}
