package systemd

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"
)

// UnitState is a unit as systemd sees it at one moment.
type UnitState struct {
	Name        string
	LoadState   string // loaded, not-found, masked, bad-setting, error
	ActiveState string // active, reloading, inactive, failed, activating, deactivating
	SubState    string // running, exited, dead, auto-restart, mounted, ...
	// Result of the last run: success, exit-code, signal, timeout,
	// start-limit-hit, ... ("" for unit types without one).
	Result string
	// Job is the id of the job systemd has queued for the unit, 0 if none.
	Job uint32
	// Since is when the unit last entered "active"; zero if it never did.
	Since time.Time
	// InvocationID changes with every start, so a test can tell a
	// restart from none even within one clock tick.
	InvocationID string
	// Needs are the units it Requires=, BindsTo= or Requisite=: when one
	// of them fails, systemd drops this unit's start and leaves it
	// inactive without a failure of its own.
	Needs []string

	needReload bool     // NeedDaemonReload: its files changed since loaded
	files      []string // unit file, drop-ins, EnvironmentFiles, ReadsKey files
}

// Up reports the state the health gates wait for: active, which for a
// oneshot with RemainAfterExit= means it succeeded.
func (s UnitState) Up() bool { return s.ActiveState == "active" }

// String is how a gate names the unit in a FAILURE reason:
// "etcd.service is failed (Result=exit-code)".
func (s UnitState) String() string {
	switch {
	case s.LoadState != "" && s.LoadState != "loaded":
		return fmt.Sprintf("%s is not loaded (LoadState=%s)", s.Name, s.LoadState)
	case s.ActiveState == "failed":
		return fmt.Sprintf("%s is failed (Result=%s)", s.Name, s.Result)
	}
	detail := s.SubState
	if s.Job != 0 {
		detail += ", job queued"
	}
	return fmt.Sprintf("%s is %s (%s)", s.Name, s.ActiveState, detail)
}

// running: up or on its way there, so a start has nothing to do.
func (s UnitState) running() bool {
	return s.ActiveState == "active" || s.ActiveState == "reloading" || s.ActiveState == "activating"
}

// stale: a file the unit was started from changed after it became
// active. Our writes leave unchanged files untouched, so mtimes move only
// on a real change; a unit still starting (zero Since) is never stale.
func (s UnitState) stale(stat func(string) (os.FileInfo, error)) (string, bool) {
	if s.Since.IsZero() {
		return "", false
	}
	for _, f := range s.files {
		if st, err := stat(f); err == nil && st.ModTime().After(s.Since) {
			return f, true
		}
	}
	return "", false
}

// state reads the properties Flush and the gates decide on.
func (l *Live) state(ctx context.Context, unit string) (UnitState, error) {
	ctx, cancel := context.WithTimeout(ctx, busTimeout)
	defer cancel()
	props, err := l.conn.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return UnitState{}, fmt.Errorf("read the state of %s over D-Bus: %w", unit, err)
	}
	st := UnitState{Name: unit}
	st.LoadState, _ = props["LoadState"].(string)
	st.ActiveState, _ = props["ActiveState"].(string)
	st.SubState, _ = props["SubState"].(string)
	st.needReload, _ = props["NeedDaemonReload"].(bool)
	if us, ok := props["ActiveEnterTimestamp"].(uint64); ok && us > 0 {
		st.Since = time.UnixMicro(int64(us))
	}
	if id, ok := props["InvocationID"].([]byte); ok {
		st.InvocationID = hex.EncodeToString(id)
	}
	if job, ok := props["Job"].([]any); ok && len(job) > 0 {
		st.Job, _ = job[0].(uint32)
	}
	if p, ok := props["FragmentPath"].(string); ok && p != "" {
		st.files = append(st.files, p)
	}
	if ds, ok := props["DropInPaths"].([]string); ok {
		st.files = append(st.files, ds...)
	}
	st.files = append(st.files, l.declaredReads(st.files)...)
	for _, dep := range []string{"Requires", "BindsTo", "Requisite"} {
		if us, ok := props[dep].([]string); ok {
			st.Needs = append(st.Needs, us...)
		}
	}
	if st.LoadState != "loaded" {
		return st, nil
	}
	// Result and EnvironmentFiles live on the type's interface (Service,
	// Mount, ...); a target has neither, which is no error.
	if typed, err := l.conn.GetUnitTypePropertiesContext(ctx, unit, unitType(unit)); err == nil {
		st.Result, _ = typed["Result"].(string)
		st.files = append(st.files, envFiles(typed["EnvironmentFiles"])...)
	}
	return st, nil
}

// declaredReads are the files a unit's fragment and drop-ins name in
// ReadsKey: data its program reads that systemd knows nothing of.
func (l *Live) declaredReads(unitFiles []string) []string {
	var out []string
	for _, p := range unitFiles {
		opts, err := ReadUnit(l.files, p)
		if err != nil {
			continue // gone or unreadable: systemd's own properties still count
		}
		for _, o := range opts {
			if o.Section == "Unit" && o.Name == ReadsKey {
				out = append(out, strings.Fields(o.Value)...)
			}
		}
	}
	return out
}

// envFiles decodes the a(sb) EnvironmentFiles property: path, and whether
// a missing file is fine ("-" prefix). Missing files cannot be stale.
func envFiles(v any) []string {
	var out []string
	if list, ok := v.([][]any); ok {
		for _, item := range list {
			if len(item) > 0 {
				if p, ok := item[0].(string); ok {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// unitType is the D-Bus interface suffix of a unit name: "etcd.service"
// -> "Service", "var-lib-docker.mount" -> "Mount".
func unitType(name string) string {
	t := strings.TrimPrefix(unitSuffix(name), ".")
	if t == "" {
		return "Service"
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

// busAddress is where go-systemd connects: DBUS_SYSTEM_BUS_ADDRESS, else
// the standard socket.
func busAddress() string {
	if env := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); env != "" {
		return env
	}
	return DefaultBus
}
