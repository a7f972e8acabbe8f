package hostfs_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/hostfs"
)

// Symlink is idempotent and replaces whatever is there (file or other
// link) by rename, leaving no temp link behind.
func TestSymlink(t *testing.T) {
	f, root := newRoot(t)
	hp := filepath.Join(root, "etc/systemd/system/multi-user.target.wants/kubelet.service")
	steps := []struct {
		name, target string
		before       func()
		want         bool
	}{
		{name: "create with parents", target: "/etc/systemd/system/kubelet.service", want: true},
		{name: "same target again", target: "/etc/systemd/system/kubelet.service", want: false},
		{name: "retarget", target: "/usr/lib/systemd/system/kubelet.service", want: true},
		{name: "relative target", target: "../kubelet.service", want: true},
		{name: "replace a regular file", target: "/x", want: true, before: func() {
			if err := os.Remove(hp); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, hp, "not a link", 0o644)
		}},
		{name: "stale temp link is ignored", target: "/y", want: true, before: func() {
			_ = os.Symlink("/stale", filepath.Join(filepath.Dir(hp), ".kubelet.service.heatstrap-link"))
		}},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		ino := uint64(0)
		if _, err := os.Lstat(hp); err == nil {
			ino = lstat(t, hp).ino
		}
		changed, err := f.Symlink(s.target, "/etc/systemd/system/multi-user.target.wants/kubelet.service")
		if err != nil || changed != s.want {
			t.Fatalf("%s: Symlink = %v, %v; want %v", s.name, changed, err, s.want)
		}
		if got, err := os.Readlink(hp); err != nil || got != s.target {
			t.Fatalf("%s: link = %q, %v", s.name, got, err)
		}
		if now := lstat(t, hp).ino; !s.want && now != ino {
			t.Errorf("%s: unchanged link was recreated", s.name)
		}
		if l := leftovers(t, filepath.Dir(hp)); len(l) > 0 {
			t.Errorf("%s: temp links left: %v", s.name, l)
		}
	}
	if m := lstat(t, filepath.Join(root, "etc/systemd/system")); m.mode != 0o755 || m.uid != 0 {
		t.Errorf("created parent %o uid %d", m.mode, m.uid)
	}
	if _, err := f.Symlink("/x", "relative/link"); err == nil {
		t.Error("relative link path accepted")
	}
}

func TestRemove(t *testing.T) {
	f, root := newRoot(t)
	mustWrite(t, filepath.Join(root, "etc/old.conf"), "x", 0o644)
	mustSymlink(t, "/nowhere", filepath.Join(root, "etc/dangling"))
	mustWrite(t, filepath.Join(root, "etc/full/file"), "x", 0o644)
	rec, log := f.Recording()
	tests := []struct {
		path    string
		changed bool
		wantErr bool
	}{
		{"/etc/old.conf", true, false},
		{"/etc/old.conf", false, false}, // gone now
		{"/etc/missing", false, false},
		{"/no/such/dir/file", false, false},
		{"/etc/dangling", true, false}, // the link, not its target
		{"/etc/full", false, true},     // non-empty directory
		{"etc/relative", false, true},
	}
	for _, tc := range tests {
		changed, err := rec.Remove(tc.path)
		if changed != tc.changed || (err != nil) != tc.wantErr {
			t.Errorf("Remove(%s) = %v, %v; want %v, error %v", tc.path, changed, err, tc.changed, tc.wantErr)
		}
	}
	if got := log.Paths(); !slices.Equal(got, []string{"/etc/old.conf", "/etc/dangling"}) {
		t.Errorf("change log %v", got)
	}
}

