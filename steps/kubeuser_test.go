package steps

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"sigs.k8s.io/yaml"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/hostfs"
)

// This file also holds the helpers shared by the tests of disable-selinux,
// kube-user, write-kube-os-config, kube-examples, write-kubeconfig,
// enable-kube-podmaster and enable-kube-proxy.

// runOpts changes how runLogged runs a step.
type runOpts struct {
	full     bool // every heat-param, not only the step's Reads
	settings func(*config.Settings)
	live     bool
	exec     command.Runner
}

// runLogged runs a step like n.run and returns what it changed.
func (n *testNode) runLogged(s Step, o runOpts) (skipped string, changed []string, err error) {
	n.t.Helper()
	e := n.env(s)
	files, log := n.files.Recording()
	e.Files, e.Units = files, n.backend.For(files, s.Name)
	if o.full {
		e.Params = n.params
	}
	if o.settings != nil {
		o.settings(&e.Settings)
	}
	e.Live = o.live
	if o.exec != nil {
		e.Exec = o.exec
	}
	if s.When != nil {
		if why := s.When(e); why != "" {
			return why, log.Paths(), nil
		}
	}
	err = s.Run(context.Background(), e)
	return "", log.Paths(), err
}

// mustRun runs steps in order and fails the test on any error or skip.
func (n *testNode) mustRun(o runOpts, steps ...Step) []string {
	n.t.Helper()
	var all []string
	for _, s := range steps {
		skipped, changed, err := n.runLogged(s, o)
		if err != nil || skipped != "" {
			n.t.Fatalf("%s: err=%v skipped=%q", s.Name, err, skipped)
		}
		all = append(all, changed...)
	}
	return all
}

// hostPath is the temp-root path of a target path.
func (n *testNode) hostPath(p string) string {
	n.t.Helper()
	hp, err := n.files.Path(p)
	if err != nil {
		n.t.Fatal(err)
	}
	return hp
}

// write seeds a file of the target (test setup, not through a step).
func (n *testNode) write(p, content string, mode fs.FileMode) {
	n.t.Helper()
	hp := n.hostPath(p)
	if err := os.MkdirAll(filepath.Dir(hp), 0o755); err != nil {
		n.t.Fatal(err)
	}
	if err := os.WriteFile(hp, []byte(content), mode); err != nil {
		n.t.Fatal(err)
	}
	if err := os.Chmod(hp, mode); err != nil {
		n.t.Fatal(err)
	}
}

// meta returns "mode user:group" of a path, names from the root's databases.
func (n *testNode) meta(p string) string {
	n.t.Helper()
	st, err := os.Lstat(n.hostPath(p))
	if err != nil {
		n.t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	u, g := n.files.Names(int(sys.Uid), int(sys.Gid))
	return fmt.Sprintf("%04o %s:%s", st.Mode().Perm(), u, g)
}

// checkMeta asserts a path's mode and owner and returns its content.
func (n *testNode) checkMeta(p, want string) string {
	n.t.Helper()
	if got := n.meta(p); got != want {
		n.t.Errorf("%s: got %s, want %s", p, got, want)
	}
	b, _ := os.ReadFile(n.hostPath(p))
	return string(b)
}

// assertQuietRerun runs s again and checks it changed nothing: an empty
// change log and the same inode and mtime for every path given.
func (n *testNode) assertQuietRerun(s Step, o runOpts, paths ...string) {
	n.t.Helper()
	type id struct {
		ino   uint64
		mtime time.Time
	}
	before := map[string]id{}
	for _, p := range paths {
		st, err := os.Lstat(n.hostPath(p))
		if err != nil {
			n.t.Fatal(err)
		}
		before[p] = id{st.Sys().(*syscall.Stat_t).Ino, st.ModTime()}
	}
	_, changed, err := n.runLogged(s, o)
	if err != nil {
		n.t.Fatalf("%s rerun: %v", s.Name, err)
	}
	if len(changed) > 0 {
		n.t.Errorf("%s rerun changed %v", s.Name, changed)
	}
	for _, p := range paths {
		st, _ := os.Lstat(n.hostPath(p))
		if got := (id{st.Sys().(*syscall.Stat_t).Ino, st.ModTime()}); got != before[p] {
			n.t.Errorf("%s rerun touched %s: %v -> %v", s.Name, p, before[p], got)
		}
	}
}

// decodeStrict decodes YAML, refusing fields the target type lacks.
func decodeStrict(t *testing.T, what, text string, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(text), into); err != nil {
		t.Fatalf("%s does not decode strictly: %v\n%s", what, err, text)
	}
}

