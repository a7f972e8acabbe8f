package steps

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"

	"github.com/heatstrap/heatstrap/command"
)

const (
	selinuxConfig  = "/etc/selinux/config"
	selinuxFS      = "/sys/fs/selinux"
	selinuxEnforce = selinuxFS + "/enforce"
)

// disableSelinux makes SELinux permissive, now and at the next boot (spec
// M1). Permissive rather than enforcing is Mitaka parity: the pods of that
// era bind-mount host paths (/srv/kubernetes, /etc/ssl/certs, the manifest
// directories) that carry no container labels, so enforcing mode would
// deny them. Denials are still logged. Turning enforcement off for the
// whole node is a known weakness kept on purpose (spec §9.10).
//
// Deliberate differences from Mitaka:
//   - /etc/selinux/config is rendered whole (mode and owner kept) instead of
//     sed-edited, keeping its SELINUXTYPE;
//   - SELINUX=disabled is left alone: it already meets the goal, and turning
//     it into permissive would load the policy on an unlabelled filesystem
//     at the next boot;
//   - setenforce runs only when the kernel is enforcing, and only live.
var disableSelinux = Step{
	Name:    "disable-selinux",
	Summary: "SELinux permissive now (when present) and in /etc/selinux/config",
	When: func(e *Env) string {
		if e.Files.Exists(selinuxConfig) || (e.Live && e.Files.Exists(selinuxFS)) {
			return ""
		}
		return "SELinux is not present (no /etc/selinux/config)"
	},
	Run: func(ctx context.Context, e *Env) error {
		if err := writeSelinuxConfig(e); err != nil {
			return err
		}
		if !e.Live {
			return nil
		}
		cur, err := e.Files.ReadFile(selinuxEnforce)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && strings.TrimSpace(string(cur)) == "0") {
			return nil // SELinux off in the kernel, or already permissive
		} else if err != nil {
			return err
		}
		_, err = e.Exec.Run(ctx, command.Cmd{Name: "setenforce", Args: []string{"0"}})
		return err
	},
}

// writeSelinuxConfig renders /etc/selinux/config when it exists. A node
// whose kernel has SELinux but no config file loads no policy at boot, so
// creating one would enable SELinux rather than relax it.
func writeSelinuxConfig(e *Env) error {
	old, err := e.Files.ReadFile(selinuxConfig)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	data := struct{ Mode, Type string }{Mode: "permissive", Type: "targeted"}
	sc := bufio.NewScanner(bytes.NewReader(old))
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		val = strings.Trim(strings.TrimSpace(val), `"'`)
		switch {
		case !ok || val == "":
		case key == "SELINUXTYPE":
			data.Type = val
		case key == "SELINUX" && val == "disabled":
			data.Mode = val
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	text, err := render("selinux-config", data)
	if err != nil {
		return err
	}
	// ReplaceFile keeps the file's mode and owner, as Mitaka's sed -i did.
	_, err = e.Files.ReplaceFile(selinuxConfig, text)
	return err
}
