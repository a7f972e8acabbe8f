package systemd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
)

// Offline is the Backend for an image tree (--root): no systemd runs
// there, so it edits the [Install] symlinks exactly as `systemctl
// --root=DIR enable/disable` (systemd 252) would, and only records
// starts, stops and the daemon-reload for the log. Safe for concurrent use.
type Offline struct {
	files *hostfs.FS

	// mu serializes the symlink edits of concurrent steps (link checks
	// what is there before replacing it) and guards the fields below.
	mu      sync.Mutex
	dirty   bool
	actions []Action
}

// NewOffline returns the offline backend for the tree files is rooted at.
func NewOffline(files *hostfs.FS) *Offline { return &Offline{files: files} }

// For implements Backend. A nil files falls back to the backend's own.
func (o *Offline) For(files *hostfs.FS, step string) Manager {
	if files == nil {
		files = o.files
	}
	return &offlineManager{o: o, files: files, step: step}
}

// Flush implements Backend: it records one daemon-reload if a unit file
// changed since the last Flush. The queued starts stay records: there is
// nothing to start them in.
func (o *Offline) Flush(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dirty {
		o.dirty = false
		o.record(Action{Verb: "daemon-reload"})
	}
	return nil
}

// Actions implements Backend.
func (o *Offline) Actions() []Action {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.actions)
}

func (o *Offline) record(a Action) {
	a.At = time.Now()
	o.actions = append(o.actions, a)
}

type offlineManager struct {
	o     *Offline
	files *hostfs.FS // the step's recording view
	step  string
}

// Enable creates the units' [Install] symlinks. A unit without [Install]
// rules is left alone without error (systemctl only prints a notice).
func (m *offlineManager) Enable(_ context.Context, units ...string) (bool, error) {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	changed, err := enable(m.files, units)
	if err == nil {
		m.recordAll("enable", units)
	}
	return changed, err
}

// Disable removes the symlinks enable creates, and what else systemctl
// disable removes (see sweep).
func (m *offlineManager) Disable(_ context.Context, units ...string) (bool, error) {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	changed, err := disable(m.files, units)
	if err == nil {
		m.recordAll("disable", units)
	}
	return changed, err
}

func (m *offlineManager) Start(_ context.Context, units ...string) error {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	m.recordAll("start", units)
	return nil
}

func (m *offlineManager) Refresh(_ context.Context, units ...string) error {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	m.recordAll("refresh", units)
	return nil
}

func (m *offlineManager) Stop(_ context.Context, units ...string) error {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	m.recordAll("stop", units)
	return nil
}

func (m *offlineManager) NeedReload() {
	m.o.mu.Lock()
	m.o.dirty = true
	m.o.mu.Unlock()
}

// State implements Manager: offline there is nothing running to ask.
func (m *offlineManager) State(context.Context, string) (UnitState, error) {
	return UnitState{}, ErrOffline
}

// Flush implements Manager as the backend's Flush.
func (m *offlineManager) Flush(ctx context.Context) error { return m.o.Flush(ctx) }

func (m *offlineManager) recordAll(verb string, units []string) {
	for _, u := range units {
		m.o.record(Action{Step: m.step, Verb: verb, Unit: u})
	}
}

// enable follows systemctl 252's unit_file_enable: every unit asked for
// must load (else nothing at all is done); then each unit, and the units
// its Also= names, gets its links. An Also= unit that does not load is
// skipped ("Failed to enable auxiliary unit, ignoring"); a link that
// cannot be made is an error, but the other links are still made.
func enable(files *hostfs.FS, units []string) (bool, error) {
	var queue []*installInfo
	for _, u := range units {
		info, err := loadInstall(files, u, false)
		if err != nil {
			return false, fmt.Errorf("enable %s: %w", u, err)
		}
		queue = append(queue, info)
	}
	seen := map[string]bool{}
	changed := false
	var errs []error
	for i := 0; i < len(queue); i++ {
		info := queue[i]
		if seen[info.name] {
			continue
		}
		seen[info.name] = true
		for _, a := range info.alsoNames(&errs) {
			if aux, err := loadInstall(files, a, false); err == nil {
				queue = append(queue, aux)
			}
		}
		c, err := info.link(files)
		changed = changed || c
		if err != nil {
			errs = append(errs, err)
		}
	}
	return changed, errors.Join(errs...)
}

func (info *installInfo) alsoNames(errs *[]error) []string {
	var out []string
	for _, a := range info.also {
		n, err := expandSpecifiers(a, info.name)
		if err == nil && !validUnitName(n) {
			err = fmt.Errorf("%q is not a valid unit name", n)
		}
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: Also=: %w", info.name, err))
			continue
		}
		out = append(out, n)
	}
	return out
}

