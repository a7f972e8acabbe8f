package steps

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
)

const dockerProxyDropIn = "/etc/systemd/system/docker.service.d/proxy.conf"

// systemdEnvironment reads Environment= values the way systemd does
// (config_parse_environ): specifiers first ("%%" is "%"; any other "%x"
// would be expanded or refused, so here it is an error), then words split
// at whitespace with "..." and '...' quoting and backslash escapes.
func systemdEnvironment(t *testing.T, values []string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, v := range values {
		var spec strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] != '%' {
				spec.WriteByte(v[i])
				continue
			}
			if i+1 < len(v) && v[i+1] == '%' {
				spec.WriteByte('%')
				i++
				continue
			}
			t.Fatalf("Environment=%s: systemd would expand the specifier at %q", v, v[i:])
		}
		var words []string
		var w strings.Builder
		inWord, quote := false, byte(0)
		s := spec.String()
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\' && quote != '\'' && i+1 < len(s):
				i++
				w.WriteByte(s[i])
				inWord = true
			case quote != 0 && c == quote:
				quote = 0
			case quote != 0:
				w.WriteByte(c)
			case c == '"' || c == '\'':
				quote, inWord = c, true
			case c == ' ' || c == '\t':
				if inWord {
					words, inWord = append(words, w.String()), false
					w.Reset()
				}
			default:
				w.WriteByte(c)
				inWord = true
			}
		}
		if quote != 0 {
			t.Fatalf("Environment=%s: unbalanced quote", v)
		}
		if inWord {
			words = append(words, w.String())
		}
		for _, word := range words {
			k, val, ok := strings.Cut(word, "=")
			if !ok {
				t.Fatalf("Environment=%s: %q is not an assignment", v, word)
			}
			env[k] = val
		}
	}
	return env
}

// sourceProfile runs the profile.d file in a real sh and returns what the
// variables hold afterwards: values must arrive byte for byte and nothing
// in them may run.
func sourceProfile(t *testing.T, n *testNode, names ...string) map[string]string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to source the profile with")
	}
	script := ". \"$1\"" // the path comes in as an argument, never as code
	for _, name := range names {
		script += fmt.Sprintf("; printf '%%s\\0' \"${%s-unset}\"", name)
	}
	cmd := exec.Command(sh, "-c", script, "sh", n.hostPath(proxyProfile))
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=/nonexistent"} // a command substitution would find nothing to run
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sourcing the profile: %v", err)
	}
	vals := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	got := map[string]string{}
	for i, name := range names {
		got[name] = vals[i]
	}
	if entries, _ := os.ReadDir(cmd.Dir); len(entries) > 0 {
		t.Errorf("sourcing the profile created %v", entries)
	}
	return got
}

