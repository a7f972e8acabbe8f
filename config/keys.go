package config

// Key names one heat-params entry, exactly as Magnum writes it.
type Key string

// Kind says how a key's text is parsed and validated.
type Kind int

const (
	KindString Kind = iota
	KindHost        // an IP address or a DNS name
	KindIP          // an IP address
	KindPort        // 1..65535
	KindInt         // a decimal integer
	KindBool        // True/False/true/false (Heat writes both spellings)
	KindCIDR        // a network prefix, e.g. 10.254.0.0/16
	KindURL         // an absolute http(s) URL
	KindUUID        // an OpenStack id: 32 hex digits with or without dashes
	KindSecret      // a credential; never printed
	KindRole        // master or minion
)

// Roles says which Magnum template writes a key.
type Roles uint8

const (
	Master Roles = 1 << iota
	Minion
	Both = Master | Minion
)

// Origin says which release introduced a key to heat-params.
type Origin string

const (
	Mitaka    Origin = "Mitaka"
	Newton    Origin = "Newton+"
	Ocata     Origin = "Ocata+"
	Heatstrap Origin = "heatstrap" // our own optional keys
)

// The keys, in the order of spec §2.2 (master) then the minion-only keys of
// §2.3, then later-release and heatstrap keys.
const (
	KubeAPIPublicAddress   Key = "KUBE_API_PUBLIC_ADDRESS"
	KubeAPIPrivateAddress  Key = "KUBE_API_PRIVATE_ADDRESS"
	KubeAPIPort            Key = "KUBE_API_PORT"
	KubeNodeIP             Key = "KUBE_NODE_IP"
	KubeAllowPriv          Key = "KUBE_ALLOW_PRIV"
	DockerVolume           Key = "DOCKER_VOLUME"
	NetworkDriver          Key = "NETWORK_DRIVER"
	FlannelNetworkCIDR     Key = "FLANNEL_NETWORK_CIDR"
	FlannelNetworkSubnetLn Key = "FLANNEL_NETWORK_SUBNETLEN"
	FlannelUseVXLAN        Key = "FLANNEL_USE_VXLAN"
	PortalNetworkCIDR      Key = "PORTAL_NETWORK_CIDR"
	EtcdDiscoveryURL       Key = "ETCD_DISCOVERY_URL"
	AuthURL                Key = "AUTH_URL"
	Username               Key = "USERNAME"
	Password               Key = "PASSWORD"
	TenantName             Key = "TENANT_NAME"
	ClusterSubnet          Key = "CLUSTER_SUBNET"
	TLSDisabled            Key = "TLS_DISABLED"
	BayUUID                Key = "BAY_UUID"
	UserToken              Key = "USER_TOKEN"
	MagnumURL              Key = "MAGNUM_URL"
	HTTPProxy              Key = "HTTP_PROXY"
	HTTPSProxy             Key = "HTTPS_PROXY"
	NoProxy                Key = "NO_PROXY"
	WaitCurl               Key = "WAIT_CURL"

	KubeMasterIP      Key = "KUBE_MASTER_IP"
	EtcdServerIP      Key = "ETCD_SERVER_IP"
	RegistryEnabled   Key = "REGISTRY_ENABLED"
	RegistryPort      Key = "REGISTRY_PORT"
	RegistryAuthURL   Key = "REGISTRY_AUTH_URL"
	RegistryRegion    Key = "REGISTRY_REGION"
	RegistryUsername  Key = "REGISTRY_USERNAME"
	RegistryPassword  Key = "REGISTRY_PASSWORD"
	RegistryDomain    Key = "REGISTRY_DOMAIN"
	RegistryTrustID   Key = "REGISTRY_TRUST_ID"
	RegistryContainer Key = "REGISTRY_CONTAINER"
	RegistryInsecure  Key = "REGISTRY_INSECURE"
	RegistryChunkSize Key = "REGISTRY_CHUNKSIZE"

	TrusteeUserID        Key = "TRUSTEE_USER_ID"
	TrusteePassword      Key = "TRUSTEE_PASSWORD"
	TrustID              Key = "TRUST_ID"
	DockerVolumeSize     Key = "DOCKER_VOLUME_SIZE"
	DockerStorageDriver  Key = "DOCKER_STORAGE_DRIVER"
	WaitHandleEndpoint   Key = "WAIT_HANDLE_ENDPOINT"
	WaitHandleToken      Key = "WAIT_HANDLE_TOKEN"
	WaitConditionTimeout Key = "WAIT_CONDITION_TIMEOUT"
	NodeRole             Key = "NODE_ROLE"
	DockerStorageDevice  Key = "DOCKER_STORAGE_DEVICE"
	DockerStorageWipe    Key = "DOCKER_STORAGE_WIPE"
)

// KeyInfo is one row of the parameter table: the README's heat-params
// reference, the parser, validation and redaction all read it.
type KeyInfo struct {
	Key     Key
	Kind    Kind
	Roles   Roles // which Magnum template writes it
	Origin  Origin
	Default string // used when the key is absent or empty
	Doc     string
	field   func(*Params) any // pointer to the typed field
}