// tree describes every entry below root: type, mode, owner and content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		sys := st.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", st.Mode(), sys.Uid, sys.Gid)
		switch {
		case st.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %x", sha256.Sum256(b))
		case st.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkReadsOnlyDeclared runs s once with Params masked to its Reads (as
// the runner does) and once with every param, in two fresh roots prepared
// by the same prerequisite steps; the trees must be identical.
func checkReadsOnlyDeclared(t *testing.T, role config.Role, set map[string]string, s Step, prereqs ...Step) {
	t.Helper()
	var trees []map[string]string
	for _, full := range []bool{false, true} {
		copied := map[string]string{}
		for k, v := range set {
			copied[k] = v
		}
		n := newTestNode(t, role, copied)
		n.mustRun(runOpts{full: true}, prereqs...)
		if _, _, err := n.runLogged(s, runOpts{full: full}); err != nil {
			t.Fatalf("%s (full=%v): %v", s.Name, full, err)
		}
		trees = append(trees, tree(t, n.root))
	}
	masked, full := trees[0], trees[1]
	for p, d := range full {
		if masked[p] != d {
			t.Errorf("%s reads undeclared params: %s is %q with all params, %q with its Reads", s.Name, p, d, masked[p])
		}
	}
	for p := range masked {
		if _, ok := full[p]; !ok {
			t.Errorf("%s: %s exists only with masked params", s.Name, p)
		}
	}
}

// fakeExec records commands instead of running them.
type fakeExec struct {
	mu   sync.Mutex
	cmds []string
}

func (f *fakeExec) Run(_ context.Context, c command.Cmd) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, c.String())
	return nil, nil
}

// kube-user

var testDays = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC).Unix() / 86400

func TestKubeUserAllocatesLikeUseraddSystem(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, nil)
	// A Debian-like shadow: 0640; the step must keep that mode.
	if err := os.Chmod(n.hostPath("/etc/shadow"), 0o640); err != nil {
		t.Fatal(err)
	}
	old := map[string]string{}
	for _, p := range []string{"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"} {
		old[p] = n.read(p)
	}
	changed := n.mustRun(runOpts{}, kubeUser)
	want := map[string]string{
		"/etc/passwd":  "kube:x:999:999:Kubernetes user:/:/sbin/nologin\n",
		"/etc/group":   "kube:x:999:\n",
		"/etc/shadow":  fmt.Sprintf("kube:!:%d::::::\n", testDays),
		"/etc/gshadow": "kube:!::\n",
	}
	for p, line := range want {
		mode := "0644 root:root"
		if p == "/etc/shadow" {
			mode = "0640 root:root"
		}
		if got := n.checkMeta(p, mode); got != old[p]+line {
			t.Errorf("%s:\n%s\nwant the old content plus %q", p, got, line)
		}
	}
	if u, g := n.files.Names(999, 999); u != "kube" || g != "kube" {
		t.Errorf("999/999 resolve to %s/%s", u, g)
	}
	if len(changed) != 4 {
		t.Errorf("changed %v, want the four databases", changed)
	}
	n.assertQuietRerun(kubeUser, runOpts{}, "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow")
}

