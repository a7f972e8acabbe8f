package hostfs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/hostfs"
)

// Path resolves directory symlinks as if chrooted at the root: absolute
// link targets are taken inside the image and ".." stops at its top.
func TestPathResolvesInsideRoot(t *testing.T) {
	root := t.TempDir()
	mustSymlink(t, "/usr/etc", filepath.Join(root, "etc"))                      // absolute, like usrmerge images
	mustSymlink(t, "usr/lib", filepath.Join(root, "lib"))                       // relative to its directory
	mustSymlink(t, "../../opt/kube", filepath.Join(root, "usr/etc/kubernetes")) // relative, through /etc
	mustSymlink(t, "../../../../../..", filepath.Join(root, "up"))              // tries to climb out
	mustSymlink(t, "/../../..", filepath.Join(root, "abs-up"))
	mustSymlink(t, "/loop2", filepath.Join(root, "loop1"))
	mustSymlink(t, "/loop1", filepath.Join(root, "loop2"))
	mustSymlink(t, "/outside", filepath.Join(root, "usr/etc/link")) // final component: not followed
	f := hostfs.New(root)

	tests := []struct {
		in, want string
		wantErr  string
	}{
		{in: "/etc/hosts", want: "usr/etc/hosts"},
		{in: "/etc/kubernetes/kubelet.conf", want: "opt/kube/kubelet.conf"},
		{in: "/lib/modules/x", want: "usr/lib/modules/x"},
		{in: "/up/etc/shadow", want: "usr/etc/shadow"},
		{in: "/abs-up/x", want: "x"},
		{in: "/../../../etc/passwd", want: "usr/etc/passwd"},
		{in: "/etc/./../etc//hosts", want: "usr/etc/hosts"},
		{in: "/etc/link", want: "usr/etc/link"},
		{in: "/etc", want: "etc"}, // the link itself, like lstat
		{in: "/", want: ""},
		{in: "/new/dir/file", want: "new/dir/file"},
		{in: "/loop1/x", wantErr: "too many symlinks"},
		{in: "etc/hosts", wantErr: "not an absolute path"},
		{in: "", wantErr: "not an absolute path"},
		{in: "./etc", wantErr: "not an absolute path"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := f.Path(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Path(%q) = %q, %v; want error %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if want := filepath.Join(root, tc.want); err != nil || got != want {
				t.Fatalf("Path(%q) = %q, %v; want %q", tc.in, got, err, want)
			}
		})
	}
}

// The live root maps paths to themselves (cleaned) and still refuses
// relative ones.
func TestPathLiveRoot(t *testing.T) {
	for _, root := range []string{"", "/", "//"} {
		f := hostfs.New(root)
		if f.Root() != "/" {
			t.Errorf("New(%q).Root() = %q", root, f.Root())
		}
		if got, err := f.Path("/etc/../etc//hosts"); err != nil || got != "/etc/hosts" {
			t.Errorf("Path = %q, %v", got, err)
		}
		if _, err := f.Path("etc/hosts"); err == nil {
			t.Error("relative path accepted")
		}
		if got := f.Display("/etc/hosts"); got != "/etc/hosts" {
			t.Errorf("Display = %q", got)
		}
	}
	if got := hostfs.New("/img/").Display("/etc/hosts"); got != "/img/etc/hosts" {
		t.Errorf("offline Display = %q", got)
	}
}

// Reading follows a symlink in the last component too, but inside the
// image: /etc/motd -> /host/abs/path must not read the build host's file.
func TestReadFileFollowsLinksInsideRoot(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "host-secret")
	mustWrite(t, outside, "HOST", 0o644)
	mustWrite(t, filepath.Join(root, "usr/share/motd"), "IMAGE", 0o644)
	mustSymlink(t, outside, filepath.Join(root, "etc/escape"))            // absolute host path
	mustSymlink(t, "/usr/share/motd", filepath.Join(root, "etc/motd"))    // absolute image path
	mustSymlink(t, "../usr/share/motd", filepath.Join(root, "etc/motd2")) // relative
	f := hostfs.New(root)

	if got, err := f.ReadFile("/etc/motd"); err != nil || string(got) != "IMAGE" {
		t.Errorf("ReadFile(/etc/motd) = %q, %v; want the image's file", got, err)
	}
	if got, err := f.ReadFile("/etc/motd2"); err != nil || string(got) != "IMAGE" {
		t.Errorf("ReadFile(/etc/motd2) = %q, %v", got, err)
	}
	got, err := f.ReadFile("/etc/escape")
	if string(got) == "HOST" {
		t.Fatalf("ReadFile escaped the root and read %s", outside)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want not-exist (the link points nowhere inside the image)", err)
	}
	if !f.Exists("/etc/escape") {
		t.Error("Exists: a dangling symlink counts as existing")
	}
	if st, err := f.Lstat("/etc/escape"); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat = %v, %v; want the link itself", st, err)
	}
}