// Table lists every key heatstrap understands.
var Table = []KeyInfo{
	{KubeAPIPublicAddress, KindHost, Master, Mitaka, "", "public (floating) API address; server certificate SAN; its presence marks a master", func(p *Params) any { return &p.KubeAPIPublicAddress }},
	{KubeAPIPrivateAddress, KindHost, Master, Mitaka, "", "private API VIP; server certificate SAN", func(p *Params) any { return &p.KubeAPIPrivateAddress }},
	{KubeAPIPort, KindPort, Both, Mitaka, "6443", "apiserver port (Magnum passes 8080 when TLS is disabled)", func(p *Params) any { return &p.KubeAPIPort }},
	{KubeNodeIP, KindIP, Both, Mitaka, "", "this node's private IP (etcd name and URLs on a master)", func(p *Params) any { return &p.KubeNodeIP }},
	{KubeAllowPriv, KindBool, Both, Mitaka, "true", "allow privileged containers (--allow_privileged)", func(p *Params) any { return &p.KubeAllowPriv }},
	{DockerVolume, KindUUID, Both, Mitaka, "", "Cinder volume id of the docker storage disk", func(p *Params) any { return &p.DockerVolume }},
	{NetworkDriver, KindString, Both, Mitaka, "flannel", "pod network driver; the flannel steps run only for flannel", func(p *Params) any { return &p.NetworkDriver }},
	{FlannelNetworkCIDR, KindCIDR, Master, Mitaka, "10.100.0.0/16", "flannel overlay network", func(p *Params) any { return &p.FlannelNetworkCIDR }},
	{FlannelNetworkSubnetLn, KindInt, Master, Mitaka, "24", "prefix length of each node's flannel subnet", func(p *Params) any { return &p.FlannelNetworkSubnetLen }},
	{FlannelUseVXLAN, KindBool, Master, Mitaka, "false", "flannel vxlan backend instead of udp", func(p *Params) any { return &p.FlannelUseVXLAN }},
	{PortalNetworkCIDR, KindCIDR, Master, Mitaka, "10.254.0.0/16", "service cluster IP range", func(p *Params) any { return &p.PortalNetworkCIDR }},
	{EtcdDiscoveryURL, KindURL, Master, Mitaka, "", "etcd discovery URL; empty forms a one-member cluster from this node", func(p *Params) any { return &p.EtcdDiscoveryURL }},
	{AuthURL, KindURL, Master, Mitaka, "", "Keystone URL (cloud-provider config, trust auth)", func(p *Params) any { return &p.AuthURL }},
	{Username, KindString, Master, Mitaka, "", "OpenStack user for the cloud-provider config", func(p *Params) any { return &p.Username }},
	{Password, KindSecret, Master, Mitaka, "", "OpenStack password for the cloud-provider config", func(p *Params) any { return &p.Password }},
	{TenantName, KindString, Master, Mitaka, "", "OpenStack project name for the cloud-provider config", func(p *Params) any { return &p.TenantName }},
	{ClusterSubnet, KindUUID, Master, Mitaka, "", "Neutron subnet id for load balancers", func(p *Params) any { return &p.ClusterSubnet }},
	{TLSDisabled, KindBool, Both, Mitaka, "false", "run the cluster without TLS", func(p *Params) any { return &p.TLSDisabled }},
	{BayUUID, KindUUID, Both, Mitaka, "", "cluster (bay) id for Magnum's certificate API", func(p *Params) any { return &p.BayUUID }},
	{UserToken, KindSecret, Both, Mitaka, "", "Keystone token for Magnum's certificate API (Mitaka auth)", func(p *Params) any { return &p.UserToken }},
	{MagnumURL, KindURL, Both, Mitaka, "", "Magnum API base URL, e.g. http://magnum:9511/v1", func(p *Params) any { return &p.MagnumURL }},
	{HTTPProxy, KindURL, Both, Mitaka, "", "HTTP proxy for docker, etcd discovery and shells", func(p *Params) any { return &p.HTTPProxy }},
	{HTTPSProxy, KindURL, Both, Mitaka, "", "HTTPS proxy for docker and shells", func(p *Params) any { return &p.HTTPSProxy }},
	{NoProxy, KindString, Both, Mitaka, "", "comma-separated hosts that bypass the proxy", func(p *Params) any { return &p.NoProxy }},
	{WaitCurl, KindSecret, Both, Mitaka, "", "Heat's curl_cli for the wait handle (holds the signal token)", func(p *Params) any { return &p.WaitCurl }},

	{KubeMasterIP, KindHost, Minion, Mitaka, "", "API address the minion talks to; its presence marks a minion", func(p *Params) any { return &p.KubeMasterIP }},
	{EtcdServerIP, KindHost, Minion, Mitaka, "", "etcd address for flannel (defaults to KUBE_MASTER_IP)", func(p *Params) any { return &p.EtcdServerIP }},
	{RegistryEnabled, KindBool, Minion, Mitaka, "false", "run a local docker registry backed by Swift", func(p *Params) any { return &p.RegistryEnabled }},
	{RegistryPort, KindPort, Minion, Mitaka, "5000", "host port of the local registry", func(p *Params) any { return &p.RegistryPort }},
	{RegistryAuthURL, KindString, Minion, Mitaka, "", "Keystone URL for the registry's Swift storage", func(p *Params) any { return &p.RegistryAuthURL }},
	{RegistryRegion, KindString, Minion, Mitaka, "", "Swift region", func(p *Params) any { return &p.RegistryRegion }},
	{RegistryUsername, KindString, Minion, Mitaka, "", "Swift user", func(p *Params) any { return &p.RegistryUsername }},
	{RegistryPassword, KindSecret, Minion, Mitaka, "", "Swift password", func(p *Params) any { return &p.RegistryPassword }},
	{RegistryDomain, KindString, Minion, Mitaka, "", "Keystone domain of the Swift user", func(p *Params) any { return &p.RegistryDomain }},
	{RegistryTrustID, KindSecret, Minion, Mitaka, "", "trust id for Swift", func(p *Params) any { return &p.RegistryTrustID }},
	{RegistryContainer, KindString, Minion, Mitaka, "", "Swift container holding the images", func(p *Params) any { return &p.RegistryContainer }},
	{RegistryInsecure, KindBool, Minion, Mitaka, "true", "skip TLS verification towards Swift", func(p *Params) any { return &p.RegistryInsecure }},
	{RegistryChunkSize, KindInt, Minion, Mitaka, "5242880", "Swift upload chunk size in bytes", func(p *Params) any { return &p.RegistryChunkSize }},

	{TrusteeUserID, KindString, Both, Newton, "", "trustee user id (certificate API auth when set with TRUSTEE_PASSWORD and TRUST_ID)", func(p *Params) any { return &p.TrusteeUserID }},
	{TrusteePassword, KindSecret, Both, Newton, "", "trustee password", func(p *Params) any { return &p.TrusteePassword }},
	{TrustID, KindString, Both, Newton, "", "trust the trustee token is scoped to", func(p *Params) any { return &p.TrustID }},
	{DockerVolumeSize, KindInt, Both, Ocata, "-1", "docker volume size in GB; 0 = no volume (storage step skipped); -1 = not given", func(p *Params) any { return &p.DockerVolumeSize }},
	{DockerStorageDriver, KindString, Both, Newton, "overlay2", "overlay2 (xfs on the volume) or devicemapper (LVM, Mitaka parity)", func(p *Params) any { return &p.DockerStorageDriver }},
	{WaitHandleEndpoint, KindURL, Both, Newton, "", "wait handle signal URL (with WAIT_HANDLE_TOKEN, instead of WAIT_CURL)", func(p *Params) any { return &p.WaitHandleEndpoint }},
	{WaitHandleToken, KindSecret, Both, Newton, "", "wait handle token", func(p *Params) any { return &p.WaitHandleToken }},
	{WaitConditionTimeout, KindInt, Both, Heatstrap, "6000", "seconds Heat waits; heatstrap reports FAILURE before it", func(p *Params) any { return &p.WaitConditionTimeout }},
	{NodeRole, KindRole, Both, Heatstrap, "", "master or minion; inferred when empty", func(p *Params) any { return &p.NodeRole }},
	{DockerStorageDevice, KindString, Both, Heatstrap, "", "block device to use instead of looking DOCKER_VOLUME up in /dev/disk/by-id", func(p *Params) any { return &p.DockerStorageDevice }},
	{DockerStorageWipe, KindBool, Both, Heatstrap, "false", "allow wiping a docker disk that holds a filesystem heatstrap did not make", func(p *Params) any { return &p.DockerStorageWipe }},
}

