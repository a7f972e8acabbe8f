package steps

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/hostfs"
)

const fedoraSelinuxConfig = `# This file controls the state of SELinux on the system.
# SELINUX= can take one of these three values:
#     enforcing - SELinux security policy is enforced.
#     permissive - SELinux prints warnings instead of enforcing.
#     disabled - No SELinux policy is loaded.
SELINUX=enforcing
# SELINUXTYPE= can take one of these three values:
#     targeted - Targeted processes are protected,
#     mls - Multi Level Security protection.
SELINUXTYPE=mls
`

func TestDisableSelinuxSkipsWithoutSelinux(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	for _, live := range []bool{false, true} {
		skipped, changed, err := n.runLogged(disableSelinux, runOpts{live: live, exec: &fakeExec{}})
		if err != nil || skipped != "SELinux is not present (no /etc/selinux/config)" || len(changed) > 0 {
			t.Errorf("live=%v: skipped=%q changed=%v err=%v", live, skipped, changed, err)
		}
	}
}

func TestDisableSelinuxConfig(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"enforcing, mls kept", fedoraSelinuxConfig, "SELINUX=permissive\nSELINUXTYPE=mls\n"},
		{"no type: targeted", "SELINUX=enforcing\n", "SELINUX=permissive\nSELINUXTYPE=targeted\n"},
		{"disabled stays disabled", "SELINUX=disabled\nSELINUXTYPE=targeted\n", "SELINUX=disabled\nSELINUXTYPE=targeted\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNode(t, config.RoleMinion, nil)
			n.write(selinuxConfig, tc.in, 0o640) // an unusual mode the step must keep
			// Offline: the step's command runner refuses, so any command fails the run.
			changed := n.mustRun(runOpts{}, disableSelinux)
			got := n.checkMeta(selinuxConfig, "0640 root:root")
			if !strings.HasSuffix(got, "\n"+tc.want) || strings.Count(got, "SELINUX=") != 1 {
				t.Errorf("config:\n%s\nwant it to end with\n%s", got, tc.want)
			}
			if len(changed) != 1 || changed[0] != selinuxConfig {
				t.Errorf("changed %v", changed)
			}
			n.assertQuietRerun(disableSelinux, runOpts{}, selinuxConfig)
		})
	}
}

func TestDisableSelinuxLive(t *testing.T) {
	for _, tc := range []struct {
		name, enforce string
		config        bool
		wantCmds      string
	}{
		{"enforcing", "1", true, "setenforce 0"},
		{"already permissive", "0", true, ""},
		{"selinuxfs without config", "1", false, "setenforce 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNode(t, config.RoleMaster, nil)
			n.write(selinuxEnforce, tc.enforce, 0o644)
			if tc.config {
				n.write(selinuxConfig, "SELINUX=enforcing\n", 0o644)
			}
			exec := &fakeExec{}
			n.mustRun(runOpts{live: true, exec: exec}, disableSelinux)
			if got := strings.Join(exec.cmds, "; "); got != tc.wantCmds {
				t.Errorf("commands %q, want %q", got, tc.wantCmds)
			}
			if _, err := os.Stat(n.hostPath(selinuxConfig)); tc.config == (err != nil) {
				t.Errorf("config exists=%v, want %v", err == nil, tc.config)
			}
		})
	}
}

func TestDisableSelinuxReadsOnlyDeclared(t *testing.T) {
	seed := Step{Name: "seed", Run: func(_ context.Context, e *Env) error {
		_, err := e.Files.WriteFile(hostfs.File{Path: selinuxConfig, Data: []byte(fedoraSelinuxConfig), Mode: 0o644})
		return err
	}}
	checkReadsOnlyDeclared(t, config.RoleMaster, nil, disableSelinux, seed)
}
