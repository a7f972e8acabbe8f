package steps

import (
	"context"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/systemd"
)

const proxyProfile = "/etc/profile.d/heatstrap-proxy.sh"

// addProxy gives docker and login shells the cluster's proxy (spec M9).
//
// Deliberate differences from Mitaka: docker gets HTTPS_PROXY and NO_PROXY
// too, not only HTTP_PROXY (§9.9: HTTPS pulls ignored the proxy); shells
// get a file in /etc/profile.d rendered whole instead of lines appended to
// /etc/bashrc on every run (§9.7); an emptied proxy removes both files.
var addProxy = Step{
	Name:    "add-proxy",
	Summary: "docker and login shells use HTTP_PROXY, HTTPS_PROXY and NO_PROXY",
	Reads:   []config.Key{config.HTTPProxy, config.HTTPSProxy, config.NoProxy},
	Run: func(ctx context.Context, e *Env) error {
		p := e.Params
		vars := [][2]string{{"HTTP_PROXY", p.HTTPProxy}, {"HTTPS_PROXY", p.HTTPSProxy}, {"NO_PROXY", p.NoProxy}}
		var env []string
		var exports [][2]string
		for _, v := range vars {
			if v[1] == "" {
				continue
			}
			if err := checkValue(v[0], v[1]); err != nil {
				return err
			}
			env = append(env, v[0]+"="+v[1])
			exports = append(exports, v, [2]string{strings.ToLower(v[0]), v[1]})
		}
		var changed bool
		var err error
		if len(env) == 0 {
			changed, err = removeProxy(e)
		} else {
			opts := make([]*unit.UnitOption, 0, len(env))
			for _, kv := range env {
				// unit.Serialize writes the value as is; a value with a
				// space or quote must be quoted for systemd's parser.
				opts = append(opts, opt("Service", "Environment", systemdQuote(kv)))
			}
			var c1, c2 bool
			if c1, err = systemd.WriteDropIn(e.Files, e.Units, "docker.service", "proxy.conf", opts); err == nil {
				c2, err = e.converge(file{path: proxyProfile, template: "profile-env", mode: 0o644, data: profileData("add-proxy", exports...)})
			}
			changed = c1 || c2
		}
		if err != nil || !changed {
			return err
		}
		// Mitaka restarted docker here; a queued start restarts it only if
		// it is running with the old settings.
		return e.Units.Start(ctx, "docker.service")
	},
}

func removeProxy(e *Env) (bool, error) {
	c1, err := systemd.RemoveDropIn(e.Files, e.Units, "docker.service", "proxy.conf")
	if err != nil {
		return false, err
	}
	c2, err := e.Files.Remove(proxyProfile)
	return c1 || c2, err
}

// systemdQuote quotes an Environment= assignment when systemd would
// otherwise split it at whitespace or interpret quotes and backslashes.
// "%" is doubled in any case: systemd expands specifiers in Environment=,
// so a percent-encoded proxy password ("p%40ss") would be refused or,
// worse, rewritten ("%h" is the home directory).
func systemdQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if !strings.ContainsAny(s, " \t\"'\\") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
