package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/steps"
)

// The README's reference sections are generated from the same data the
// code runs on (config.Table, steps.Master/Minion), so they cannot drift:
// this test fails when they do; -update rewrites them.
func TestReadmeIsCurrent(t *testing.T) {
	path := "../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := string(readme)
	for name, body := range map[string]string{"heat-params": paramsTable(), "plans": plansTable(), "gates": gatesTable()} {
		re := regexp.MustCompile(`(?s)(<!-- BEGIN GENERATED ` + name + ` -->\n).*?(<!-- END GENERATED ` + name + ` -->)`)
		if !re.MatchString(got) {
			t.Fatalf("README lacks the generated %s section markers", name)
		}
		got = re.ReplaceAllLiteralString(got, "<!-- BEGIN GENERATED "+name+" -->\n"+body+"<!-- END GENERATED "+name+" -->")
	}
	if got == string(readme) {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("README.md reference sections are stale; run go test ./cmd/heatstrap -update")
}

func paramsTable() string {
	var b bytes.Buffer
	b.WriteString("| key | roles | since | type | default | read by | meaning |\n|---|---|---|---|---|---|---|\n")
	readers := map[config.Key][]string{}
	for _, name := range steps.AllNames() {
		for _, plan := range [][]steps.Step{steps.Master, steps.Minion} {
			for _, s := range plan {
				if s.Name != name {
					continue
				}
				for _, k := range s.Reads {
					if !contains(readers[k], name) {
						readers[k] = append(readers[k], name)
					}
				}
			}
		}
	}
	for _, ki := range config.Table {
		roles := map[config.Roles]string{config.Master: "master", config.Minion: "minion", config.Both: "both"}[ki.Roles]
		def := ki.Default
		if def != "" {
			def = "`" + def + "`"
		}
		by := strings.Join(readers[ki.Key], ", ")
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n", ki.Key, roles, ki.Origin, kindName(ki.Kind), def, by, ki.Doc)
	}
	return b.String()
}

func kindName(k config.Kind) string {
	return [...]string{"string", "host", "IP", "port", "integer", "boolean", "CIDR", "URL", "UUID", "secret", "role"}[k]
}

func plansTable() string {
	var b bytes.Buffer
	for _, p := range []struct {
		role string
		plan []steps.Step
	}{{"master", steps.Master}, {"minion", steps.Minion}} {
		fmt.Fprintf(&b, "**%s** (%d steps)\n\n| # | step | what it converges |\n|---|---|---|\n", p.role, len(p.plan))
		for i, s := range p.plan {
			fmt.Fprintf(&b, "| %d | `%s` | %s |\n", i+1, s.Name, s.Summary)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func gatesTable() string {
	var b bytes.Buffer
	for _, role := range []config.Role{config.RoleMaster, config.RoleMinion} {
		gates := steps.Gates(role)
		fmt.Fprintf(&b, "**%s** (%d gates)\n\n| # | gate | timeout | units | check |\n|---|---|---|---|---|\n", role, len(gates))
		for i, g := range gates {
			fmt.Fprintf(&b, "| %d | `%s` | %s | %s | %s |\n", i+1, g.Name, g.Timeout, gateUnits(g), strings.ReplaceAll(g.Check, "|", `\|`))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