// EnsureDir creates with the exact mode/owner and fixes an existing
// directory in place; it refuses a file in the way.
func TestEnsureDir(t *testing.T) {
	f, root := newRoot(t)
	mustWrite(t, filepath.Join(root, "etc/afile"), "x", 0o644)
	tests := []struct {
		name, path   string
		mode         os.FileMode
		owner, group string
		want         bool
		uid, gid     int
		wantErr      string
	}{
		{name: "create nested", path: "/var/lib/kubelet/pki", mode: 0o700, owner: "kube", want: true, uid: kubeUID, gid: kubeGID},
		{name: "same again", path: "/var/lib/kubelet/pki", mode: 0o700, owner: "kube", want: false, uid: kubeUID, gid: kubeGID},
		{name: "fix mode", path: "/var/lib/kubelet/pki", mode: 0o750, owner: "kube", want: true, uid: kubeUID, gid: kubeGID},
		{name: "fix group", path: "/var/lib/kubelet/pki", mode: 0o750, owner: "kube", group: "certs", want: true, uid: kubeUID, gid: certsGID},
		{name: "fix owner back to root", path: "/var/lib/kubelet/pki", mode: 0o750, want: true, uid: 0, gid: 0},
		{name: "existing parent", path: "/var/lib/kubelet", mode: 0o755, want: false, uid: 0, gid: 0},
		{name: "file in the way", path: "/etc/afile", mode: 0o755, wantErr: "not a directory"},
		{name: "file as parent", path: "/etc/afile/sub", mode: 0o755, wantErr: "afile"},
		{name: "unknown owner", path: "/srv/x", mode: 0o755, owner: "nobody-here", wantErr: `"nobody-here"`},
		{name: "relative", path: "srv", mode: 0o755, wantErr: "absolute"},
	}
	for _, tc := range tests {
		changed, err := f.EnsureDir(tc.path, tc.mode, tc.owner, tc.group)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || changed != tc.want {
			t.Errorf("%s: EnsureDir = %v, %v; want %v", tc.name, changed, err, tc.want)
			continue
		}
		m := lstat(t, filepath.Join(root, tc.path))
		if !m.isDir || m.mode != tc.mode || m.uid != tc.uid || m.gid != tc.gid {
			t.Errorf("%s: %+v, want dir %o %d:%d", tc.name, m, tc.mode, tc.uid, tc.gid)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "srv")); err == nil {
		t.Error("a directory was created for an unknown owner")
	}
}

