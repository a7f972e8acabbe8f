package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"
)

// treeFile is one regular file of a golden tree (see dumpTree).
type treeFile struct {
	mode    int64
	content string
}

// readGoldenTree parses testdata/golden/<name>.tree back into its files.
// TestGoldenTrees holds every node to these trees, so a property checked
// here is a property of what nodes get.
func readGoldenTree(t *testing.T, name string) map[string]treeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name+".tree"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]treeFile{}
	var cur string
	var content strings.Builder
	flush := func() {
		if cur != "" {
			f := files[cur]
			f.content = strings.TrimSuffix(content.String(), "(no newline at end)\n")
			files[cur] = f
		}
		cur = ""
		content.Reset()
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if !strings.HasPrefix(line, "== ") {
			content.WriteString(line)
			continue
		}
		flush()
		fields := strings.Fields(line)
		if len(fields) == 5 && fields[2] == "file" {
			mode, err := strconv.ParseInt(fields[3], 8, 32)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, line, err)
			}
			cur = fields[1]
			files[cur] = treeFile{mode: mode}
		}
	}
	flush()
	if len(files) == 0 {
		t.Fatalf("%s: no files parsed", name)
	}
	return files
}

// Nothing a node gets is a program: no executable file, no "#!" script,
// and no unit runs a shell or /usr/local/bin (Mitaka generated four
// scripts there, spec M12–M17).
func TestGoldenTreesHoldNoScripts(t *testing.T) {
	for _, tc := range goldenCases {
		for p, f := range readGoldenTree(t, tc.name) {
			if f.mode&0o111 != 0 {
				t.Errorf("%s: %s is executable (%04o)", tc.name, p, f.mode)
			}
			if strings.HasPrefix(f.content, "#!") {
				t.Errorf("%s: %s is a script", tc.name, p)
			}
			if strings.HasPrefix(p, "/usr/local/bin/") {
				t.Errorf("%s: %s installed", tc.name, p)
			}
		}
	}
}

// Every unit and drop-in heatstrap writes is exactly what go-systemd's
// unit package serializes from its own parse (nothing hand-concatenated),
// and every ExecStart that runs the agent names a helper and flags the
// binary accepts.
func TestGoldenUnitsRoundTrip(t *testing.T) {
	helpers := map[string]bool{}
	for _, tc := range goldenCases {
		for p, f := range readGoldenTree(t, tc.name) {
			if !strings.HasPrefix(p, "/etc/systemd/system/") || !(strings.HasSuffix(p, ".service") || strings.HasSuffix(p, ".conf")) {
				continue
			}
			opts, err := unit.DeserializeOptions(strings.NewReader(f.content))
			if err != nil {
				t.Errorf("%s: %s does not parse: %v", tc.name, p, err)
				continue
			}
			again, err := io.ReadAll(unit.Serialize(opts))
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != f.content {
				t.Errorf("%s: %s is not what unit.Serialize writes:\n%s\nwant:\n%s", tc.name, p, f.content, again)
			}
			for _, o := range opts {
				if !strings.HasPrefix(o.Name, "Exec") {
					continue
				}
				cmd := strings.TrimLeft(o.Value, "-@:+!")
				if strings.Contains(cmd, "/bin/sh") || strings.Contains(cmd, "bash") || strings.Contains(cmd, "/usr/local/bin") {
					t.Errorf("%s: %s runs a shell or a generated program: %s=%s", tc.name, p, o.Name, o.Value)
				}
				if args := strings.Fields(cmd); len(args) > 1 && args[0] == "/usr/bin/heatstrap" {
					helpers[strings.Join(args[1:], " ")] = true
				}
			}
		}
	}
	if len(helpers) < 4 {
		t.Errorf("found only the agent commands %v; want the four helpers", helpers)
	}
	for h := range helpers {
		if r := cli(t, append(strings.Fields(h), "--help")...); r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("units run `heatstrap %s`, which the binary refuses (exit %d):\n%s", h, r.code, r.stderr)
		}
	}
}