var byKey = func() map[Key]*KeyInfo {
	m := make(map[Key]*KeyInfo, len(Table))
	for i := range Table {
		m[Table[i].Key] = &Table[i]
	}
	return m
}()

// Lookup returns the table row of a key.
func Lookup(k Key) (KeyInfo, bool) {
	ki, ok := byKey[k]
	if !ok {
		return KeyInfo{}, false
	}
	return *ki, true
}

// Secret reports whether the key holds a credential.
func (k Key) Secret() bool {
	ki, ok := byKey[k]
	return ok && ki.Kind == KindSecret
}

// readAlsoOn are keys a Mitaka template did not write for a role but that
// heatstrap reads there: Newton gave minions AUTH_URL for the trustee token
// make-cert needs.
var readAlsoOn = map[Key]Roles{AuthURL: Minion}

// ReadOn says on which roles heatstrap reads the key (Roles, widened by
// what later releases added); heatstrap's templates write exactly these.
func (ki KeyInfo) ReadOn() Roles { return ki.Roles | readAlsoOn[ki.Key] }

// KeysOf returns the keys Magnum's template for the role writes, in table order.
func KeysOf(r Roles) []Key {
	var keys []Key
	for _, ki := range Table {
		if ki.Roles&r != 0 && ki.Origin == Mitaka {
			keys = append(keys, ki.Key)
		}
	}
	return keys
}
