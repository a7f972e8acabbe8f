//go:build vm

// Package vm boots heatstrap the way it really runs: a Debian VM under
// qemu (TCG), cloud-init reading a NoCloud seed whose user-data is what
// `heatstrap userdata` renders from heat-params (the parts the Heat
// templates give a node), an extra virtio disk that appears as the Cinder
// volume, and the Heat emulator on host loopback, reached through qemu's
// user network with restrict=on: the guest can reach nothing else.
//
// Run with `make test-vm` (build tag vm); the image is built once and
// cached (mkimage.sh).
package vm

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/examples"
	"github.com/heatstrap/heatstrap/heat/heattest"
	"github.com/heatstrap/heatstrap/internal/testenv"
)

const (
	// guestHeat is where the guest reaches the emulator (a guestfwd).
	guestHeat = "10.0.2.100:8004"
	// guestIP is what qemu's user network hands the guest by DHCP.
	guestIP      = "10.0.2.15"
	dockerVolume = "5b0c7e3a-1f2d-4c5e-8a9b-0c1d2e3f4a5b"
)

type fixtures struct {
	image, heatstrap, standin string
}

var (
	fixOnce sync.Once
	fix     fixtures
	fixErr  error
)

func need(t *testing.T) fixtures {
	t.Helper()
	testenv.NeedRoot(t, "debootstrap builds the VM image")
	testenv.NeedTools(t, "apt-get install qemu-system-x86 qemu-utils genisoimage socat debootstrap e2fsprogs xfsprogs lvm2",
		"qemu-system-x86_64", "genisoimage", "socat", "debootstrap", "debugfs", "mkfs.xfs", "pvs")
	fixOnce.Do(func() { fix, fixErr = build() })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func build() (fixtures, error) {
	bin, err := testenv.BuildStatic(map[string]string{"heatstrap": "../../cmd/heatstrap", "standin": "../e2e/standin"})
	if err != nil {
		return fixtures{}, err
	}
	_, self, _, _ := runtime.Caller(0)
	image, err := testenv.Fixture(filepath.Join(filepath.Dir(self), "mkimage.sh"))
	return fixtures{image: image, heatstrap: bin["heatstrap"], standin: bin["standin"]}, err
}

// vm is one boot of the image with its own disk copy, seed, docker disk
// and wait condition.
type vm struct {
	t       *testing.T
	dir     string
	wc      *heattest.WaitCondition
	vdb     string // the docker disk's image file
	console string
	qemu    *exec.Cmd
	exited  chan struct{}
	started time.Time
}

type vmOpts struct {
	name string
	set  map[string]string              // heat-params overrides
	disk func(t *testing.T, img string) // prepares the docker disk
}

func boot(t *testing.T, o vmOpts) *vm {
	t.Helper()
	f := need(t)
	v := &vm{t: t, dir: t.TempDir(), exited: make(chan struct{})}
	v.console = filepath.Join(v.dir, "console.log")
	v.vdb = filepath.Join(v.dir, "vdb.img")

	port := v.startHeat()
	params := v.writeParams(o.set)
	v.seed(f, params, o.name)
	v.rootDisk(f)
	if err := os.WriteFile(v.vdb, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(v.vdb, 1<<30); err != nil {
		t.Fatal(err)
	}
	if o.disk != nil {
		o.disk(t, v.vdb)
	}
	v.start(f, port)
	return v
}

// startHeat serves the emulator on host loopback; the URLs it hands out
// name the guest's side of the guestfwd (Heat ignores the Host header).
func (v *vm) startHeat() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		v.t.Fatal(err)
	}
	h := heattest.New(heattest.Options{PublicURL: "http://" + guestHeat, Logf: v.t.Logf})
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	v.t.Cleanup(func() { srv.Close(); h.Close() })
	v.wc = h.CreateWaitCondition(heattest.WaitConditionSpec{
		StackName: "k8s-vm-kube_masters-abc-0-def", HandleName: "master_wait_handle",
		WCName: "master_wait_condition", Timeout: 20 * time.Minute,
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// writeParams is the example master with what this VM offers: its DHCP
// address, no TLS (no Magnum), a one-member etcd and the emulator's handle.
func (v *vm) writeParams(set map[string]string) string {
	text, err := examples.FS.ReadFile("master.heat-params")
	if err != nil {
		v.t.Fatal(err)
	}
	entries, _, err := config.ReadHeatParams("master.heat-params", text)
	if err != nil {
		v.t.Fatal(err)
	}
	over := map[string]string{
		"KUBE_NODE_IP": guestIP, "TLS_DISABLED": "True", "KUBE_API_PORT": "8080",
		"ETCD_DISCOVERY_URL": "", "DOCKER_VOLUME": dockerVolume, "WAIT_CURL": v.wc.CurlCLI(),
		"WAIT_CONDITION_TIMEOUT": "1200",
	}
	for k, val := range set {
		over[k] = val
	}
	for i, e := range entries {
		if val, ok := over[e.Key]; ok {
			entries[i].Value = val
			delete(over, e.Key)
		}
	}
	for k, val := range over {
		entries = append(entries, config.Entry{Key: k, Value: val})
	}
	p := filepath.Join(v.dir, "heat-params")
	if err := os.WriteFile(p, config.RenderHeatParams(entries), 0o600); err != nil {
		v.t.Fatal(err)
	}
	return p
}

// seed is the NoCloud ISO: user-data exactly as `heatstrap userdata`
// renders it, as the Heat templates would.
func (v *vm) seed(f fixtures, params, name string) {
	ud, err := exec.Command(f.heatstrap, "userdata", "--params", params).Output()
	if err != nil {
		v.t.Fatalf("heatstrap userdata: %v", err)
	}
	dir := filepath.Join(v.dir, "seed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		v.t.Fatal(err)
	}
	meta := fmt.Sprintf("instance-id: iid-heatstrap-%s\nlocal-hostname: %s\n", name, name)
	for file, data := range map[string][]byte{"user-data": ud, "meta-data": []byte(meta)} {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			v.t.Fatal(err)
		}
	}
	if out, err := exec.Command("genisoimage", "-quiet", "-output", filepath.Join(v.dir, "seed.iso"),
		"-volid", "cidata", "-joliet", "-rock", filepath.Join(dir, "user-data"), filepath.Join(dir, "meta-data")).CombinedOutput(); err != nil {
		v.t.Fatalf("genisoimage: %v\n%s", err, out)
	}
}

// rootDisk copies the cached image and puts this build's heatstrap (and
// the daemons' stand-ins) into it, as an image pipeline would.
func (v *vm) rootDisk(f fixtures) {
	img := filepath.Join(v.dir, "root.img")
	if out, err := exec.Command("cp", "--sparse=always", filepath.Join(f.image, "disk.img"), img).CombinedOutput(); err != nil {
		v.t.Fatalf("copy image: %v\n%s", err, out)
	}
	// debugfs takes no '/' in a write's target and exits 0 on errors:
	// cd first, check afterwards (testbed §G).
	script := "cd /usr/bin\nwrite " + f.heatstrap + " heatstrap\n"
	for _, d := range []string{"kube-apiserver", "kubelet", "flanneld"} {
		script += "write " + f.standin + " " + d + "\n"
	}
	cmd := exec.Command("debugfs", "-w", "-f", "-", img)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		v.t.Fatalf("debugfs: %v\n%s", err, out)
	}
	out, _ := exec.Command("debugfs", "-R", "stat /usr/bin/heatstrap", img).CombinedOutput()
	if !strings.Contains(string(out), "Mode:  0755") {
		v.t.Fatalf("heatstrap not in the image:\n%s", out)
	}
}

func (v *vm) start(f fixtures, heatPort int) {
	args := []string{
		"-accel", "tcg,thread=multi", "-m", "2048", "-smp", "2", "-nographic", "-nodefaults", "-no-reboot",
		"-serial", "file:" + v.console,
		"-monitor", "unix:" + filepath.Join(v.dir, "monitor.sock") + ",server,nowait",
		"-kernel", filepath.Join(f.image, "vmlinuz"), "-initrd", filepath.Join(f.image, "initrd.img"),
		"-append", "root=/dev/vda rw console=ttyS0 quiet",
		// PCI slots fix the order the guest names the disks in: vda the
		// root, vdb the docker volume (as on OpenStack), vdc the seed.
		"-drive", "if=none,id=vda,format=raw,file=" + filepath.Join(v.dir, "root.img"),
		"-device", "virtio-blk-pci,drive=vda,addr=0x4",
		// Nova gives a Cinder volume's id, cut to 20 characters, as the
		// virtio serial: udev makes /dev/disk/by-id/virtio-<serial>.
		"-drive", "if=none,id=vdb,format=raw,file=" + v.vdb,
		"-device", "virtio-blk-pci,drive=vdb,addr=0x5,serial=" + dockerVolume[:20],
		"-drive", "if=none,id=vdc,format=raw,readonly=on,file=" + filepath.Join(v.dir, "seed.iso"),
		"-device", "virtio-blk-pci,drive=vdc,addr=0x6",
		// restrict=on: the guest reaches only the guestfwd, the emulator.
		"-netdev", fmt.Sprintf("user,id=n0,restrict=on,guestfwd=tcp:%s-cmd:socat STDIO TCP:127.0.0.1:%d", guestHeat, heatPort),
		"-device", "virtio-net-pci,netdev=n0,addr=0x3,romfile=",
	}
	v.qemu = exec.Command("qemu-system-x86_64", args...)
	log, err := os.Create(filepath.Join(v.dir, "qemu.log"))
	if err != nil {
		v.t.Fatal(err)
	}
	v.qemu.Stdout, v.qemu.Stderr = log, log
	v.started = time.Now()
	if err := v.qemu.Start(); err != nil {
		v.t.Fatal(err)
	}
	go func() { _ = v.qemu.Wait(); close(v.exited) }()
	v.t.Cleanup(func() {
		_ = v.qemu.Process.Kill()
		<-v.exited
		if v.t.Failed() {
			v.t.Logf("console (last 60 lines):\n%s", tail(v.consoleText(), 60))
		}
	})
}

// waitWC waits for the wait condition to leave IN_PROGRESS.
func (v *vm) waitWC(d time.Duration) (string, time.Duration) {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	go func() {
		select {
		case <-v.exited: // a dead VM never signals
			cancel()
		case <-ctx.Done():
		}
	}()
	st, err := v.wc.WaitFor(ctx)
	if err != nil {
		v.t.Fatalf("wait condition still %s after %s (VM exited: %v)", st, time.Since(v.started).Round(time.Second), v.qemu.ProcessState != nil)
	}
	return st, time.Since(v.started)
}

// powerOff asks the guest to shut down (ACPI), so its disks are clean
// for the host to read.
func (v *vm) powerOff() {
	v.t.Helper()
	if err := v.monitor("system_powerdown"); err != nil {
		v.t.Logf("qemu monitor: %v", err)
	}
	select {
	case <-v.exited:
	case <-time.After(90 * time.Second):
		v.t.Log("the guest did not power off within 90 s; killing qemu")
		_ = v.qemu.Process.Kill()
		<-v.exited
	}
}

// monitor sends one command to qemu's human monitor and waits for it to
// be taken (the next prompt): a connection closed early drops it.
func (v *vm) monitor(cmd string) error {
	c, err := net.DialTimeout("unix", filepath.Join(v.dir, "monitor.sock"), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	prompt := func() error {
		var seen strings.Builder
		for !strings.HasSuffix(seen.String(), "(qemu) ") {
			b, err := r.ReadByte()
			if err != nil {
				return fmt.Errorf("%w after %q", err, seen.String())
			}
			seen.WriteByte(b)
		}
		return nil
	}
	if err := prompt(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(c, "%s\n", cmd); err != nil {
		return err
	}
	return prompt()
}

func (v *vm) consoleText() string {
	b, _ := os.ReadFile(v.console)
	return string(b)
}

// consoleLines are the console's lines containing s.
func (v *vm) consoleLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(v.consoleText()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			out = append(out, sc.Text())
		}
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
