package helper

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const subnetEnv = `FLANNEL_NETWORK=10.100.0.0/16
FLANNEL_SUBNET=10.100.63.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=false
`

func TestFlannelDockerBridge(t *testing.T) {
	t.Parallel()
	files, root := newRoot(t)
	put(t, root, DefaultSubnetEnv, subnetEnv)
	if err := FlannelDockerBridge(context.Background(), DockerBridgeOptions{Files: files}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, DefaultDockerOpts)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := "DOCKER_NETWORK_OPTIONS=\"--bip=10.100.63.1/24 --mtu=1450\"\n"; string(data) != want {
		t.Errorf("got %q\nwant %q", data, want)
	}
	st1, _ := os.Stat(out)
	if st1.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st1.Mode().Perm())
	}

	// A rerun (every boot, every docker restart) leaves the file alone.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(out, old, old); err != nil {
		t.Fatal(err)
	}
	if err := FlannelDockerBridge(context.Background(), DockerBridgeOptions{Files: files}); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(out)
	if !st2.ModTime().Equal(old) {
		t.Errorf("rerun rewrote the file: mtime %v, want %v", st2.ModTime(), old)
	}

	// A new lease (other subnet) is written.
	put(t, root, DefaultSubnetEnv, "FLANNEL_SUBNET=\"10.100.7.1/24\"\nFLANNEL_MTU='8951'\n")
	if err := FlannelDockerBridge(context.Background(), DockerBridgeOptions{Files: files}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(out); string(data) != "DOCKER_NETWORK_OPTIONS=\"--bip=10.100.7.1/24 --mtu=8951\"\n" {
		t.Errorf("after new lease: %q", data)
	}
}

func TestFlannelDockerBridgeErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, env string // env "-" = file absent
		want      []string
	}{
		{"no file", "-", []string{"/run/flannel/subnet.env does not exist", "systemctl status flanneld"}},
		{"no subnet", "FLANNEL_MTU=1450\n", []string{"FLANNEL_SUBNET is missing or empty in ", "/run/flannel/subnet.env"}},
		{"empty subnet", "FLANNEL_SUBNET=\nFLANNEL_MTU=1450\n", []string{"FLANNEL_SUBNET is missing or empty"}},
		{"no mtu", "FLANNEL_SUBNET=10.100.63.1/24\n", []string{"FLANNEL_MTU is missing or empty in ", "/run/flannel/subnet.env"}},
		{"subnet no prefix", "FLANNEL_SUBNET=10.100.63.1\nFLANNEL_MTU=1450\n", []string{`FLANNEL_SUBNET="10.100.63.1" in `, "not an IPv4 address/prefix"}},
		{"subnet ipv6", "FLANNEL_SUBNET=fd00::1/64\nFLANNEL_MTU=1450\n", []string{"FLANNEL_SUBNET=\"fd00::1/64\""}},
		{"subnet /32", "FLANNEL_SUBNET=10.1.1.1/32\nFLANNEL_MTU=1450\n", []string{"prefix 1..30"}},
		{"subnet garbage", "FLANNEL_SUBNET=banana\nFLANNEL_MTU=1450\n", []string{`FLANNEL_SUBNET="banana"`}},
		{"mtu text", "FLANNEL_SUBNET=10.100.63.1/24\nFLANNEL_MTU=big\n", []string{`FLANNEL_MTU="big" in `, "between 68 and 65535"}},
		{"mtu small", "FLANNEL_SUBNET=10.100.63.1/24\nFLANNEL_MTU=67\n", []string{`FLANNEL_MTU="67"`}},
		{"mtu large", "FLANNEL_SUBNET=10.100.63.1/24\nFLANNEL_MTU=65536\n", []string{`FLANNEL_MTU="65536"`}},
		{"mtu signed", "FLANNEL_SUBNET=10.100.63.1/24\nFLANNEL_MTU=+1450\n", []string{`FLANNEL_MTU="+1450"`}},
		{"malformed line", "FLANNEL_SUBNET 10.100.63.1/24\n", []string{"subnet.env: line 1: want KEY=value"}},
		{"bad quote", "FLANNEL_SUBNET=\"10.100.63.1/24\nFLANNEL_MTU=1450\n", []string{"line 1 (FLANNEL_SUBNET): unterminated double quote"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			files, root := newRoot(t)
			if c.env != "-" {
				put(t, root, DefaultSubnetEnv, c.env)
			}
			mustContain(t, FlannelDockerBridge(context.Background(), DockerBridgeOptions{Files: files}), c.want...)
			if _, err := os.Stat(filepath.Join(root, DefaultDockerOpts)); err == nil {
				t.Error("/run/flannel/docker written despite the error")
			}
		})
	}
}
