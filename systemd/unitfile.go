package systemd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"unicode"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/hostfs"
)

// UnitDir is where heatstrap writes units and drop-ins, and where enable
// puts its symlinks: systemd's persistent configuration directory.
const UnitDir = "/etc/systemd/system"

// searchPath is the unit search path of `systemctl --root` (systemd 252 as
// built by Debian) minus the /run and control/attached directories, which
// an image tree does not carry. Observed order: /lib comes BEFORE /usr/lib,
// so on a merged-/usr image (/lib -> usr/lib) units are found, and linked
// to, as /lib/systemd/system/x; we match that rather than the upstream
// /usr-only layout, because the differential tests hold us to this binary.
var searchPath = []string{
	UnitDir,
	"/usr/local/lib/systemd/system",
	"/lib/systemd/system",
	"/usr/lib/systemd/system",
}

// SearchPath returns the directories FindUnit searches, in order.
func SearchPath() []string { return slices.Clone(searchPath) }

func inSearchPath(dir string) bool { return slices.Contains(searchPath, path.Clean(dir)) }

// writableTypes are the unit types steps may write.
var writableTypes = []string{".service", ".mount", ".target", ".socket", ".timer", ".path"}

func checkWritableName(name string) error {
	if !validUnitName(name) || !slices.Contains(writableTypes, unitSuffix(name)) {
		return fmt.Errorf("invalid unit name %q: want a name like x.service (types %s)", name, strings.Join(writableTypes, " "))
	}
	return nil
}

// Opt builds one unit option.
func Opt(section, name, value string) *unit.UnitOption {
	return &unit.UnitOption{Section: section, Name: name, Value: value}
}

// WriteUnit writes /etc/systemd/system/<name>, 0644 root:root, and asks m
// (may be nil) for a daemon-reload when the file changed.
func WriteUnit(files *hostfs.FS, m Manager, name string, opts []*unit.UnitOption) (changed bool, err error) {
	if err := checkWritableName(name); err != nil {
		return false, err
	}
	return writeOptions(files, m, path.Join(UnitDir, name), opts)
}

// WriteDropIn writes /etc/systemd/system/<unitName>.d/<dropIn>.
func WriteDropIn(files *hostfs.FS, m Manager, unitName, dropIn string, opts []*unit.UnitOption) (changed bool, err error) {
	p, err := dropInPath(unitName, dropIn)
	if err != nil {
		return false, err
	}
	return writeOptions(files, m, p, opts)
}

// RemoveDropIn removes a drop-in written by WriteDropIn, and its .d
// directory once empty: nothing else of ours lives there, and an empty
// directory left behind would only puzzle whoever reads the tree later.
func RemoveDropIn(files *hostfs.FS, m Manager, unitName, dropIn string) (changed bool, err error) {
	p, err := dropInPath(unitName, dropIn)
	if err != nil {
		return false, err
	}
	if changed, err = files.Remove(p); err != nil || !changed {
		return changed, err
	}
	if m != nil {
		m.NeedReload()
	}
	return true, removeEmptyParents(files, path.Dir(p), UnitDir)
}

func dropInPath(unitName, dropIn string) (string, error) {
	if err := checkWritableName(unitName); err != nil {
		return "", err
	}
	// systemd reads only *.conf and skips hidden files.
	if !strings.HasSuffix(dropIn, ".conf") || len(dropIn) == len(".conf") ||
		strings.ContainsRune(dropIn, '/') || strings.HasPrefix(dropIn, ".") {
		return "", fmt.Errorf("invalid drop-in name %q for %s: want a plain file name ending in .conf", dropIn, unitName)
	}
	return path.Join(UnitDir, unitName+".d", dropIn), nil
}

func writeOptions(files *hostfs.FS, m Manager, p string, opts []*unit.UnitOption) (bool, error) {
	// An empty unit file is how systemd marks a unit masked: never write
	// one by accident.
	if len(opts) == 0 {
		return false, fmt.Errorf("%s: no options", p)
	}
	for _, o := range opts {
		if err := checkOption(o); err != nil {
			return false, fmt.Errorf("%s: %w", p, err)
		}
	}
	data, err := io.ReadAll(unit.Serialize(opts))
	if err != nil {
		return false, err
	}
	changed, err := files.WriteFile(hostfs.File{Path: p, Data: data, Mode: 0o644, Owner: "root", Group: "root"})
	if changed && m != nil {
		m.NeedReload()
	}
	return changed, err
}