// add-proxy gives docker all three variables (Mitaka: only HTTP_PROXY,
// §9.9) and login shells a profile.d file, both holding hostile values
// literally; a rerun is quiet; emptying the proxy removes both files and
// restarts docker again; a proxy that was never set leaves no trace.
func TestAddProxy(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	set := map[string]string{
		"HTTP_PROXY":  "http://user:p%40ss%25h@proxy.example.com:3128", // percent-encoded credentials
		"HTTPS_PROXY": "https://proxy.example.com:3129",
		"NO_PROXY":    "localhost,$(touch " + marker + "),`touch " + marker + "`,\"q\",'s',a\\b,%n,.svc",
	}
	n := newTestNode(t, config.RoleMaster, copyMap(set))
	changed := n.mustRun(runOpts{}, addProxy)
	if want := []string{dockerProxyDropIn, proxyProfile}; !slicesContainAll(changed, want) {
		t.Errorf("changed %v, want %v", changed, want)
	}

	n.checkMeta(dockerProxyDropIn, "0644 root:root")
	docker := systemdEnvironment(t, n.unitValues(dockerProxyDropIn)["Service.Environment"])
	for k, v := range set {
		if docker[k] != v {
			t.Errorf("docker gets %s=%q, want %q", k, docker[k], v)
		}
	}
	if len(docker) != 3 {
		t.Errorf("docker environment %v, want exactly the three proxy variables", docker)
	}

	n.checkMeta(proxyProfile, "0644 root:root")
	shell := sourceProfile(t, n, "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy")
	for k, v := range set {
		if shell[k] != v || shell[strings.ToLower(k)] != v {
			t.Errorf("login shell gets %s=%q %s=%q, want %q", k, shell[k], strings.ToLower(k), shell[strings.ToLower(k)], v)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a proxy value was executed")
	}
	if got := n.starts(); !slices.Equal(got, []string{"docker.service"}) {
		t.Errorf("started %v, want docker restarted once", got)
	}

	n.assertQuietRerun(addProxy, runOpts{}, dockerProxyDropIn, proxyProfile)
	if got := n.starts(); len(got) != 1 {
		t.Errorf("a quiet rerun queued %v", got[1:])
	}

	// The operator drops the proxy (a new heat-params): our files go, and
	// docker is restarted to lose the variables.
	n.params.HTTPProxy, n.params.HTTPSProxy, n.params.NoProxy = "", "", ""
	changed = n.mustRun(runOpts{}, addProxy)
	for _, p := range []string{dockerProxyDropIn, proxyProfile} {
		if _, err := os.Lstat(n.hostPath(p)); !os.IsNotExist(err) {
			t.Errorf("%s still there after the proxy was emptied (%v)", p, err)
		}
		if !slices.Contains(changed, p) {
			t.Errorf("removal of %s not reported: %v", p, changed)
		}
	}
	if got := n.starts(); !slices.Equal(got, []string{"docker.service", "docker.service"}) {
		t.Errorf("started %v, want docker restarted after the removal", got)
	}
	n.assertQuietRerun(addProxy, runOpts{}) // nothing to remove now
	if got := n.starts(); len(got) != 2 {
		t.Errorf("removing nothing queued %v", got[2:])
	}
}

// Only the variables that are set reach docker and the shells.
func TestAddProxyPartial(t *testing.T) {
	n := newTestNode(t, config.RoleMinion, map[string]string{"HTTP_PROXY": "http://proxy:3128", "HTTPS_PROXY": "", "NO_PROXY": ""})
	n.mustRun(runOpts{}, addProxy)
	docker := systemdEnvironment(t, n.unitValues(dockerProxyDropIn)["Service.Environment"])
	if len(docker) != 1 || docker["HTTP_PROXY"] != "http://proxy:3128" {
		t.Errorf("docker environment %v", docker)
	}
	shell := sourceProfile(t, n, "http_proxy", "HTTPS_PROXY", "no_proxy")
	if shell["http_proxy"] != "http://proxy:3128" || shell["HTTPS_PROXY"] != "unset" || shell["no_proxy"] != "unset" {
		t.Errorf("login shell gets %v", shell)
	}
}

// Without a proxy nothing is written and docker is left alone.
func TestAddProxyUnset(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	if changed := n.mustRun(runOpts{}, addProxy); len(changed) != 0 {
		t.Errorf("changed %v without a proxy", changed)
	}
	for _, p := range []string{dockerProxyDropIn, proxyProfile} {
		if _, err := os.Lstat(n.hostPath(p)); !os.IsNotExist(err) {
			t.Errorf("%s exists without a proxy (%v)", p, err)
		}
	}
	if got := n.starts(); len(got) != 0 {
		t.Errorf("started %v without a proxy", got)
	}
}

func TestAddProxyReadsOnlyDeclared(t *testing.T) {
	checkReadsOnlyDeclared(t, config.RoleMaster, map[string]string{"HTTP_PROXY": "http://p:3128", "NO_PROXY": "localhost"}, addProxy)
}

// starts lists the units whose start was queued, in order.
func (n *testNode) starts() []string {
	var s []string
	for _, a := range n.backend.Actions() {
		if a.Verb == "start" {
			s = append(s, a.Unit)
		}
	}
	return s
}

func slicesContainAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
