package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/examples"
	"github.com/heatstrap/heatstrap/heat/heattest"
	"github.com/heatstrap/heatstrap/internal/nspawn"
	"github.com/heatstrap/heatstrap/ledger"
)

// Node addresses: a node's private IP sits on a veth inside the
// container's own network namespace, whose peer is in the same namespace
// (one node) or in the other node's (a master and a minion): nothing
// leaves the namespaces the test made.
const (
	nodeIP   = "10.0.0.4" // the master
	minionIP = "10.0.0.5"
	heatAddr = "127.0.0.1:8004"
	// dockerVolume is the Cinder id of the docker disk; Nova hands its
	// first 20 characters to the guest as the virtio serial.
	dockerVolume = "8a3b6f2e-4c1d-4e5f-9a7b-2c3d4e5f6a7b"
)

// node is a booted master or minion with its docker disk (a loop device
// seen as /dev/vdb) and its Heat wait condition, served by the emulator on
// the container's loopback.
type node struct {
	*nspawn.Container
	t      *testing.T
	role   string
	wc     *heattest.WaitCondition
	heat   *heattest.Server
	loop   string // host loop device behind /dev/vdb
	params map[string]string
}

// roleParams are the example's heat-params with what this container can
// offer: no TLS (TestMasterBootstrapTLS adds Magnum), the insecure
// apiserver port, a one-member etcd, and the Heat emulator's handle.
func roleParams(role string, wc *heattest.WaitCondition) map[string]string {
	p := map[string]string{
		"TLS_DISABLED":           "True",
		"KUBE_API_PORT":          "8080",
		"DOCKER_VOLUME":          dockerVolume,
		"WAIT_CURL":              wc.CurlCLI(),
		"WAIT_CONDITION_TIMEOUT": "900",
	}
	switch role {
	case "master":
		p["KUBE_NODE_IP"], p["ETCD_DISCOVERY_URL"] = nodeIP, ""
	case "minion":
		p["KUBE_NODE_IP"], p["KUBE_MASTER_IP"], p["ETCD_SERVER_IP"] = minionIP, nodeIP, nodeIP
	}
	return p
}

type nodeOpts struct {
	role   string            // "master" (default) or "minion"
	set    map[string]string // heat-params overrides
	noDisk bool              // leave /dev/disk/by-id without the volume's link
	noNet  bool              // no node IP yet: link() gives it one
}

func bootNode(t *testing.T, name string, o nodeOpts) *node {
	t.Helper()
	f := need(t)
	if o.role == "" {
		o.role = "master"
	}
	loop := attachLoop(t, 1<<30)
	files := map[string]string{"/usr/bin/heatstrap": f.heatstrap}
	for _, daemon := range []string{"kube-apiserver", "kubelet", "flanneld"} {
		files["/usr/bin/"+daemon] = f.standin
	}
	c := nspawn.Boot(t, f.rootfs, name, nspawn.Options{Files: files, Binds: []string{
		loop + ":/dev/vdb",
		// mount(8) resolves What=UUID=… by scanning /proc/partitions,
		// which names the loop device: let it find that name too.
		loop + ":" + loop,
	}})
	n := &node{Container: c, t: t, role: o.role, loop: loop}
	if !o.noNet {
		n.selfLink()
	}
	n.startHeat(t)
	n.params = roleParams(o.role, n.wc)
	for k, v := range o.set {
		n.params[k] = v
	}
	n.writeParams()
	if !o.noDisk {
		n.plugDisk()
	}
	return n
}

func attachLoop(t *testing.T, size int64) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "vdb.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", img).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	return dev
}

// selfLink gives a lone node its IP on a veth whose peer stays in the
// same namespace.
func (n *node) selfLink() {
	n.t.Helper()
	ip(n.t, n.NetNS(), "link", "add", "node0", "type", "veth", "peer", "name", "node0-peer")
	ip(n.t, n.NetNS(), "link", "set", "node0-peer", "up")
	n.up("node0", n.params0IP())
}

// link wires two nodes with a veth between their namespaces.
func link(a, b *node) {
	a.t.Helper()
	ip(a.t, a.NetNS(), "link", "add", "node0", "type", "veth", "peer", "name", "node0-b", "netns", strconv.Itoa(b.Leader))
	ip(a.t, b.NetNS(), "link", "set", "node0-b", "name", "node0")
	a.up("node0", a.params0IP())
	b.up("node0", b.params0IP())
}