func TestKubeUserAllocation(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		passwdAdd, groupAdd   string
		wantPasswd, wantGroup string
	}{
		{"999 taken as a gid", "", "foo:x:999:\n", "kube:x:998:998:", "kube:x:998:"},
		{"999 taken as a uid", "bar:x:999:999::/:/sbin/nologin\n", "", "kube:x:998:998:", "kube:x:998:"},
		{"group exists", "", "kube:x:300:\n", "kube:x:300:300:", ""},
		{"group exists, its number taken as uid", "baz:x:300:1::/:/bin/sh\n", "kube:x:300:\n", "kube:x:999:300:", ""},
		{"user exists without group", "kube:x:500:500::/:/bin/sh\n", "", "", "kube:x:500:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNode(t, config.RoleMaster, nil)
			n.write("/etc/passwd", n.read("/etc/passwd")+tc.passwdAdd, 0o644)
			n.write("/etc/group", n.read("/etc/group")+tc.groupAdd, 0o644)
			oldPasswd, oldGroup := n.read("/etc/passwd"), n.read("/etc/group")
			n.mustRun(runOpts{}, kubeUser)
			checkAdded(t, "passwd", oldPasswd, n.read("/etc/passwd"), tc.wantPasswd)
			checkAdded(t, "group", oldGroup, n.read("/etc/group"), tc.wantGroup)
			n.assertQuietRerun(kubeUser, runOpts{}, "/etc/passwd", "/etc/group")
		})
	}
}

// checkAdded asserts that now is old plus one line starting with prefix
// (or unchanged when prefix is "").
func checkAdded(t *testing.T, what, old, now, prefix string) {
	t.Helper()
	added, ok := strings.CutPrefix(now, old)
	switch {
	case !ok:
		t.Errorf("%s: existing lines changed:\n%s", what, now)
	case prefix == "" && added != "":
		t.Errorf("%s: added %q, want nothing", what, added)
	case prefix != "" && (!strings.HasPrefix(added, prefix) || strings.Count(added, "\n") != 1):
		t.Errorf("%s: added %q, want one line starting %q", what, added, prefix)
	}
}

func TestKubeUserExistingUserUntouched(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, nil)
	n.write("/etc/passwd", n.read("/etc/passwd")+"kube:x:996:996:other:/var/lib/kube:/bin/sh", 0o644) // no final newline
	n.write("/etc/group", n.read("/etc/group")+"kube:x:996:\n", 0o644)
	before := tree(t, n.root)
	_, changed, err := n.runLogged(kubeUser, runOpts{})
	if err != nil || len(changed) > 0 {
		t.Fatalf("err=%v changed=%v", err, changed)
	}
	if after := tree(t, n.root); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("tree changed (a lock file?)")
	}
}

func TestKubeUserWithoutShadowFiles(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, nil)
	for _, p := range []string{"/etc/shadow", "/etc/gshadow"} {
		if err := os.Remove(n.hostPath(p)); err != nil {
			t.Fatal(err)
		}
	}
	n.mustRun(runOpts{}, kubeUser)
	if n.files.Exists("/etc/shadow") || n.files.Exists("/etc/gshadow") {
		t.Error("a missing shadow file was created")
	}
	mustContain(t, "passwd", n.read("/etc/passwd"), "kube:x:999:999:")
}

// holdOFDLock takes an open-file-description lock on the account lock
// file. OFD locks conflict with the classic fcntl locks of lckpwdf even
// inside one process, so this stands in for useradd holding the lock.
func holdOFDLock(t *testing.T, n *testNode) (release func()) {
	t.Helper()
	f, err := os.OpenFile(n.hostPath("/etc/.pwd.lock"), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { f.Close() }) }
	t.Cleanup(release)
	return release
}

func shortLockTimeout(t *testing.T, d time.Duration) {
	old := hostfs.AccountsLockTimeout
	hostfs.AccountsLockTimeout = d
	t.Cleanup(func() { hostfs.AccountsLockTimeout = old })
}

