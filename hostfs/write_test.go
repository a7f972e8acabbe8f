package hostfs_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/heatstrap/heatstrap/hostfs"
)

// Final mode and owner must be exactly what was asked for, whatever the
// process umask, and owner names must come from the image's passwd/group.
func TestWriteFileExactModeAndOwner(t *testing.T) {
	f, root := newRoot(t)
	// A restrictive umask would shrink modes that are set at create time
	// only; WriteFile must chmod explicitly. (Not parallel: umask is global.)
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	tests := []struct {
		name         string
		file         hostfs.File
		uid, gid     int
		createdDirs  []string // parents that did not exist before
		wantDataBack string
	}{
		{"secret key 0400 kube", hostfs.File{Path: "/etc/kubernetes/pki/sa.key", Data: []byte("KEY"), Mode: 0o400, Owner: "kube"},
			kubeUID, kubeGID, []string{"/etc/kubernetes", "/etc/kubernetes/pki"}, "KEY"},
		{"config 0644 kube:certs", hostfs.File{Path: "/etc/kubernetes/kubelet.conf", Data: []byte("conf"), Mode: 0o644, Owner: "kube", Group: "certs"},
			kubeUID, certsGID, nil, "conf"},
		{"default owner is root", hostfs.File{Path: "/var/lib/heatstrap/state", Data: []byte("s"), Mode: 0o644},
			0, 0, []string{"/var", "/var/lib", "/var/lib/heatstrap"}, "s"},
		{"root with group kube", hostfs.File{Path: "/etc/ssl/kube.pem", Data: []byte("pem"), Mode: 0o640, Owner: "root", Group: "kube"},
			0, kubeGID, []string{"/etc/ssl"}, "pem"},
		{"empty file", hostfs.File{Path: "/etc/empty", Data: nil, Mode: 0o600}, 0, 0, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			changed, err := f.WriteFile(tc.file)
			if err != nil || !changed {
				t.Fatalf("WriteFile = %v, %v; want true, nil", changed, err)
			}
			hp := filepath.Join(root, tc.file.Path)
			m := lstat(t, hp)
			if m.mode != tc.file.Mode || m.uid != tc.uid || m.gid != tc.gid {
				t.Errorf("got %o %d:%d, want %o %d:%d", m.mode, m.uid, m.gid, tc.file.Mode, tc.uid, tc.gid)
			}
			if got, _ := os.ReadFile(hp); string(got) != tc.wantDataBack {
				t.Errorf("content %q, want %q", got, tc.wantDataBack)
			}
			for _, d := range tc.createdDirs {
				if m := lstat(t, filepath.Join(root, d)); !m.isDir || m.mode != 0o755 || m.uid != 0 || m.gid != 0 {
					t.Errorf("parent %s: %+v, want a 0755 root:root directory", d, m)
				}
			}
			if l := leftovers(t, filepath.Dir(hp)); len(l) > 0 {
				t.Errorf("temp files left: %v", l)
			}
		})
	}
}

