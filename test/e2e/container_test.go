package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// container is a Debian node booted with systemd-nspawn: real systemd as
// PID 1, real D-Bus, its own network namespace (loopback only), on an
// overlay over the cached rootfs so every test starts from a clean tree.
type container struct {
	t       *testing.T
	name    string
	dir     string // scratch: overlay dirs, bus, console log
	root    string // the merged tree (the container's /)
	nspawn  *exec.Cmd
	leader  int
	cgroups []string
	Boot    time.Duration
}

type containerOpts struct {
	binds []string // extra --bind= values
}

// bootContainer starts a container from rootfs with files installed
// (container path -> host path) before boot.
func bootContainer(t *testing.T, rootfs, name string, files map[string]string, o containerOpts) *container {
	t.Helper()
	dir := t.TempDir()
	c := &container{t: t, name: name, dir: dir, root: filepath.Join(dir, "merged")}
	for _, d := range []string{"upper", "work", "merged", "bus"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", rootfs, filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	if err := syscall.Mount("overlay", c.root, "overlay", 0, opts); err != nil {
		t.Fatalf("overlay mount: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(c.root, syscall.MNT_DETACH) })
	for dst, src := range files {
		c.install(src, dst)
	}

	// nspawn with --keep-unit puts its payload into sub-cgroups of its own
	// cgroup; give it a private one so nothing is left in the host's root.
	for _, h := range []string{"systemd", "unified"} {
		cg := fmt.Sprintf("/sys/fs/cgroup/%s/heatstrap-e2e-%s", h, name)
		if _, err := os.Stat(filepath.Dir(cg)); err == nil && os.MkdirAll(cg, 0o755) == nil {
			c.cgroups = append(c.cgroups, cg)
		}
	}
	args := []string{"--quiet", "-b", "-D", c.root, "-M", name, "--register=no", "--keep-unit",
		"--private-network", "--bind=" + filepath.Join(dir, "bus") + ":/run/dbus"}
	for _, b := range o.binds {
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

func (c *container) install(src, dst string) {
	c.t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		c.t.Fatal(err)
	}
	c.write(dst, data, 0o755)
}

func (c *container) write(dst string, data []byte, mode os.FileMode) {
	c.t.Helper()
	p := filepath.Join(c.root, dst)
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

func (c *container) waitRunning(start time.Time) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c.leader == 0 {
			// bash execs systemd-nspawn; its child is the container's PID 1.
			kids, _ := exec.Command("pgrep", "-P", strconv.Itoa(c.nspawn.Process.Pid)).Output()
			if f := strings.Fields(string(kids)); len(f) > 0 {
				c.leader, _ = strconv.Atoi(f[0])
			}
		}
		if c.leader != 0 {
			out, _ := c.execOut("systemctl", "is-system-running")
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
	log, _ := os.ReadFile(filepath.Join(c.dir, "console.log"))
	c.t.Fatalf("container %s did not boot:\n%s", c.name, log)
}

// exec runs a command inside the container (all its namespaces).
func (c *container) execOut(args ...string) (string, error) {
	cmd := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(c.leader), "-a", "env", "-i",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// run runs a command inside and returns output and exit code.
func (c *container) run(args ...string) (string, int) {
	c.t.Helper()
	out, err := c.execOut(args...)
	if err == nil {
		return out, 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return out, ee.ExitCode()
	}
	c.t.Fatalf("%v: %v", args, err)
	return "", -1
}

// must runs a command inside and fails the test unless it exits 0.
func (c *container) must(args ...string) string {
	c.t.Helper()
	out, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("%v: exit %d\n%s", args, code, out)
	}
	return out
}

// inNetns starts a host program inside the container's network namespace,
// so it is reachable on the container's 127.0.0.1 and nowhere else.
func (c *container) inNetns(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", append([]string{"--net=/proc/" + strconv.Itoa(c.leader) + "/ns/net"}, args...)...)
}

func (c *container) stop() {
	if c.nspawn == nil || c.nspawn.Process == nil {
		return
	}
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