// link creates the Alias= symlinks, then the WantedBy=/RequiredBy= ones,
// all pointing at the unit file's absolute path in the target system.
func (info *installInfo) link(files *hostfs.FS) (bool, error) {
	changed := false
	var errs []error
	add := func(c bool, err error) {
		changed = changed || c
		if err != nil {
			errs = append(errs, fmt.Errorf("enable %s: %w", info.name, err))
		}
	}
	for _, a := range info.aliases {
		name, err := aliasName(info.name, a)
		if err != nil || name == "" {
			add(false, err)
			continue
		}
		// An alias conflicting with another file is an error, as
		// systemctl without --force.
		add(link(files, path.Join(UnitDir, name), info.path, false))
	}
	name := info.name
	if isTemplate(name) && info.defaultInstance != "" {
		inst, err := expandSpecifiers(info.defaultInstance, info.name)
		if err != nil {
			add(false, err)
			return changed, errors.Join(errs...)
		}
		name = withInstance(name, inst)
	}
	deps := []struct {
		list   []string
		suffix string
	}{{info.wantedBy, ".wants"}, {info.requiredBy, ".requires"}}
	for _, dep := range deps {
		for _, t := range dep.list {
			t, err := expandSpecifiers(t, info.name)
			switch {
			case err != nil:
			case !validUnitName(t):
				err = fmt.Errorf("%q is not a valid unit name", t)
			case isTemplate(name) && !isTemplate(t):
				err = fmt.Errorf("destination unit %s is a non-template unit", t)
			}
			if err != nil {
				add(false, err)
				continue
			}
			// systemctl 252 replaces a .wants/.requires symlink
			// pointing elsewhere (observed), unlike an alias.
			add(link(files, path.Join(UnitDir, t+dep.suffix, name), info.path, true))
		}
	}
	return changed, errors.Join(errs...)
}

// aliasName checks Alias= value a of unit name the way systemd's
// unit_validate_alias_symlink_or_warn does and returns the link name, or
// "" for an alias of the unit to itself, which systemctl ignores.
func aliasName(name, a string) (string, error) {
	a, err := expandSpecifiers(a, name)
	switch {
	case err != nil:
		return "", err
	case path.Base(a) != a:
		return "", fmt.Errorf("alias %s: .wants/.requires paths in Alias= are not supported", a)
	}
	if isTemplate(a) && isInstance(name) { // instance propagation
		a = withInstance(a, splitInstance(name))
	}
	_, ai, aAt := splitUnit(a)
	_, ni, nAt := splitUnit(name)
	switch {
	case !validUnitName(a):
		return "", fmt.Errorf("alias %q is not a valid unit name", a)
	case a == name:
		return "", nil
	case unitSuffix(a) != unitSuffix(name) || aAt != nAt || ai != ni:
		return "", fmt.Errorf("cannot alias %s as %s", name, a)
	}
	return a, nil
}

// link makes p a symlink to target. What is there already is kept when it
// leads to the same file (systemd's chroot_unit_symlinks_equivalent);
// another symlink is replaced only if force; anything else is an error.
func link(files *hostfs.FS, p, target string, force bool) (bool, error) {
	st, err := files.Lstat(p)
	switch {
	case missing(err):
		return files.Symlink(target, p)
	case err != nil:
		return false, err
	case st.Mode()&fs.ModeSymlink == 0:
		return false, fmt.Errorf("%s already exists", files.Display(p))
	}
	dest, err := readlink(files, p)
	if err != nil {
		return false, err
	}
	if sameFile(files, p, dest, target) {
		return false, nil
	}
	if !force {
		return false, fmt.Errorf("%s already exists and is a symlink to %s", files.Display(p), dest)
	}
	return files.Symlink(target, p)
}

// sameFile is systemd 252's chroot_unit_symlinks_equivalent: the same
// path, the same file inside the root, or the same file name in the unit
// search path. The last test is textual, ".." and all, as in systemd: a
// relative link one directory too shallow still counts (observed).
func sameFile(files *hostfs.FS, p, dest, target string) bool {
	if !path.IsAbs(dest) {
		dest = path.Dir(p) + "/" + dest
	}
	if path.Clean(dest) == path.Clean(target) {
		return true
	}
	a, okA, errA := chase(files, dest)
	b, okB, errB := chase(files, target)
	if errA == nil && errB == nil && okA && okB && a == b {
		return true
	}
	return path.Base(dest) == path.Base(target) && underSearchPath(dest) && underSearchPath(target)
}

// underSearchPath: p starts with a search directory, compared component
// by component without resolving anything (systemd's path_startswith).
func underSearchPath(p string) bool {
	parts := strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
	for _, dir := range searchPath {
		d := strings.FieldsFunc(dir, func(r rune) bool { return r == '/' })
		if len(parts) > len(d) && slices.Equal(parts[:len(d)], d) {
			return true
		}
	}
	return false
}