func TestKubeUserHonoursAccountsLock(t *testing.T) {
	shortLockTimeout(t, 300*time.Millisecond)

	t.Run("held by another tool: fails within the bound", func(t *testing.T) {
		n := newTestNode(t, config.RoleMinion, nil)
		holdOFDLock(t, n)
		old := n.read("/etc/passwd")
		start := time.Now()
		_, _, err := n.runLogged(kubeUser, runOpts{})
		took := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), n.hostPath("/etc/.pwd.lock")) {
			t.Fatalf("err = %v, want one naming the lock file", err)
		}
		if took < 300*time.Millisecond || took > 3*time.Second {
			t.Errorf("gave up after %s, want about 300ms", took)
		}
		if n.read("/etc/passwd") != old {
			t.Error("passwd changed without the lock")
		}
	})

	t.Run("held by this process: fails within the bound", func(t *testing.T) {
		n := newTestNode(t, config.RoleMinion, nil)
		unlock, err := n.files.LockAccounts()
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		if _, _, err := n.runLogged(kubeUser, runOpts{}); err == nil || !strings.Contains(err.Error(), ".pwd.lock") {
			t.Fatalf("err = %v, want a lock error", err)
		}
	})

	t.Run("released while waiting: proceeds", func(t *testing.T) {
		shortLockTimeout(t, 5*time.Second)
		n := newTestNode(t, config.RoleMinion, nil)
		release := holdOFDLock(t, n)
		time.AfterFunc(200*time.Millisecond, release)
		start := time.Now()
		n.mustRun(runOpts{}, kubeUser)
		if took := time.Since(start); took < 200*time.Millisecond {
			t.Errorf("did not wait for the lock (%s)", took)
		}
		mustContain(t, "passwd", n.read("/etc/passwd"), "kube:x:999:")
		if got := n.meta("/etc/.pwd.lock"); !strings.HasPrefix(got, "0600 ") {
			t.Errorf("lock file %s, want 0600", got)
		}
	})
}

func TestKubeUserReadsOnlyDeclared(t *testing.T) {
	checkReadsOnlyDeclared(t, config.RoleMinion, nil, kubeUser)
}

