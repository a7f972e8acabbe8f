package config

import (
	"errors"
	"fmt"
	"strings"
)

// ResolveRole decides the node's role: an explicit override (--role), else
// NODE_ROLE, else inference from the keys only one template writes.
func (p *Params) ResolveRole(override string) error {
	switch {
	case override != "":
		r := Role(strings.ToLower(override))
		if r != RoleMaster && r != RoleMinion {
			return fmt.Errorf("--role %q: must be master or minion", override)
		}
		p.Role = r
	case p.NodeRole != "":
		p.Role = p.NodeRole
	case p.Present[KubeAPIPublicAddress] && p.Present[KubeMasterIP]:
		return errors.New("cannot infer the node role: heat-params has both KUBE_API_PUBLIC_ADDRESS (master) and KUBE_MASTER_IP (minion); set NODE_ROLE or --role")
	case p.Present[KubeAPIPublicAddress]:
		p.Role = RoleMaster
	case p.Present[KubeMasterIP]:
		p.Role = RoleMinion
	default:
		return errors.New("cannot infer the node role: heat-params has neither KUBE_API_PUBLIC_ADDRESS (master) nor KUBE_MASTER_IP (minion); set NODE_ROLE or --role")
	}
	return nil
}

// Validate checks what single values cannot: keys a role needs, and keys
// that only make sense together. The role must be resolved first.
func (p *Params) Validate() Problems {
	var probs Problems
	need := func(k Key, why string) {
		if !p.Present[k] {
			probs = append(probs, Problem{k, "required " + why})
		}
	}
	switch p.Role {
	case RoleMaster:
		need(KubeNodeIP, "on a master (etcd member name and URLs)")
	case RoleMinion:
		need(KubeMasterIP, "on a minion (the API address)")
	}
	if !p.TLSDisabled {
		need(BayUUID, "when TLS is enabled (certificate API)")
		need(MagnumURL, "when TLS is enabled (certificate API)")
		trust := p.Present[TrusteeUserID] || p.Present[TrusteePassword] || p.Present[TrustID]
		switch {
		case trust:
			need(TrusteeUserID, "with trust credentials")
			need(TrusteePassword, "with trust credentials")
			need(TrustID, "with trust credentials")
			need(AuthURL, "with trust credentials (Keystone)")
		default:
			need(UserToken, "when TLS is enabled and no trust credentials are given")
		}
	}
	if p.Role == RoleMaster && p.NetworkDriver == "flannel" {
		bits := p.FlannelNetworkCIDR.Bits()
		if n := p.FlannelNetworkSubnetLen; n <= bits || n > 30 {
			probs = append(probs, Problem{FlannelNetworkSubnetLn,
				fmt.Sprintf("%d: must be longer than the network prefix /%d and at most 30", n, bits)})
		}
	}
	if p.Role == RoleMinion && p.RegistryEnabled {
		if err := checkURL(p.RegistryAuthURL); err != nil {
			probs = append(probs, Problem{RegistryAuthURL, fmt.Sprintf("%q: %v (the registry is enabled)", p.RegistryAuthURL, err)})
		}
		need(RegistryContainer, "when the registry is enabled")
	}
	switch p.DockerStorageDriver {
	case "overlay2", "overlay", "devicemapper":
	default:
		probs = append(probs, Problem{DockerStorageDriver, fmt.Sprintf("%q: must be overlay2 or devicemapper", p.DockerStorageDriver)})
	}
	if p.DockerVolumeSize < -1 {
		probs = append(probs, Problem{DockerVolumeSize, fmt.Sprintf("%d: must be 0 or more", p.DockerVolumeSize)})
	}
	if t := p.WaitConditionTimeout; t < 1 || t > 43200 {
		probs = append(probs, Problem{WaitConditionTimeout, fmt.Sprintf("%d: Heat allows 1 to 43200 seconds", t)})
	}
	if p.Present[WaitHandleEndpoint] != p.Present[WaitHandleToken] {
		probs = append(probs, Problem{WaitHandleToken, "WAIT_HANDLE_ENDPOINT and WAIT_HANDLE_TOKEN go together"})
	}
	return probs
}
