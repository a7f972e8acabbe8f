package systemd

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/heatstrap/heatstrap/hostfs"
)

// disable follows systemctl 252's unit_file_disable. It does not read
// WantedBy= at all: it collects the names of the units (as asked, as
// found after aliases, and their Also= units, recursively), then removes
// every symlink under /etc/systemd/system that names or leads to one of
// them. A masked unit is skipped, its mask kept. A unit that does not
// exist is no error (systemctl prints "does not exist" and exits 0), and
// links bearing its name still go.
func disable(files *hostfs.FS, units []string) (bool, error) {
	names, seen := map[string]bool{}, map[string]bool{}
	queue := append([]string(nil), units...)
	var errs []error
	for i := 0; i < len(queue); i++ {
		name := queue[i]
		if !validUnitName(name) {
			return false, fmt.Errorf("disable: invalid unit name %q", name)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		info, err := loadInstall(files, name, true)
		if errors.Is(err, errMasked) {
			continue // systemctl: "Unit file is masked, ignoring."
		}
		names[name] = true
		if err != nil {
			continue // missing or dangling: only its name is swept
		}
		names[info.name] = true
		queue = append(queue, info.alsoNames(&errs)...)
	}
	changed, err := sweep(files, UnitDir, names)
	return changed, errors.Join(append(errs, err)...)
}

// sweep walks dir depth-first in directory order, as systemd's
// remove_marked_symlinks_fd, and removes each symlink with a valid unit
// name that
//   - is named after a marked unit, or is an instance of a marked template;
//   - or resolves, inside the root, to a file named after a marked unit
//     (an alias such as etcd2.service -> .../etcd.service, a renamed link,
//     a link through an alias, even a dangling /nowhere/etcd.service).
//
// The resolution happens when the link is reached, so a link to an alias
// removed earlier in the same walk no longer leads to the unit and stays:
// systemctl behaves so (observed), its result then depending on directory
// order, which is why we walk in the same order rather than sorted.
// A directory emptied by a removal is removed too, up to dir; directories
// that were empty before stay.
func sweep(files *hostfs.FS, dir string, names map[string]bool) (bool, error) {
	entries, err := readDir(files, dir)
	if err != nil {
		return false, err
	}
	changed := false
	var errs []error
	for _, e := range entries {
		p := path.Join(dir, e.Name())
		if e.IsDir() {
			c, err := sweep(files, p, names)
			changed = changed || c
			errs = append(errs, err)
			continue
		}
		if e.Type()&fs.ModeSymlink == 0 || !validUnitName(e.Name()) {
			continue
		}
		if !names[e.Name()] && !names[templateOf(e.Name())] {
			final, _, err := chase(files, p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !names[path.Base(final)] {
				continue
			}
		}
		c, err := files.Remove(p)
		changed = changed || c
		if err == nil {
			err = removeEmptyParents(files, dir, UnitDir)
		}
		errs = append(errs, err)
	}
	return changed, errors.Join(errs...)
}

// removeEmptyParents removes dir and its parents while they are empty,
// stopping below top (systemd's rmdir_parents).
func removeEmptyParents(files *hostfs.FS, dir, top string) error {
	for ; strings.HasPrefix(dir, top+"/"); dir = path.Dir(dir) {
		entries, err := readDir(files, dir)
		if err != nil || len(entries) > 0 {
			return err
		}
		if _, err := files.Remove(dir); err != nil {
			return err
		}
	}
	return nil
}
