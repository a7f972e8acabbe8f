// Package hostfs is the one way heatstrap touches files: every path is
// resolved inside a root directory (the live system "/" or an image tree for
// --root), every write is atomic (temp file, fsync, rename, fsync dir) and
// idempotent (identical bytes, mode and owner leave the file untouched, mtime
// included), and every change is recorded so a step can report it.
package hostfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// FS is a root directory plus a change log.
type FS struct {
	root string
	ids  *idCache
	log  *ChangeLog
}

// ChangeLog collects the paths a step changed, in order.
type ChangeLog struct {
	mu    sync.Mutex
	paths []string
}

// Paths returns the changed paths.
func (c *ChangeLog) Paths() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.paths...)
}

func (c *ChangeLog) add(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range c.paths {
		if q == p {
			return
		}
	}
	c.paths = append(c.paths, p)
}

// New returns an FS rooted at root ("/" for the live system).
func New(root string) *FS {
	if root == "" {
		root = "/"
	}
	root = filepath.Clean(root)
	f := &FS{root: root, log: &ChangeLog{}}
	f.ids = &idCache{fs: f}
	return f
}

// Root returns the root directory.
func (f *FS) Root() string { return f.root }

// Recording returns a view of the same root with a fresh change log.
func (f *FS) Recording() (*FS, *ChangeLog) {
	log := &ChangeLog{}
	return &FS{root: f.root, ids: f.ids, log: log}, log
}

// Path maps an absolute path of the target system to a host path. Symlinks
// in the directories along the way are resolved as if chrooted at the root,
// so an image's /etc/foo -> /usr/etc/foo link cannot escape the tree.
func (f *FS) Path(p string) (string, error) {
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("hostfs: %q is not an absolute path", p)
	}
	if f.root == "/" {
		return filepath.Clean(p), nil
	}
	dir, base := filepath.Split(filepath.Clean(p))
	resolved, err := f.resolveDir(dir, 0)
	if err != nil {
		return "", err
	}
	return filepath.Join(f.root, resolved, base), nil
}

// follow is Path that also resolves a symlink in the last component (inside
// the root), for operations that follow links: reading, directories. It
// returns the target-side path and the host path.
func (f *FS) follow(p string) (target, host string, err error) {
	if !filepath.IsAbs(p) {
		return "", "", fmt.Errorf("hostfs: %q is not an absolute path", p)
	}
	target, err = f.resolveDir(p, 0)
	if err != nil {
		return "", "", err
	}
	return target, filepath.Join(f.root, target), nil
}

// resolveDir resolves symlinks in dir (a rooted path) component by component.
func (f *FS) resolveDir(dir string, depth int) (string, error) {
	if depth > 40 {
		return "", fmt.Errorf("hostfs: too many symlinks resolving %s", dir)
	}
	cur := "/"
	for _, part := range strings.Split(filepath.Clean(dir), "/") {
		if part == "" {
			continue
		}
		next := filepath.Join(cur, part)
		target, err := os.Readlink(filepath.Join(f.root, next))
		if err != nil {
			cur = next // not a symlink, or not there yet
			continue
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(cur, target)
		}
		cur, err = f.resolveDir(target, depth+1)
		if err != nil {
			return "", err
		}
	}
	return cur, nil
}

// Display returns p as the operator should see it (root-prefixed offline).
func (f *FS) Display(p string) string {
	if f.root == "/" {
		return p
	}
	return filepath.Join(f.root, p)
}

// ReadFile reads a file of the target system.
func (f *FS) ReadFile(p string) ([]byte, error) {
	// A symlinked file (usrmerge's /etc/passwd) is read inside the root too.
	_, hp, err := f.follow(p)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(hp)
}

// Lstat stats a path of the target system without following a final symlink.
func (f *FS) Lstat(p string) (fs.FileInfo, error) {
	hp, err := f.Path(p)
	if err != nil {
		return nil, err
	}
	return os.Lstat(hp)
}

// Exists reports whether p exists (a dangling symlink counts).
func (f *FS) Exists(p string) bool {
	_, err := f.Lstat(p)
	return err == nil
}

// Remove deletes a file or symlink; a missing one is not an error.
func (f *FS) Remove(p string) (changed bool, err error) {
	hp, err := f.Path(p)
	if err != nil {
		return false, err
	}
	if err := os.Remove(hp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("remove %s: %w", f.Display(p), err)
	}
	f.log.add(p)
	return true, syncDir(filepath.Dir(hp))
}

// Symlink makes p a symlink to target, replacing what is there atomically.
func (f *FS) Symlink(target, p string) (changed bool, err error) {
	hp, err := f.Path(p)
	if err != nil {
		return false, err
	}
	if cur, err := os.Readlink(hp); err == nil && cur == target {
		return false, nil
	}
	if err := f.mkParents(hp); err != nil {
		return false, err
	}
	tmp := filepath.Join(filepath.Dir(hp), "."+filepath.Base(hp)+".heatstrap-link")
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return false, fmt.Errorf("symlink %s: %w", f.Display(p), err)
	}
	if err := os.Rename(tmp, hp); err != nil {
		_ = os.Remove(tmp)
		return false, fmt.Errorf("symlink %s: %w", f.Display(p), err)
	}
	f.log.add(p)
	return true, syncDir(filepath.Dir(hp))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
