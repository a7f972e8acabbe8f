package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/ledger"
)

// goldenCases are full offline runs of a role's plan; each produces exactly
// the tree checked in under testdata/golden/<name>.tree. make-cert is left
// out (its keys are random; it has its own tests) and docker storage skips
// itself offline.
var goldenCases = []struct {
	name, role string
	set        map[string]string
}{
	{"master-tls", "master", nil},
	{"master-notls", "master", map[string]string{"TLS_DISABLED": "True", "KUBE_API_PORT": "8080"}},
	{"master-noflannel", "master", map[string]string{"NETWORK_DRIVER": "calico"}},
	{"master-proxy", "master", map[string]string{"HTTP_PROXY": "http://proxy.example.com:3128", "HTTPS_PROXY": "http://proxy.example.com:3128", "NO_PROXY": "localhost,10.0.0.0/8"}},
	{"minion-tls", "minion", nil},
	{"minion-notls", "minion", map[string]string{"TLS_DISABLED": "True", "KUBE_API_PORT": "8080"}},
	{"minion-noflannel", "minion", map[string]string{"NETWORK_DRIVER": "calico"}},
	{"minion-proxy", "minion", map[string]string{"HTTP_PROXY": "http://proxy.example.com:3128", "HTTPS_PROXY": "", "NO_PROXY": "localhost"}},
}

func goldenNode(t *testing.T, role string, set map[string]string) *node {
	t.Helper()
	s := map[string]string{"WAIT_CURL": ""}
	for k, v := range set {
		s[k] = v
	}
	return newNode(t, example(t, role+".heat-params", s))
}

// offlineRun is `run` with the steps that cannot run offline left out.
func (n *node) offlineRun(extra ...string) result {
	n.t.Helper()
	r := n.cli(append([]string{"run", "--skip", "make-cert"}, extra...)...)
	if r.code != 0 {
		n.t.Fatalf("run %v: exit %d\n%s", extra, r.code, r.stderr)
	}
	return r
}

