// Package nspawn boots throwaway Debian nodes for tests: real systemd as
// PID 1 under systemd-nspawn, real D-Bus, a network namespace of their
// own (loopback only), on an overlay over a cached rootfs so every test
// starts from a clean tree. The recipes and timings are in
// ../shared/notes/testbed.md §A.
package nspawn

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/internal/testenv"
)

// Container is one booted node.
type Container struct {
	t       testing.TB
	Name    string
	Dir     string // scratch: overlay dirs, bus, console log
	Root    string // the merged tree (the container's /, as files)
	Leader  int    // the container's PID 1, as the host sees it
	Boot    time.Duration
	nspawn  *exec.Cmd
	cgroups []string
}

// Options for Boot.
type Options struct {
	Binds []string          // extra --bind= values
	Files map[string]string // container path -> host file, installed 0755 before boot
}

var (
	rootfsOnce sync.Once
	rootfsPath string
	rootfsErr  error
)

// Rootfs returns the cached Debian tree (built on first use, about a
// minute; see mkrootfs.sh), after checking the machine can boot it.
func Rootfs(t testing.TB) string {
	t.Helper()
	testenv.NeedRoot(t, "boots systemd-nspawn containers")
	testenv.NeedTools(t, "apt-get install systemd-container debootstrap util-linux",
		"systemd-nspawn", "debootstrap", "nsenter")
	rootfsOnce.Do(func() {
		_, self, _, _ := runtime.Caller(0)
		rootfsPath, rootfsErr = testenv.Fixture(filepath.Join(filepath.Dir(self), "mkrootfs.sh"))
	})
	if rootfsErr != nil {
		t.Fatal(rootfsErr)
	}
	return rootfsPath
}

// Boot starts a container from rootfs and waits until systemd is up.
func Boot(t testing.TB, rootfs, name string, o Options) *Container {
	t.Helper()
	dir := t.TempDir()
	c := &Container{t: t, Name: name, Dir: dir, Root: filepath.Join(dir, "merged")}
	for _, d := range []string{"upper", "work", "merged", "bus"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", rootfs, filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	if err := syscall.Mount("overlay", c.Root, "overlay", 0, opts); err != nil {
		t.Fatalf("overlay mount: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(c.Root, syscall.MNT_DETACH) })
	for dst, src := range o.Files {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(dst, data, 0o755)
	}

	// nspawn with --keep-unit puts its payload into sub-cgroups of its own
	// cgroup; give it a private one so nothing is left in the host's root.
	for _, h := range []string{"systemd", "unified"} {
		cg := fmt.Sprintf("/sys/fs/cgroup/%s/heatstrap-test-%s", h, name)
		if _, err := os.Stat(filepath.Dir(cg)); err == nil && os.MkdirAll(cg, 0o755) == nil {
			c.cgroups = append(c.cgroups, cg)
		}
	}
	// --register=no --keep-unit: there is no systemd on the host to
	// register with; --private-network: dockerd needs CAP_NET_ADMIN and a
	// writable /proc/sys, which nspawn grants only then (testbed §F).
	args := []string{"--quiet", "-b", "-D", c.Root, "-M", name, "--register=no", "--keep-unit",
		"--private-network", "--bind=" + filepath.Join(dir, "bus") + ":/run/dbus"}
	for _, b := range o.Binds {
		args = append(args, "--bind="+b)
	}
	script := "for c in \"$@\"; do echo $$ > $c/cgroup.procs; done; exec systemd-nspawn " + shellJoin(args)
	c.nspawn = exec.Command("bash", append([]string{"-c", script, "nspawn"}, c.cgroups...)...)
	console, err := os.Create(filepath.Join(dir, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.nspawn.Stdout, c.nspawn.Stderr = console, console
	c.nspawn.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	start := time.Now()
	if err := c.nspawn.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	c.waitRunning(start)
	return c
}

// Write puts a file into the container's tree.
func (c *Container) Write(dst string, data []byte, mode os.FileMode) {
	c.t.Helper()
	p := filepath.Join(c.Root, dst)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		c.t.Fatal(err)
	}
}

// Console is what the container printed on its console so far.
func (c *Container) Console() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "console.log"))
	return string(b)
}

// Bus is the container's system bus, reachable from the host.
func (c *Container) Bus() string {
	return "unix:path=" + filepath.Join(c.Dir, "bus", "system_bus_socket")
}

// Live is the container's root as its processes see it (its own /dev
// and /run), reached through its PID 1.
func (c *Container) Live() string { return "/proc/" + strconv.Itoa(c.Leader) + "/root" }

// NetNS is the container's network namespace.
func (c *Container) NetNS() string { return "/proc/" + strconv.Itoa(c.Leader) + "/ns/net" }

func (c *Container) waitRunning(start time.Time) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c.Leader == 0 {
			// bash execs systemd-nspawn; its child is the container's PID 1.
			kids, _ := exec.Command("pgrep", "-P", strconv.Itoa(c.nspawn.Process.Pid)).Output()
			if f := strings.Fields(string(kids)); len(f) > 0 {
				c.Leader, _ = strconv.Atoi(f[0])
			}
		}
		if c.Leader != 0 {
			out, _ := c.Exec("systemctl", "is-system-running")
			if s := strings.TrimSpace(out); s == "running" || s == "degraded" {
				c.Boot = time.Since(start)
				return
			}
		}
		if c.nspawn.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("container %s did not boot:\n%s", c.Name, c.Console())
}

// Exec runs a command inside the container (all its namespaces) and
// returns its combined output.
func (c *Container) Exec(args ...string) (string, error) {
	cmd := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(c.Leader), "-a", "env", "-i",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// Run runs a command inside and returns output and exit code.
func (c *Container) Run(args ...string) (string, int) {
	c.t.Helper()
	out, err := c.Exec(args...)
	if err == nil {
		return out, 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return out, ee.ExitCode()
	}
	c.t.Fatalf("%v: %v", args, err)
	return "", -1
}

// Must runs a command inside and fails the test unless it exits 0.
func (c *Container) Must(args ...string) string {
	c.t.Helper()
	out, code := c.Run(args...)
	if code != 0 {
		c.t.Fatalf("%v: exit %d\n%s", args, code, out)
	}
	return out
}

// InNetns prepares a host program to run inside the container's network
// namespace, so it is reachable on the container's 127.0.0.1 only.
func (c *Container) InNetns(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + c.NetNS()}, args...)...)
}

func (c *Container) stop() {
	if c.nspawn == nil || c.nspawn.Process == nil {
		return
	}
	// nspawn turns SIGTERM into a clean poweroff of the container.
	_ = c.nspawn.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.nspawn.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = c.nspawn.Process.Kill()
		<-done
	}
	for _, cg := range c.cgroups {
		_ = exec.Command("find", cg, "-depth", "-type", "d", "-exec", "rmdir", "{}", "+").Run()
	}
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