// Writing into an existing directory must not "fix" that directory: a
// 0700 /root or a 1777 /tmp is not WriteFile's business.
func TestWriteFileLeavesExistingParentsAlone(t *testing.T) {
	f, root := newRoot(t)
	dirs := []struct {
		path     string
		mode     fs.FileMode // permission bits
		extra    fs.FileMode // sticky etc., set with os.Chmod
		uid, gid int
	}{
		{"/root", 0o700, 0, 0, 0},
		{"/tmp", 0o777, fs.ModeSticky, 0, 0},
		{"/var/lib/kube", 0o750, 0, kubeUID, kubeGID},
	}
	for _, d := range dirs {
		hp := filepath.Join(root, d.path)
		if err := os.MkdirAll(hp, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(hp, d.mode|d.extra); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(hp, d.uid, d.gid); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteFile(hostfs.File{Path: d.path + "/sub/file", Data: []byte("x"), Mode: 0o600}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Symlink("/x", d.path+"/link"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.EnsureDir(d.path+"/a/b", 0o700, "", ""); err != nil {
			t.Fatal(err)
		}
		st, err := os.Lstat(hp)
		if err != nil {
			t.Fatal(err)
		}
		m := lstat(t, hp)
		if m.mode != d.mode || st.Mode()&fs.ModeSticky != d.extra || m.uid != d.uid || m.gid != d.gid {
			t.Errorf("%s became %v %d:%d, want %v %d:%d", d.path, st.Mode(), m.uid, m.gid, d.mode|d.extra, d.uid, d.gid)
		}
	}
}

// Identical bytes, mode and owner: nothing is touched, not even mtime or
// the inode (no rename), and nothing is recorded.
func TestWriteFileIdempotent(t *testing.T) {
	f, root := newRoot(t)
	w := hostfs.File{Path: "/etc/kubernetes/admin.conf", Data: []byte("apiVersion: v1\n"), Mode: 0o600, Owner: "kube"}
	if changed, err := f.WriteFile(w); err != nil || !changed {
		t.Fatalf("first write = %v, %v", changed, err)
	}
	hp := filepath.Join(root, w.Path)
	mtime := backdate(t, hp)
	before := lstat(t, hp)

	rec, log := f.Recording()
	for i := range 3 {
		changed, err := rec.WriteFile(w)
		if err != nil || changed {
			t.Fatalf("write %d = %v, %v; want false, nil", i+2, changed, err)
		}
	}
	after := lstat(t, hp)
	if after.ino != before.ino || !after.mtime.Equal(mtime) {
		t.Errorf("identical write touched the file: inode %d->%d, mtime %v->%v", before.ino, after.ino, mtime, after.mtime)
	}
	if p := log.Paths(); len(p) != 0 {
		t.Errorf("unchanged writes were recorded: %v", p)
	}
}

// Same bytes but drifted metadata: fixed in place (same inode, content and
// mtime kept), reported as a change; the next write is a no-op again.
func TestWriteFileFixesMetadataInPlace(t *testing.T) {
	tests := []struct {
		name     string
		mode     fs.FileMode
		uid, gid int
	}{
		{"mode too open", 0o644, kubeUID, kubeGID},
		{"wrong owner", 0o600, 1234, 1234},
		{"wrong group only", 0o600, kubeUID, 0},
		{"both", 0o666, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, root := newRoot(t)
			w := hostfs.File{Path: "/etc/token", Data: []byte("tok"), Mode: 0o600, Owner: "kube"}
			if _, err := f.WriteFile(w); err != nil {
				t.Fatal(err)
			}
			hp := filepath.Join(root, w.Path)
			if err := os.Chmod(hp, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(hp, tc.uid, tc.gid); err != nil {
				t.Fatal(err)
			}
			mtime := backdate(t, hp)
			ino := lstat(t, hp).ino

			rec, log := f.Recording()
			if changed, err := rec.WriteFile(w); err != nil || !changed {
				t.Fatalf("fix = %v, %v; want true, nil", changed, err)
			}
			m := lstat(t, hp)
			if m.mode != 0o600 || m.uid != kubeUID || m.gid != kubeGID {
				t.Errorf("after fix: %o %d:%d", m.mode, m.uid, m.gid)
			}
			if m.ino != ino || !m.mtime.Equal(mtime) {
				t.Errorf("metadata fix rewrote the file (inode %d->%d, mtime %v->%v)", ino, m.ino, mtime, m.mtime)
			}
			if p := log.Paths(); len(p) != 1 || p[0] != w.Path {
				t.Errorf("change log %v, want [%s]", p, w.Path)
			}
			if changed, err := rec.WriteFile(w); err != nil || changed {
				t.Errorf("second fix = %v, %v; want false, nil", changed, err)
			}
		})
	}
}

// New content goes through a temp file and rename: a reader holding the
// old file keeps the old bytes (new inode), and no temp file is left.
func TestWriteFileContentChangeRenames(t *testing.T) {
	f, root := newRoot(t)
	w := hostfs.File{Path: "/etc/kubernetes/kubelet.env", Data: []byte("A=1\n"), Mode: 0o644, Owner: "kube"}
	if _, err := f.WriteFile(w); err != nil {
		t.Fatal(err)
	}
	hp := filepath.Join(root, w.Path)
	reader, err := os.Open(hp)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	before := lstat(t, hp)

	w.Data = []byte("A=2\n")
	if changed, err := f.WriteFile(w); err != nil || !changed {
		t.Fatalf("WriteFile = %v, %v", changed, err)
	}
	after := lstat(t, hp)
	if after.ino == before.ino {
		t.Error("content change kept the inode: the file was rewritten in place, not atomically replaced")
	}
	if after.mode != 0o644 || after.uid != kubeUID || after.gid != kubeGID {
		t.Errorf("replaced file is %o %d:%d", after.mode, after.uid, after.gid)
	}
	if got, _ := os.ReadFile(hp); string(got) != "A=2\n" {
		t.Errorf("content %q", got)
	}
	buf := make([]byte, 16)
	n, _ := reader.Read(buf)
	if string(buf[:n]) != "A=1\n" {
		t.Errorf("open reader saw %q: the old file was modified", buf[:n])
	}
	if l := leftovers(t, filepath.Dir(hp)); len(l) > 0 {
		t.Errorf("temp files left: %v", l)
	}
}

// Secret from birth: a temp file holding (part of) a secret must never be
// readable by group or others. Another goroutine watches the directory
// while large secrets are written; every temp file it catches is checked.
func TestWriteFileTempIsPrivate(t *testing.T) {
	f, root := newRoot(t)
	dir := filepath.Join(root, "etc/kubernetes/pki")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var seen atomic.Int64
	var leak atomic.Value // string: first temp file seen with a public mode
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if !strings.Contains(e.Name(), ".heatstrap-") {
					continue
				}
				st, err := os.Lstat(filepath.Join(dir, e.Name()))
				if err != nil {
					continue // renamed into place meanwhile
				}
				seen.Add(1)
				if st.Mode().Perm()&0o077 != 0 {
					leak.CompareAndSwap(nil, e.Name()+" "+st.Mode().String())
				}
			}
		}
	}()
	data := bytes.Repeat([]byte("-----SECRET-----"), 256<<10) // 4 MiB
	for i := 0; i < 200 && (i < 10 || seen.Load() == 0); i++ {
		data[0] = byte(i) // different bytes each time: every write makes a temp file
		if _, err := f.WriteFile(hostfs.File{Path: "/etc/kubernetes/pki/ca.key", Data: data, Mode: 0o400, Owner: "kube"}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-done
	if l := leak.Load(); l != nil {
		t.Fatalf("temp file readable by others while being written: %v", l)
	}
	if seen.Load() == 0 {
		t.Skip("the watcher never caught a temp file on this machine; nothing was proven")
	}
	t.Logf("checked %d temp file sightings", seen.Load())
}

// Owner names come from the target root only: a user that only the build
// host knows (daemon, bin) must be refused, naming the root's file.
func TestWriteFileUnknownOwner(t *testing.T) {
	f, root := newRoot(t)
	tests := []struct {
		owner, group string
		wantName     string
		wantFile     string
	}{
		{"etcd", "", `"etcd"`, filepath.Join(root, "etc/passwd")},
		{"daemon", "", `"daemon"`, filepath.Join(root, "etc/passwd")},
		{"kube", "docker", `"docker"`, filepath.Join(root, "etc/group")},
	}
	for _, tc := range tests {
		t.Run(tc.owner+":"+tc.group, func(t *testing.T) {
			p := "/etc/owned-by-" + tc.owner
			changed, err := f.WriteFile(hostfs.File{Path: p, Data: []byte("x"), Mode: 0o600, Owner: tc.owner, Group: tc.group})
			if err == nil || changed {
				t.Fatalf("WriteFile = %v, %v; want an error", changed, err)
			}
			if !strings.Contains(err.Error(), tc.wantName) || !strings.Contains(err.Error(), tc.wantFile) {
				t.Errorf("error %q should name %s and %s", err, tc.wantName, tc.wantFile)
			}
			if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
				t.Error("file was created despite the error")
			}
		})
	}
}

// A user added by writing the image's /etc/passwd through hostfs is known
// to the next write (the id cache is dropped).
func TestWriteFileSeesNewUsers(t *testing.T) {
	f, root := newRoot(t)
	if _, err := f.WriteFile(hostfs.File{Path: "/etc/passwd", Data: []byte(imgPasswd + "etcd:x:997:997::/var/lib/etcd:/bin/false\n"), Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteFile(hostfs.File{Path: "/var/lib/etcd/x", Data: []byte("x"), Mode: 0o600, Owner: "etcd"}); err != nil {
		t.Fatal(err)
	}
	if m := lstat(t, filepath.Join(root, "var/lib/etcd/x")); m.uid != 997 || m.gid != 997 {
		t.Errorf("owner %d:%d, want 997:997", m.uid, m.gid)
	}
}

// A symlink at the file's own path is replaced, never written through: a
// link planted in the image must not redirect a write outside the root.
func TestWriteFileReplacesSymlink(t *testing.T) {
	f, root := newRoot(t)
	outside := filepath.Join(t.TempDir(), "victim")
	mustWrite(t, outside, "host file", 0o644)
	mustSymlink(t, outside, filepath.Join(root, "etc/resolv.conf"))
	if _, err := f.WriteFile(hostfs.File{Path: "/etc/resolv.conf", Data: []byte("nameserver 10.0.0.1\n"), Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(outside); string(got) != "host file" {
		t.Errorf("write went through the symlink to %s: %q", outside, got)
	}
	if st, err := os.Lstat(filepath.Join(root, "etc/resolv.conf")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("resolv.conf is not a regular file now: %v %v", st, err)
	}
}
