package helper

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strconv"

	"github.com/heatstrap/heatstrap/hostfs"
)

// Defaults of DockerBridgeOptions: flanneld writes the first, docker's
// drop-in flannel.conf reads the second as an EnvironmentFile.
const (
	DefaultSubnetEnv  = "/run/flannel/subnet.env"
	DefaultDockerOpts = "/run/flannel/docker"
)

// DockerBridgeOptions configure FlannelDockerBridge.
type DockerBridgeOptions struct {
	Files     *hostfs.FS
	SubnetEnv string // default /run/flannel/subnet.env
	Out       string // default /run/flannel/docker
}

// FlannelDockerBridge reads FLANNEL_SUBNET and FLANNEL_MTU from subnet.env
// and writes DOCKER_NETWORK_OPTIONS="--bip=<subnet> --mtu=<mtu>" to
// /run/flannel/docker (0644, atomic, untouched when already right) for
// docker's drop-in (spec M13).
//
// Mitaka's generated script checked the variables with `! [ -n A ] && [ B ]`,
// which never caught a missing subnet (§9.8), so docker started on its
// default bridge and the node was silently off the overlay. Here a missing
// or malformed value stops the unit, which keeps docker (Requires= on this
// unit) from starting on the wrong network.
func FlannelDockerBridge(ctx context.Context, o DockerBridgeOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if o.Files == nil {
		o.Files = hostfs.New("/")
	}
	if o.SubnetEnv == "" {
		o.SubnetEnv = DefaultSubnetEnv
	}
	if o.Out == "" {
		o.Out = DefaultDockerOpts
	}
	src := o.Files.Display(o.SubnetEnv)
	vars, err := readEnvFile(o.Files, o.SubnetEnv)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("flannel-docker-bridge: %w; flanneld writes it once it holds a subnet lease: check `systemctl status flanneld` and that the flannel config is in etcd", err)
	} else if err != nil {
		return fmt.Errorf("flannel-docker-bridge: %w", err)
	}
	subnet, err := bridgeSubnet(vars, src)
	if err != nil {
		return fmt.Errorf("flannel-docker-bridge: %w", err)
	}
	mtu, err := bridgeMTU(vars, src)
	if err != nil {
		return fmt.Errorf("flannel-docker-bridge: %w", err)
	}
	line := fmt.Sprintf("DOCKER_NETWORK_OPTIONS=\"--bip=%s --mtu=%d\"\n", subnet, mtu)
	if _, err := o.Files.WriteFile(hostfs.File{Path: o.Out, Data: []byte(line), Mode: 0o644}); err != nil {
		return fmt.Errorf("flannel-docker-bridge: %w", err)
	}
	return nil
}

// bridgeSubnet is FLANNEL_SUBNET: the bridge's own address with the
// subnet's prefix (10.100.63.1/24 – host bits set is the point: it becomes
// docker's --bip). /31 and /32 leave no address for a container.
func bridgeSubnet(vars map[string]string, src string) (netip.Prefix, error) {
	v, ok := vars["FLANNEL_SUBNET"]
	if !ok || v == "" {
		return netip.Prefix{}, fmt.Errorf("FLANNEL_SUBNET is missing or empty in %s; flanneld writes it – check `journalctl -u flanneld`", src)
	}
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is4() || p.Bits() < 1 || p.Bits() > 30 {
		return netip.Prefix{}, fmt.Errorf("FLANNEL_SUBNET=%q in %s is not an IPv4 address/prefix like 10.100.63.1/24 (prefix 1..30)", v, src)
	}
	return p, nil
}

// bridgeMTU is FLANNEL_MTU: 68 is IPv4's minimum MTU, 65535 the largest an
// IP packet can be.
func bridgeMTU(vars map[string]string, src string) (int, error) {
	v, ok := vars["FLANNEL_MTU"]
	if !ok || v == "" {
		return 0, fmt.Errorf("FLANNEL_MTU is missing or empty in %s; flanneld writes it – check `journalctl -u flanneld`", src)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < 68 || n > 65535 {
		return 0, fmt.Errorf("FLANNEL_MTU=%q in %s is not an integer between 68 and 65535", v, src)
	}
	return int(n), nil
}