// usrmerge-style images link /etc/passwd elsewhere; the owner lookup must
// read the image's file through that link, not the host's.
func TestOwnerLookupThroughSymlinkedPasswd(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "usr/lib/heatstrap-img/passwd"), imgPasswd, 0o644)
	mustWrite(t, filepath.Join(root, "usr/lib/heatstrap-img/group"), imgGroup, 0o644)
	mustSymlink(t, "/usr/lib/heatstrap-img/passwd", filepath.Join(root, "etc/passwd"))
	mustSymlink(t, "../usr/lib/heatstrap-img/group", filepath.Join(root, "etc/group"))
	f := hostfs.New(root)
	if _, err := f.WriteFile(hostfs.File{Path: "/etc/kubelet.conf", Data: []byte("x"), Mode: 0o600, Owner: "kube", Group: "certs"}); err != nil {
		t.Fatal(err)
	}
	if m := lstat(t, filepath.Join(root, "etc/kubelet.conf")); m.uid != kubeUID || m.gid != certsGID {
		t.Errorf("owner %d:%d, want %d:%d", m.uid, m.gid, kubeUID, certsGID)
	}
	if u, g := f.Names(kubeUID, certsGID); u != "kube" || g != "certs" {
		t.Errorf("Names = %s:%s", u, g)
	}
}

// Writing below a symlinked directory lands in the link's target inside
// the image, creating it if needed, and never touches the host.
func TestWriteThroughSymlinkedDir(t *testing.T) {
	f, root := newRoot(t)
	// A target that surely does not exist on the host, so a wrong
	// resolution fails instead of changing the build machine.
	mustSymlink(t, "/usr/heatstrap-test-etc", filepath.Join(root, "etc/kubernetes"))
	changed, err := f.WriteFile(hostfs.File{Path: "/etc/kubernetes/pki/ca.crt", Data: []byte("CA"), Mode: 0o644})
	if err != nil || !changed {
		t.Fatalf("WriteFile = %v, %v", changed, err)
	}
	if got, err := os.ReadFile(filepath.Join(root, "usr/heatstrap-test-etc/pki/ca.crt")); err != nil || string(got) != "CA" {
		t.Errorf("file at the link target: %q, %v", got, err)
	}
	if st, err := os.Lstat(filepath.Join(root, "etc/kubernetes")); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink itself was replaced: %v, %v", st, err)
	}
	// EnsureDir of the link is EnsureDir of its target.
	if changed, err := f.EnsureDir("/etc/kubernetes", 0o755, "", ""); err != nil || changed {
		t.Errorf("EnsureDir(link to an existing 0755 dir) = %v, %v; want false, nil", changed, err)
	}
	if changed, err := f.EnsureDir("/etc/kubernetes", 0o750, "kube", ""); err != nil || !changed {
		t.Errorf("EnsureDir(link, 0750 kube) = %v, %v; want true, nil", changed, err)
	}
	if m := lstat(t, filepath.Join(root, "usr/heatstrap-test-etc")); m.mode != 0o750 || m.uid != kubeUID {
		t.Errorf("link target is %o uid %d", m.mode, m.uid)
	}
}

// SetMeta works on the path itself; a symlink is never chmod-ed through,
// which offline would change a file of the build host.
func TestSetMetaDoesNotFollowSymlink(t *testing.T) {
	f, root := newRoot(t)
	outside := filepath.Join(t.TempDir(), "host-file")
	mustWrite(t, outside, "x", 0o644)
	mustSymlink(t, outside, filepath.Join(root, "etc/link"))
	if _, err := f.SetMeta("/etc/link", 0o600, "kube", ""); err != nil {
		t.Fatal(err)
	}
	if m := lstat(t, outside); m.mode != 0o644 || m.uid != 0 {
		t.Errorf("SetMeta changed the link's target outside the root: %o uid %d", m.mode, m.uid)
	}
	if m := lstat(t, filepath.Join(root, "etc/link")); m.uid != kubeUID {
		t.Errorf("link owner %d, want %d", m.uid, kubeUID)
	}
	if changed, err := f.SetMeta("/etc/link", 0o600, "kube", ""); err != nil || changed {
		t.Errorf("second SetMeta on the link = %v, %v; want false, nil", changed, err)
	}
}
