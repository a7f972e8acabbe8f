package steps

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
)

// readGcfg is a minimal reader of the gcfg syntax the cloud provider uses:
// [section], name=value, values with "..." quoting and \" \\ \n \t escapes.
func readGcfg(t *testing.T, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			section = strings.Trim(line, "[]")
			continue
		}
		name, raw, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		var v strings.Builder
		quoted, esc := false, false
		for _, c := range raw {
			switch {
			case esc:
				v.WriteRune(map[rune]rune{'\\': '\\', '"': '"', 'n': '\n', 't': '\t'}[c])
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				quoted = !quoted
			case !quoted && (c == ';' || c == '#'):
				t.Fatalf("unquoted comment character in %q", line)
			default:
				v.WriteRune(c)
			}
		}
		if quoted || esc {
			t.Fatalf("unterminated value in %q", line)
		}
		out[section+"."+strings.ToLower(name)] = v.String()
	}
	return out
}

func TestWriteKubeOsConfig(t *testing.T) {
	n := newTestNode(t, config.RoleMaster, nil)
	n.mustRun(runOpts{}, writeKubeOsConfig)
	got := readGcfg(t, n.checkMeta(kubeOsConfig, "0600 root:root"))
	want := map[string]string{
		"Global.auth-url":                  "http://keystone.example.com:5000/v2.0",
		"Global.username":                  "demo",
		"Global.password":                  "ChangeMe",
		"Global.tenant-name":               "demo",
		"LoadBalancer.subnet-id":           "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
		"LoadBalancer.create-monitor":      "yes",
		"LoadBalancer.monitor-delay":       "1m",
		"LoadBalancer.monitor-timeout":     "30s",
		"LoadBalancer.monitor-max-retries": "3",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	n.assertQuietRerun(writeKubeOsConfig, runOpts{}, kubeOsConfig)
}

// A 0644 file left by Mitaka (CVE-2016-7404) is tightened, same content or not.
func TestWriteKubeOsConfigTightensOldFile(t *testing.T) {
	for _, same := range []bool{false, true} {
		n := newTestNode(t, config.RoleMaster, nil)
		content := "[Global]\nPassword=ChangeMe\n"
		if same {
			n.mustRun(runOpts{}, writeKubeOsConfig)
			content = n.read(kubeOsConfig)
		}
		n.write(kubeOsConfig, content, 0o644)
		n.mustRun(runOpts{}, writeKubeOsConfig)
		n.checkMeta(kubeOsConfig, "0600 root:root")
	}
}

func TestWriteKubeOsConfigValuesStayLiteral(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	bad := map[string]string{
		"USERNAME":    `a"b$(touch ` + marker + `)c\`,
		"TENANT_NAME": "`touch " + marker + "`; #x",
		"PASSWORD":    `p'"$(id)\n"` + "`id`",
	}
	set := map[string]string{}
	for k, v := range bad {
		set[k] = v
	}
	n := newTestNode(t, config.RoleMaster, set)
	n.mustRun(runOpts{}, writeKubeOsConfig)
	got := readGcfg(t, n.read(kubeOsConfig))
	for key, name := range map[string]string{"USERNAME": "Global.username", "TENANT_NAME": "Global.tenant-name", "PASSWORD": "Global.password"} {
		if got[name] != bad[key] {
			t.Errorf("%s: %q, want %q verbatim", name, got[name], bad[key])
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a value was executed")
	}
}

func TestKeystoneV2(t *testing.T) {
	for in, want := range map[string]string{
		"http://keystone:5000/v3":             "http://keystone:5000/v2.0",
		"https://keystone:5000/v3/":           "https://keystone:5000/v2.0/",
		"https://cloud/identity/v3":           "https://cloud/identity/v2.0",
		"https://cloud/identity/v3?region=x":  "https://cloud/identity/v2.0?region=x",
		"http://v3.example.com:5000/v3":       "http://v3.example.com:5000/v2.0",
		"http://v3.example.com:5000/v2.0":     "http://v3.example.com:5000/v2.0",
		"http://keystone:5000/v3/auth/tokens": "http://keystone:5000/v3/auth/tokens",
		"http://keystone:5000/v30":            "http://keystone:5000/v30",
		"http://keystone:5000":                "http://keystone:5000",
		"http://v3":                           "http://v3",
		"":                                    "",
	} {
		if got := keystoneV2(in); got != want {
			t.Errorf("keystoneV2(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteKubeOsConfigReadsOnlyDeclared(t *testing.T) {
	checkReadsOnlyDeclared(t, config.RoleMaster, nil, writeKubeOsConfig)
}