// TestManifestStepsConverge covers what the manifest steps share (their
// typed checks against k8s.io/api are in examples_test.go,
// podmaster_test.go and kubeproxy_test.go):
// files, modes and owners, quiet reruns, stale files rewritten (Mitaka
// wrote them only when absent, §9.7) and reads limited to the declared.
func TestManifestStepsConverge(t *testing.T) {
	mf := manifestsDir
	for _, tc := range []struct {
		name          string
		role          config.Role
		set           map[string]string
		step          Step
		dirs, files   []string
		want, wantNot []string // substrings of the concatenated files
	}{
		{name: "kube-examples", role: config.RoleMinion, step: kubeExamples,
			dirs:  []string{examplesDir},
			files: []string{examplesDir + "/replication-controller.yaml", examplesDir + "/pod-nginx-with-label.yaml", examplesDir + "/service.yaml", examplesDir + "/README.md"}},
		{name: "podmaster", role: config.RoleMaster, step: enableKubePodmaster,
			dirs:  []string{mf, srvManifestsDir},
			files: []string{mf + "/kube-podmaster.yaml", srvManifestsDir + "/kube-controller-manager.yaml", srvManifestsDir + "/kube-scheduler.yaml"},
			want:  []string{"--root-ca-file=/etc/kubernetes/ssl/ca.crt", "--service-account-private-key-file=/etc/kubernetes/ssl/server.key", `"--master=http://127.0.0.1:8080"`}},
		{name: "podmaster without TLS", role: config.RoleMaster, set: map[string]string{"TLS_DISABLED": "True", "KUBE_API_PORT": "8080"}, step: enableKubePodmaster,
			dirs:    []string{mf, srvManifestsDir},
			files:   []string{mf + "/kube-podmaster.yaml", srvManifestsDir + "/kube-controller-manager.yaml", srvManifestsDir + "/kube-scheduler.yaml"},
			want:    []string{`"--master=http://127.0.0.1:8080"`},
			wantNot: []string{"--root-ca-file", "--service-account-private-key-file"}},
		{name: "proxy on a master", role: config.RoleMaster, step: enableKubeProxy,
			dirs: []string{mf}, files: []string{mf + "/kube-proxy.yaml"},
			want: []string{`"--master=http://127.0.0.1:8080"`, "privileged: true"}, wantNot: []string{"--kubeconfig", "srv-kube"}},
		{name: "proxy on a minion", role: config.RoleMinion, step: enableKubeProxy,
			dirs: []string{mf}, files: []string{mf + "/kube-proxy.yaml"},
			want: []string{`"--master=https://10.0.0.5:6443"`, `"--kubeconfig=/srv/kubernetes/kubeconfig.yaml"`, "srv-kube"}},
		{name: "proxy on a minion without TLS", role: config.RoleMinion, set: map[string]string{"TLS_DISABLED": "True", "KUBE_API_PORT": "8080"}, step: enableKubeProxy,
			dirs: []string{mf}, files: []string{mf + "/kube-proxy.yaml"},
			want: []string{`"--master=http://10.0.0.5:8080"`}, wantNot: []string{"--kubeconfig"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNode(t, tc.role, copyMap(tc.set))
			n.mustRun(runOpts{}, tc.step)
			for _, d := range tc.dirs {
				n.checkMeta(d, "0755 root:root")
			}
			var all strings.Builder
			first := map[string]string{}
			for _, f := range tc.files {
				first[f] = n.checkMeta(f, "0644 root:root")
				all.WriteString(first[f])
			}
			mustContain(t, "manifests", all.String(), tc.want...)
			for _, s := range tc.wantNot {
				if strings.Contains(all.String(), s) {
					t.Errorf("manifests contain %q", s)
				}
			}
			n.assertQuietRerun(tc.step, runOpts{}, append(tc.dirs, tc.files...)...)

			for _, f := range tc.files {
				n.write(f, "stale: true\n", 0o600)
			}
			n.mustRun(runOpts{}, tc.step)
			for _, f := range tc.files {
				if got := n.checkMeta(f, "0644 root:root"); got != first[f] {
					t.Errorf("%s not rewritten:\n%s", f, got)
				}
			}
			checkReadsOnlyDeclared(t, tc.role, copyMap(tc.set), tc.step)
		})
	}
}

func copyMap(m map[string]string) map[string]string {
	c := map[string]string{}
	for k, v := range m {
		c[k] = v
	}
	return c
}

// make-cert leaves /srv/kubernetes 0500 kube:kube; creating the manifests
// directory below it must not loosen it.
func TestEnableKubePodmasterKeepsSrvKubernetes(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	n.mustRun(runOpts{}, kubeUser)
	srv := n.hostPath(srvKubernetes)
	if err := os.MkdirAll(srv, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(os.Chown(srv, 999, 999), os.Chmod(srv, 0o500)); err != nil {
		t.Fatal(err)
	}
	n.mustRun(runOpts{}, enableKubePodmaster)
	n.checkMeta(srvKubernetes, "0500 kube:kube")
	n.checkMeta(srvManifestsDir, "0755 root:root")
}

// Image settings are fingerprint inputs: changing one reruns the step.
func TestManifestStepsFingerprintImages(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	for _, tc := range []struct {
		step   Step
		change func(*config.Settings)
	}{
		{enableKubePodmaster, func(s *config.Settings) { s.Images.Podmaster = "podmaster:other" }},
		{enableKubePodmaster, func(s *config.Settings) { s.Images.Hyperkube = "hyperkube:other" }},
		{enableKubeProxy, func(s *config.Settings) { s.Images.Hyperkube = "hyperkube:other" }},
	} {
		e := n.env(tc.step)
		before := tc.step.Fingerprint(e)
		tc.change(&e.Settings)
		if tc.step.Fingerprint(e) == before {
			t.Errorf("%s: fingerprint ignores an image change", tc.step.Name)
		}
	}
}
