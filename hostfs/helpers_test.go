package hostfs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/internal/testenv"
)

// The image's own users. The ids are chosen so that they do not exist on a
// typical build host: a lookup that wrongly used the host's /etc/passwd
// would fail or produce other numbers.
const (
	kubeUID   = 996
	kubeGID   = 993
	certsGID  = 994
	imgPasswd = "root:x:0:0:root:/root:/bin/bash\n" +
		"# a comment line is skipped\n" +
		"\n" +
		"kube:x:996:993:Kubernetes:/var/lib/kube:/usr/sbin/nologin\n"
	imgGroup = "root:x:0:\nkube:x:993:\ncerts:x:994:kube\n"
)

// newRoot returns an FS over a fresh image tree with its own passwd/group.
func newRoot(t *testing.T) (*hostfs.FS, string) {
	t.Helper()
	requireRoot(t)
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "etc/passwd"), imgPasswd, 0o644)
	mustWrite(t, filepath.Join(root, "etc/group"), imgGroup, 0o644)
	return hostfs.New(root), root
}

// requireRoot skips tests that chown: only root can give files away.
func requireRoot(t *testing.T) {
	t.Helper()
	testenv.NeedRoot(t, "chowns files")
}

func mustWrite(t *testing.T, p, data string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile is subject to umask
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// meta is what the tests compare: the bits that WriteFile promises.
type meta struct {
	mode     fs.FileMode
	uid, gid int
	ino      uint64
	mtime    time.Time
	isDir    bool
}

func lstat(t *testing.T, p string) meta {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return meta{
		mode: st.Mode().Perm(), uid: int(sys.Uid), gid: int(sys.Gid),
		ino: sys.Ino, mtime: st.ModTime(), isDir: st.IsDir(),
	}
}

// backdate moves mtime an hour back so "mtime kept" cannot pass by luck
// of a coarse timestamp granularity.
func backdate(t *testing.T, p string) time.Time {
	t.Helper()
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	return old
}

// leftovers lists temp files WriteFile or Symlink may have left in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".heatstrap-") {
			out = append(out, e.Name())
		}
	}
	return out
}