// checkOption refuses what unit.Serialize would write verbatim but systemd
// would read differently: a newline in a value would inject lines (a heat
// parameter could add an ExecStartPre=), a trailing backslash continues the
// value onto the next line, and surrounding blanks are stripped on reading.
// What passes reads back exactly as written.
func checkOption(o *unit.UnitOption) error {
	switch {
	case o == nil:
		return errors.New("nil option")
	case o.Section == "" || strings.ContainsAny(o.Section, "[]\r\n"):
		return fmt.Errorf("invalid section name %q", o.Section)
	case o.Name == "" || strings.ContainsAny(o.Name, "=[#;\r\n \t"):
		return fmt.Errorf("[%s]: invalid option name %q", o.Section, o.Name)
	case strings.ContainsAny(o.Value, "\r\n"):
		return fmt.Errorf("[%s] %s: value contains a line break", o.Section, o.Name)
	case strings.HasSuffix(o.Value, `\`):
		return fmt.Errorf("[%s] %s: value ends in a backslash, which systemd reads as a line continuation", o.Section, o.Name)
	case strings.TrimFunc(o.Value, unicode.IsSpace) != o.Value:
		return fmt.Errorf("[%s] %s: value has leading or trailing blanks, which systemd strips", o.Section, o.Name)
	}
	return nil
}

// NotFoundError says that no search directory holds a unit. It matches
// fs.ErrNotExist.
type NotFoundError struct {
	Unit, Root string
	Dirs       []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("unit %s not found under root %s (searched %s)", e.Unit, e.Root, strings.Join(e.Dirs, ", "))
}

// Is makes errors.Is(err, fs.ErrNotExist) true.
func (e *NotFoundError) Is(target error) bool { return target == fs.ErrNotExist }

// FindUnit returns the path, in the target system, of the unit file that
// systemd would load for name: the first search directory holding an
// entry of that name (a symlink counts, dangling or not, as for systemd),
// then, for an instance "x@i.service", the first holding the template.
func FindUnit(files *hostfs.FS, name string) (string, error) {
	if !validUnitName(name) {
		return "", fmt.Errorf("invalid unit name %q", name)
	}
	names := []string{name}
	if isInstance(name) {
		names = append(names, templateOf(name))
	}
	for _, n := range names {
		for _, dir := range searchPath {
			p := path.Join(dir, n)
			if _, err := files.Lstat(p); err == nil {
				return p, nil
			} else if !missing(err) {
				return "", fmt.Errorf("look for %s: %w", files.Display(p), err)
			}
		}
	}
	return "", &NotFoundError{Unit: name, Root: files.Root(), Dirs: SearchPath()}
}

// ReadUnit parses a unit file or drop-in of the target system.
func ReadUnit(files *hostfs.FS, p string) ([]*unit.UnitOption, error) {
	data, err := files.ReadFile(p)
	if err != nil {
		return nil, err
	}
	opts, err := unit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", files.Display(p), err)
	}
	return opts, nil
}

// readDir lists a directory of the target system in the kernel's order,
// unsorted, because systemctl's disable walks it in that order and the
// order can decide which symlinks survive (see sweep). A missing
// directory is empty. hostfs has no directory listing; this only reads.
func readDir(files *hostfs.FS, dir string) ([]fs.DirEntry, error) {
	hp, err := files.Path(dir)
	if err != nil {
		return nil, err
	}
	d, err := os.Open(hp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// missing: p, or a directory on the way to it, does not exist.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// readlink reads a symlink of the target system (read-only, like Lstat).
func readlink(files *hostfs.FS, p string) (string, error) {
	hp, err := files.Path(p)
	if err != nil {
		return "", err
	}
	return os.Readlink(hp)
}