// The change log of a Recording view lists each changed path once, in
// the order of the first change, directories with a trailing slash, and
// nothing for no-op calls. Views do not share logs.
func TestChangeLog(t *testing.T) {
	f, _ := newRoot(t)
	if _, err := f.WriteFile(hostfs.File{Path: "/etc/pre", Data: []byte("x"), Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	rec, log := f.Recording()
	other, otherLog := f.Recording()
	must := func(_ bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rec.WriteFile(hostfs.File{Path: "/etc/pre", Data: []byte("x"), Mode: 0o644})) // no-op
	must(rec.WriteFile(hostfs.File{Path: "/etc/a", Data: []byte("1"), Mode: 0o644}))
	must(rec.WriteFile(hostfs.File{Path: "/etc/new/b", Data: []byte("1"), Mode: 0o644}))
	must(rec.WriteFile(hostfs.File{Path: "/etc/a", Data: []byte("2"), Mode: 0o644})) // again: listed once
	must(rec.WriteFile(hostfs.File{Path: "/etc/a", Data: []byte("2"), Mode: 0o600})) // meta fix: still once
	must(rec.Symlink("/etc/a", "/etc/c"))
	must(rec.Symlink("/etc/a", "/etc/c")) // no-op
	must(rec.Remove("/etc/pre"))
	must(rec.Remove("/etc/pre")) // no-op
	must(rec.EnsureDir("/etc/new", 0o755, "", ""))
	must(rec.SetMeta("/etc/c", 0o777, "kube", ""))
	must(other.WriteFile(hostfs.File{Path: "/etc/other", Data: []byte("1"), Mode: 0o644}))

	want := []string{"/etc/a", "/etc/new/", "/etc/new/b", "/etc/c", "/etc/pre"}
	if got := log.Paths(); !slices.Equal(got, want) {
		t.Errorf("Paths = %v\nwant    %v", got, want)
	}
	if got := otherLog.Paths(); !slices.Equal(got, []string{"/etc/other"}) {
		t.Errorf("other view's Paths = %v", got)
	}
	// Paths returns a copy.
	p := log.Paths()
	p[0] = "mutated"
	if log.Paths()[0] != "/etc/a" {
		t.Error("Paths exposes the internal slice")
	}
}

func TestNames(t *testing.T) {
	f, _ := newRoot(t)
	tests := []struct {
		uid, gid    int
		user, group string
	}{
		{0, 0, "root", "root"},
		{kubeUID, kubeGID, "kube", "kube"},
		{kubeUID, certsGID, "kube", "certs"},
		{1, 1, "1", "1"}, // daemon on the host, nothing in the image
		{4242, 0, "4242", "root"},
	}
	for _, tc := range tests {
		if u, g := f.Names(tc.uid, tc.gid); u != tc.user || g != tc.group {
			t.Errorf("Names(%d, %d) = %s:%s, want %s:%s", tc.uid, tc.gid, u, g, tc.user, tc.group)
		}
	}
	// Without passwd/group only root is known; a broken file falls back to numbers.
	if u, g := hostfs.New(t.TempDir()).Names(0, kubeGID); u != "root" || g != "993" {
		t.Errorf("empty image: Names = %s:%s", u, g)
	}
	broken := t.TempDir()
	mustWrite(t, filepath.Join(broken, "etc/passwd"), "kube:x:notanumber:1:::\n", 0o644)
	if u, _ := hostfs.New(broken).Names(0, 0); u != "0" {
		t.Errorf("broken passwd: Names = %s, want the number", u)
	}
	if _, err := hostfs.New(broken).WriteFile(hostfs.File{Path: "/x", Mode: 0o600}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("broken passwd: err = %v, want the line number", err)
	}
}

func TestSetMeta(t *testing.T) {
	f, root := newRoot(t)
	mustWrite(t, filepath.Join(root, "etc/kubeconfig"), "cfg", 0o644)
	hp := filepath.Join(root, "etc/kubeconfig")
	mtime := backdate(t, hp)
	ino := lstat(t, hp).ino
	tests := []struct {
		mode         os.FileMode
		owner, group string
		want         bool
		uid, gid     int
	}{
		{0o644, "", "", false, 0, 0},
		{0o600, "", "", true, 0, 0},
		{0o600, "kube", "", true, kubeUID, kubeGID},
		{0o600, "kube", "", false, kubeUID, kubeGID},
		{0o640, "kube", "certs", true, kubeUID, certsGID},
	}
	for i, tc := range tests {
		changed, err := f.SetMeta("/etc/kubeconfig", tc.mode, tc.owner, tc.group)
		if err != nil || changed != tc.want {
			t.Fatalf("%d: SetMeta = %v, %v; want %v", i, changed, err, tc.want)
		}
		m := lstat(t, hp)
		if m.mode != tc.mode || m.uid != tc.uid || m.gid != tc.gid || m.ino != ino || !m.mtime.Equal(mtime) {
			t.Errorf("%d: %+v", i, m)
		}
	}
	if got, _ := os.ReadFile(hp); string(got) != "cfg" {
		t.Errorf("content changed: %q", got)
	}
	if _, err := f.SetMeta("/etc/missing", 0o600, "", ""); !os.IsNotExist(err) {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := f.SetMeta("/etc/kubeconfig", 0o600, "ghost", ""); err == nil || !strings.Contains(err.Error(), `"ghost"`) {
		t.Errorf("unknown owner: err = %v", err)
	}
}

// A --root directory that does not exist yet is created (its parent must
// exist), so a fresh image tree can be populated.
func TestMissingRootIsCreated(t *testing.T) {
	requireRoot(t)
	root := filepath.Join(t.TempDir(), "img")
	f := hostfs.New(root)
	if _, err := f.WriteFile(hostfs.File{Path: "/etc/hostname", Data: []byte("node-0\n"), Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(root, "etc/hostname")); err != nil || string(got) != "node-0\n" {
		t.Errorf("hostname = %q, %v", got, err)
	}
}
