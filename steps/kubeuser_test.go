package steps

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/hostfs"
)

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
