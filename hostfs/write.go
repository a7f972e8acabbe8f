package hostfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// File is the whole desired state of one regular file.
type File struct {
	Path  string
	Data  []byte
	Mode  fs.FileMode // permission bits
	Owner string      // user name in the target's /etc/passwd; "" = root
	Group string      // group name; "" = the owner's primary group
}

// WriteFile converges one file. Same bytes, mode and owner: nothing happens
// (mtime kept). Same bytes, other mode or owner: fixed in place. Otherwise
// a temp file is created next to it with the final mode masked to 0600
// (never readable by others, never more open than the final mode, even
// for a moment), written, fsynced, given its final owner and mode, and
// renamed over the old one; then the directory is fsynced.
func (f *FS) WriteFile(w File) (changed bool, err error) {
	uid, gid, err := f.ids.owner(w.Owner, w.Group)
	if err != nil {
		return false, fmt.Errorf("write %s: %w", w.Path, err)
	}
	hp, err := f.Path(w.Path)
	if err != nil {
		return false, err
	}
	if st, err := os.Lstat(hp); err == nil && st.Mode().IsRegular() {
		if old, err := os.ReadFile(hp); err == nil && bytes.Equal(old, w.Data) {
			return f.fixMeta(w.Path, hp, st, w.Mode, uid, gid)
		}
	}
	if err := f.mkParents(hp); err != nil {
		return false, err
	}
	if err := atomicWrite(hp, w.Data, w.Mode, uid, gid); err != nil {
		return false, fmt.Errorf("write %s: %w", f.Display(w.Path), err)
	}
	f.log.add(w.Path)
	if base := filepath.Base(w.Path); w.Path == "/etc/passwd" || w.Path == "/etc/group" || base == "shadow" {
		f.ids.reset()
	}
	return true, nil
}

func atomicWrite(hp string, data []byte, mode fs.FileMode, uid, gid int) (err error) {
	dir := filepath.Dir(hp)
	tmp, err := createTemp(dir, "."+filepath.Base(hp)+".heatstrap-", mode.Perm()&0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = chownIfNeeded(tmp, uid, gid); err != nil {
		return err
	}
	if err = tmp.Chmod(mode.Perm()); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), hp); err != nil {
		return err
	}
	return syncDir(dir)
}

// createTemp is os.CreateTemp with the file born at perm (at most 0600,
// never readable by others) instead of always 0600: a key that ends 0400
// is 0400 from its first instant, not writable even by its owner.
func createTemp(dir, prefix string, perm fs.FileMode) (*os.File, error) {
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) && try < 1000 {
			continue
		}
		return f, err
	}
}

func chownIfNeeded(f *os.File, uid, gid int) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) == uid && int(sys.Gid) == gid {
		return nil
	}
	return f.Chown(uid, gid)
}

// fixMeta corrects mode and owner of an existing file without rewriting it.
func (f *FS) fixMeta(p, hp string, st fs.FileInfo, mode fs.FileMode, uid, gid int) (bool, error) {
	changed := false
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && (int(sys.Uid) != uid || int(sys.Gid) != gid) {
		if err := os.Lchown(hp, uid, gid); err != nil {
			return false, fmt.Errorf("chown %s: %w", f.Display(p), err)
		}
		changed = true
	}
	// A symlink has no mode of its own (Linux has no lchmod) and chmod
	// would follow it, offline possibly out of the root.
	if st.Mode()&fs.ModeSymlink == 0 && st.Mode().Perm() != mode.Perm() {
		if err := os.Chmod(hp, mode.Perm()); err != nil {
			return false, fmt.Errorf("chmod %s: %w", f.Display(p), err)
		}
		changed = true
	}
	if changed {
		f.log.add(p)
	}
	return changed, nil
}

// EnsureDir makes p a directory with the given mode and owner; missing
// parents are created 0755 root:root. A symlink to a directory (inside the
// root) counts as that directory.
func (f *FS) EnsureDir(p string, mode fs.FileMode, owner, group string) (changed bool, err error) {
	uid, gid, err := f.ids.owner(owner, group)
	if err != nil {
		return false, fmt.Errorf("mkdir %s: %w", p, err)
	}
	target, hp, err := f.follow(p)
	if err != nil {
		return false, err
	}
	st, err := os.Lstat(hp)
	switch {
	case err == nil && !st.IsDir():
		return false, fmt.Errorf("mkdir %s: exists and is not a directory", f.Display(p))
	case err == nil:
		return f.fixMeta(target, hp, st, mode, uid, gid)
	case !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	if err := f.mkParents(hp); err != nil {
		return false, err
	}
	if err := f.mkdir(hp, mode, uid, gid); err != nil {
		return false, err
	}
	return true, nil
}

// mkParents creates the missing directories above the host path hp, 0755
// root:root. Existing ones are left exactly as they are: writing
// /root/.kube/config must not make /root 0755, nor /tmp lose its sticky bit.
// hp comes from Path or follow, so offline its directories are already
// resolved inside the root.
func (f *FS) mkParents(hp string) error {
	dir := filepath.Dir(hp)
	if dir == hp {
		return nil
	}
	st, err := os.Stat(dir)
	switch {
	case err == nil && st.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("mkdir %s: exists and is not a directory", dir)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if dir != f.root { // a missing root is created, not what is above it
		if err := f.mkParents(dir); err != nil {
			return err
		}
	}
	return f.mkdir(dir, 0o755, 0, 0)
}

// mkdir creates the host directory hp with exactly mode and owner (never
// more open than 0700 before the chmod) and records it.
func (f *FS) mkdir(hp string, mode fs.FileMode, uid, gid int) error {
	target := "/" + strings.TrimPrefix(strings.TrimPrefix(hp, f.root), "/")
	if err := os.Mkdir(hp, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("mkdir %s: %w", hp, err)
	}
	if err := os.Lchown(hp, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", hp, err)
	}
	if err := os.Chmod(hp, mode.Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", hp, err)
	}
	f.log.add(strings.TrimSuffix(target, "/") + "/")
	return syncDir(filepath.Dir(hp))
}

// SetMeta converges the mode and owner of an existing file or directory
// without touching its content.
func (f *FS) SetMeta(p string, mode fs.FileMode, owner, group string) (changed bool, err error) {
	uid, gid, err := f.ids.owner(owner, group)
	if err != nil {
		return false, fmt.Errorf("chown %s: %w", p, err)
	}
	hp, err := f.Path(p)
	if err != nil {
		return false, err
	}
	st, err := os.Lstat(hp)
	if err != nil {
		return false, err
	}
	return f.fixMeta(p, hp, st, mode, uid, gid)
}