func (n *node) up(dev, addr string) {
	ip(n.t, n.NetNS(), "addr", "add", addr+"/24", "dev", dev)
	ip(n.t, n.NetNS(), "link", "set", dev, "up")
}

// params0IP is the node's address by role (known before its params are).
func (n *node) params0IP() string {
	if n.role == "minion" {
		return minionIP
	}
	return nodeIP
}

func ip(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("nsenter", append([]string{"--net=" + ns, "ip"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v in %s: %v: %s", args, ns, err, out)
	}
}

// startHeat serves the emulator from the test process on the container's
// 127.0.0.1:8004, so the agent's signals are checked by the same code the
// heat package's tests use, and the test reads the wait condition directly.
func (n *node) startHeat(t *testing.T) {
	ln, err := n.Listen(heatAddr)
	if err != nil {
		t.Fatal(err)
	}
	n.heat = heattest.New(heattest.Options{PublicURL: "http://" + heatAddr, Logf: t.Logf})
	srv := &http.Server{Handler: n.heat.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); n.heat.Close() })
	n.wc = n.heat.CreateWaitCondition(heattest.WaitConditionSpec{
		StackName: "k8s-e2e-kube_" + n.role + "s-abc-0-def", HandleName: n.role + "_wait_handle",
		WCName: n.role + "_wait_condition", Timeout: 15 * time.Minute,
	})
}

// writeParams puts heat-params where cloud-init would, 0644 as a careless
// image leaves it: write-heat-params must make it 0600.
func (n *node) writeParams() {
	n.t.Helper()
	text, err := examples.FS.ReadFile(n.role + ".heat-params")
	if err != nil {
		n.t.Fatal(err)
	}
	entries, _, err := config.ReadHeatParams(n.role+".heat-params", text)
	if err != nil {
		n.t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, e := range entries {
		if v, ok := n.params[e.Key]; ok {
			entries[i].Value = v
			seen[e.Key] = true
		}
	}
	for k, v := range n.params {
		if !seen[k] {
			entries = append(entries, config.Entry{Key: k, Value: v})
		}
	}
	n.Write("/etc/sysconfig/heat-params", config.RenderHeatParams(entries), 0o644)
}

// plugDisk plays udev's part for the docker disk, which nspawn cannot
// run: the by-id link a virtio disk with the volume's serial gets.
func (n *node) plugDisk() {
	n.t.Helper()
	dir := filepath.Join(n.Live(), "dev/disk/by-id")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		n.t.Fatal(err)
	}
	if err := os.Symlink("../../vdb", filepath.Join(dir, "virtio-"+dockerVolume[:20])); err != nil {
		n.t.Fatal(err)
	}
}

// agent runs heatstrap inside the container and returns its output and
// exit code.
func (n *node) agent(args ...string) (string, int) {
	n.t.Helper()
	return n.Run(append([]string{"heatstrap"}, args...)...)
}

// waitWC waits for the wait condition to leave IN_PROGRESS.
func (n *node) waitWC(d time.Duration) string {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	st, err := n.wc.WaitFor(ctx)
	if err != nil {
		out, _ := n.Exec("journalctl", "-u", "heatstrap", "--no-pager", "-n", "60")
		n.t.Fatalf("wait condition still %s after %s: %v\n%s", st, d, err, out)
	}
	return st
}

// ledger reads the agent's status file from the container.
func (n *node) ledger() *ledger.Ledger {
	n.t.Helper()
	l, err := readLedger(n.Root)
	if err != nil {
		n.t.Fatal(err)
	}
	return l
}

func readLedger(root string) (*ledger.Ledger, error) {
	b, err := os.ReadFile(filepath.Join(root, "var/lib/heatstrap/status.json"))
	if err != nil {
		return nil, err
	}
	var l ledger.Ledger
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// unitFacts is what tells a restart (InvocationID) and a state change.
func (n *node) unitFacts(units []string) map[string]string {
	n.t.Helper()
	out := map[string]string{}
	for _, u := range units {
		out[u] = strings.TrimSpace(n.Must("systemctl", "show", u, "-p", "ActiveState", "-p", "InvocationID", "--value"))
	}
	return out
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errNoEntry = errors.New("no signal entry")

// entry is the one signal the agent's stable id left on the handle.
func (n *node) entry() (heattest.Entry, error) {
	md := n.wc.Metadata()
	if len(md) != 1 {
		return heattest.Entry{}, errNoEntry
	}
	for _, e := range md {
		return e, nil
	}
	return heattest.Entry{}, errNoEntry
}
