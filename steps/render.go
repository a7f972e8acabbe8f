package steps

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"text/template"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/systemd"
)

//go:embed templates
var templateFS embed.FS

var templates = template.Must(template.New("").Option("missingkey=error").Funcs(template.FuncMap{
	"q":    envQuote,
	"sh":   shellQuote,
	"yq":   yamlQuote,
	"join": strings.Join,
}).ParseFS(templateFS, "templates/*"))

// render executes one embedded template. Files are always rendered whole:
// a rerun produces the same bytes, so hostfs leaves the file untouched.
func render(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// envQuote quotes a value for a systemd EnvironmentFile (and the Fedora
// sysconfig files that are also read by it): double quotes, with \ and "
// escaped. Values were validated when heat-params was read; a newline
// would end the assignment, so it cannot reach here (see checkValue).
func envQuote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// shellQuote single-quotes a value for /etc/profile.d (POSIX sh).
func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// yamlQuote double-quotes a value for YAML (JSON string syntax is YAML).
func yamlQuote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// checkValue refuses a value that would break out of its line in a
// rendered file. heat-params cannot carry a newline (the reader rejects
// it), so this guards values from the agent config.
func checkValue(key, v string) error {
	if strings.ContainsAny(v, "\n\r\x00") {
		return fmt.Errorf("%s: value contains a newline or NUL; refusing to render it", key)
	}
	return nil
}

// file is one rendered file to converge.
type file struct {
	path         string
	template     string
	data         any
	mode         fs.FileMode
	owner, group string
}

// writeFiles renders and converges files in order.
func (e *Env) writeFiles(files ...file) error {
	_, err := e.converge(files...)
	return err
}

// converge is writeFiles that also says whether anything changed.
func (e *Env) converge(files ...file) (changed bool, err error) {
	for _, f := range files {
		data, err := render(f.template, f.data)
		if err != nil {
			return changed, err
		}
		c, err := e.Files.WriteFile(hostfs.File{Path: f.path, Data: data, Mode: f.mode, Owner: f.owner, Group: f.group})
		if err != nil {
			return changed, err
		}
		changed = changed || c
	}
	return changed, nil
}

// unitFile is a unit or drop-in as go-systemd options, never as
// concatenated strings.
type unitFile struct {
	name   string // unit name, e.g. flannel-config.service
	dropIn string // drop-in file name inside <name>.d/, "" for the unit itself
	opts   []*unit.UnitOption
}

func (e *Env) writeUnits(units ...unitFile) error {
	for _, u := range units {
		var err error
		if u.dropIn == "" {
			_, err = systemd.WriteUnit(e.Files, e.Units, u.name, u.opts)
		} else {
			_, err = systemd.WriteDropIn(e.Files, e.Units, u.name, u.dropIn, u.opts)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// opt abbreviates unit options.
func opt(section, name, value string) *unit.UnitOption {
	return &unit.UnitOption{Section: section, Name: name, Value: value}
}

// flannelOn is the condition of every flannel step (spec §7).
func flannelOn(e *Env) string {
	if d := e.Params.NetworkDriver; d != "flannel" {
		return fmt.Sprintf("NETWORK_DRIVER is %q, not flannel", d)
	}
	return ""
}
