package systemd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/hostfs"
)

// installInfo is a unit's [Install] section, as systemctl enable reads it.
type installInfo struct {
	name string // the unit name enable works on (an instance stays one)
	path string // its unit file in the target system: the symlinks' target

	aliases, wantedBy, requiredBy, also []string
	defaultInstance                     string
}

// errMasked marks a unit linked to /dev/null or empty: enable refuses it
// and disable leaves its mask alone.
var errMasked = errors.New("unit is masked")

// maxHops bounds symlink chains, as systemd's UNIT_FILE_FOLLOW_SYMLINK_MAX.
const maxHops = 64

// loadInstall finds name and follows symlinks the way systemctl 252 does
// (all observed with --root):
//   - a symlink to /dev/null or an empty file is a masked unit: error;
//   - a symlink to a file outside the search path is a linked unit: the
//     target is used, under the name asked for;
//   - a symlink into the search path is an alias: followed, and the unit
//     then goes by the target's name (links are named after it), except
//     that enable refuses an alias living in /etc ("refusing to operate on
//     linked unit file"); disable follows it (followConfig).
func loadInstall(files *hostfs.FS, name string, followConfig bool) (*installInfo, error) {
	p, err := FindUnit(files, name)
	if err != nil {
		return nil, err
	}
	for hops := 0; ; hops++ {
		if hops > maxHops {
			return nil, fmt.Errorf("unit %s: too many levels of symlinks at %s", name, files.Display(p))
		}
		st, err := files.Lstat(p)
		if err != nil {
			return nil, fmt.Errorf("unit %s: %w", name, err)
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			if st.Mode().IsRegular() && st.Size() == 0 || st.Mode()&fs.ModeCharDevice != 0 {
				return nil, fmt.Errorf("%w: %s (%s is empty)", errMasked, name, files.Display(p))
			}
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("unit %s: %s is not a regular file", name, files.Display(p))
			}
			return parseInstall(files, name, p)
		}
		dest, err := readlink(files, p)
		if err != nil {
			return nil, err
		}
		if !path.IsAbs(dest) {
			dest = path.Join(path.Dir(p), dest)
		}
		dest = path.Clean(dest)
		final, exists, err := chase(files, dest)
		switch {
		case err != nil:
			return nil, err
		case dest == "/dev/null" || final == "/dev/null":
			return nil, fmt.Errorf("%w: %s (%s -> /dev/null)", errMasked, name, files.Display(p))
		case !exists:
			return nil, fmt.Errorf("unit %s: %s is a dangling symlink to %s", name, files.Display(p), dest)
		}
		if inSearchPath(path.Dir(dest)) {
			if path.Dir(p) == UnitDir && !followConfig {
				return nil, fmt.Errorf("unit %s: refusing to operate on linked unit file %s -> %s, as systemctl does", name, files.Display(p), dest)
			}
			switch alias := path.Base(dest); {
			case isInstance(name) && isTemplate(alias):
				name = withInstance(alias, splitInstance(name))
			default:
				name = alias
			}
		}
		p = dest
	}
}

func splitInstance(name string) string {
	_, inst, _ := splitUnit(name)
	return inst
}

// parseInstall reads [Install] from the unit file and then from its
// drop-ins. systemctl 252 does honour [Install] in drop-ins (observed), but
// only in <name>.d/ (and, for an instance, <template>.d/) in the search
// path, not in type-wide service.d/ or prefix foo-.service.d/ ones. A
// drop-in name in an earlier directory hides the same name in later ones;
// all are applied in name order; an empty value resets a list.
func parseInstall(files *hostfs.FS, name, unitPath string) (*installInfo, error) {
	info := &installInfo{name: name, path: unitPath}
	if err := info.parse(files, unitPath); err != nil {
		return nil, err
	}
	names := []string{name}
	if isInstance(name) {
		names = append(names, templateOf(name))
	}
	dropIns := map[string]string{} // file name -> path
	for _, dir := range searchPath {
		for _, n := range names {
			d := path.Join(dir, n+".d")
			entries, err := readDir(files, d)
			if err != nil && !missing(err) {
				return nil, err
			}
			for _, e := range entries {
				f := e.Name()
				if _, seen := dropIns[f]; !seen && !e.IsDir() && strings.HasSuffix(f, ".conf") && !strings.HasPrefix(f, ".") {
					dropIns[f] = path.Join(d, f)
				}
			}
		}
	}
	for _, f := range slices.Sorted(maps.Keys(dropIns)) {
		final, exists, err := chase(files, dropIns[f])
		if err != nil {
			return nil, err
		}
		if !exists { // what systemctl says, too
			return nil, fmt.Errorf("unit %s does not exist: drop-in %s is dangling", name, files.Display(dropIns[f]))
		}
		if err := info.parse(files, final); err != nil {
			return nil, err
		}
	}
	return info, nil
}

func (info *installInfo) parse(files *hostfs.FS, p string) error {
	data, err := files.ReadFile(p)
	if err != nil {
		return err
	}
	opts, err := unit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("parse %s: %w", files.Display(p), err)
	}
	for _, o := range opts {
		if o.Section != "Install" {
			continue
		}
		// go-systemd keeps continuation lines as "\\\n"; systemd joins
		// them with a space.
		v := strings.ReplaceAll(o.Value, "\\\n", " ")
		var list *[]string
		switch o.Name {
		case "Alias":
			list = &info.aliases
		case "WantedBy":
			list = &info.wantedBy
		case "RequiredBy":
			list = &info.requiredBy
		case "Also":
			list = &info.also
		case "DefaultInstance":
			info.defaultInstance = strings.TrimSpace(v)
			continue
		default:
			// UpheldBy= among them: systemctl 252 warns "Unknown key
			// 'UpheldBy' in section [Install]" and creates nothing.
			continue
		}
		if strings.TrimSpace(v) == "" {
			*list = nil
			continue
		}
		*list = append(*list, strings.Fields(v)...)
	}
	return nil
}

// chase resolves p inside the root as if chrooted there, following every
// symlink on the way (".." never climbs above the root). A missing
// component ends the walk with the rest appended unresolved and exists
// false, as systemd's chase_symlinks(CHASE_NONEXISTENT).
func chase(files *hostfs.FS, p string) (resolved string, exists bool, err error) {
	todo := strings.Split(p, "/")
	cur := "/"
	for hops := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		st, err := files.Lstat(next)
		if missing(err) {
			return path.Join(append([]string{next}, todo...)...), false, nil
		}
		if err != nil {
			return "", false, err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > maxHops {
			return "", false, fmt.Errorf("%s: too many levels of symlinks", files.Display(p))
		}
		dest, err := readlink(files, next)
		if err != nil {
			return "", false, err
		}
		if path.IsAbs(dest) {
			cur = "/"
		}
		todo = append(strings.Split(dest, "/"), todo...)
	}
	return cur, true, nil
}