func TestGoldenTrees(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			n := goldenNode(t, tc.role, tc.set)
			n.offlineRun()
			got := dumpTree(t, n.root)
			golden := filepath.Join("testdata", "golden", tc.name+".tree")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./cmd/heatstrap -update)", err)
			}
			if got != string(want) {
				t.Errorf("tree differs from %s; run go test ./cmd/heatstrap -update and review the diff:\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

// A forced second run reruns every step and changes nothing: same bytes,
// same mtimes, every step's change list empty.
func TestSecondRunChangesNothing(t *testing.T) {
	for _, tc := range []string{"master", "minion"} {
		n := goldenNode(t, tc, nil)
		n.offlineRun()
		before := snapshot(t, n.root)
		time.Sleep(20 * time.Millisecond)
		n.offlineRun("--force")
		if after := snapshot(t, n.root); after != before {
			t.Errorf("%s: a second run changed the tree:\n%s", tc, lineDiff(before, after))
		}
		l := loadLedger(t, n.root)
		for _, s := range l.Steps {
			if len(s.Changed) > 0 {
				t.Errorf("%s: step %s changed %v on the second run", tc, s.Name, s.Changed)
			}
		}
	}
}

// Changing FLANNEL_NETWORK_CIDR reruns exactly the steps that read it.
func TestChangedParamRerunsItsReaders(t *testing.T) {
	n := goldenNode(t, "master", nil)
	n.offlineRun()
	first := loadLedger(t, n.root)
	n.params(example(t, "master.heat-params", map[string]string{"WAIT_CURL": "", "FLANNEL_NETWORK_CIDR": "10.200.0.0/16"}))
	n.offlineRun()
	second := loadLedger(t, n.root)
	var rerun []string
	for _, s := range second.Steps {
		if f := first.Lookup(s.Name); f != nil && s.Runs > f.Runs {
			rerun = append(rerun, s.Name)
		}
	}
	// write-heat-params fingerprints the file's checksum, which changed too.
	if want := "write-heat-params write-network-config"; strings.Join(rerun, " ") != want {
		t.Errorf("reran %v, want %s", rerun, want)
	}
	if got := readFile(t, n.root, "/etc/sysconfig/flannel-network.json"); !strings.Contains(got, `"10.200.0.0/16"`) {
		t.Errorf("flannel-network.json not updated:\n%s", got)
	}
}

// Shell syntax in parameters lands literally; nothing is executed.
func TestHostileValuesLandLiterally(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	evil := "localhost,$(touch " + marker + "),`touch " + marker + "`,\"q\",'s'"
	n := goldenNode(t, "master", map[string]string{"NO_PROXY": evil, "HTTP_PROXY": "http://proxy:3128", "USERNAME": "u$(touch " + marker + ")`id`\"x\""})
	n.offlineRun()
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a parameter was executed")
	}
	profile := readFile(t, n.root, "/etc/profile.d/heatstrap-proxy.sh")
	if !strings.Contains(profile, "export NO_PROXY='localhost,$(touch "+marker+"),`touch "+marker+"`,\"q\",'\\''s'\\'''") {
		t.Errorf("profile does not hold the value literally:\n%s", profile)
	}
	dropIn := readFile(t, n.root, "/etc/systemd/system/docker.service.d/proxy.conf")
	if !strings.Contains(dropIn, `Environment="NO_PROXY=localhost,$(touch `) || !strings.Contains(dropIn, `\"q\"`) {
		t.Errorf("drop-in does not hold the value literally:\n%s", dropIn)
	}
}

func loadLedger(t *testing.T, root string) *ledger.Ledger {
	t.Helper()
	l, err := (&ledger.Store{FS: hostfs.New(root), Path: "/var/lib/heatstrap/status.json"}).Load()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func readFile(t *testing.T, root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dumpTree renders every entry under root (but the ledger directory) with
// type, mode, owner (names from the root's own passwd/group) and content.
func dumpTree(t *testing.T, root string) string {
	t.Helper()
	files := hostfs.New(root)
	var b bytes.Buffer
	walk(t, root, func(rel string, info fs.FileInfo) {
		st := info.Sys().(*syscall.Stat_t)
		user, group := files.Names(int(st.Uid), int(st.Gid))
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(filepath.Join(root, rel))
			fmt.Fprintf(&b, "== %s -> %s\n", rel, target)
		case info.IsDir():
			fmt.Fprintf(&b, "== %s/ dir %04o %s:%s\n", rel, info.Mode().Perm(), user, group)
		default:
			data, _ := os.ReadFile(filepath.Join(root, rel))
			fmt.Fprintf(&b, "== %s file %04o %s:%s\n%s", rel, info.Mode().Perm(), user, group, data)
			if len(data) > 0 && data[len(data)-1] != '\n' {
				b.WriteString("\n(no newline at end)\n")
			}
		}
	})
	return b.String()
}

// snapshot lists every entry with its mtime and size, for "nothing changed".
func snapshot(t *testing.T, root string) string {
	var b strings.Builder
	walk(t, root, func(rel string, info fs.FileInfo) {
		fmt.Fprintf(&b, "%s %v %d %o\n", rel, info.ModTime().UnixNano(), info.Size(), info.Mode())
	})
	return b.String()
}

func walk(t *testing.T, root string, fn func(rel string, info fs.FileInfo)) {
	t.Helper()
	var rels []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, root)
		if rel == "" || strings.HasPrefix(rel, "/var/lib/heatstrap") {
			return nil
		}
		rels = append(rels, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		info, err := os.Lstat(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		fn(rel, info)
	}
}

// lineDiff shows lines only in a (-) or only in b (+): enough to read a
// golden mismatch without an external diff tool.
func lineDiff(a, b string) string {
	in := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for _, l := range strings.Split(a, "\n") {
		if mb[l] == 0 {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if ma[l] == 0 {
			out = append(out, "+ "+l)
		}
	}
	if len(out) > 60 {
		out = append(out[:60], "...")
	}
	return strings.Join(out, "\n")
}
