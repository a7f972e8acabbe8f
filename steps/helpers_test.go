package steps

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/config"
)

// Helpers shared by the step tests: running a step offline and checking
// what it left in the root.

// runOpts changes how runLogged runs a step.
type runOpts struct {
	full     bool // every heat-param, not only the step's Reads
	settings func(*config.Settings)
	live     bool
	exec     command.Runner
}

// runLogged runs a step like n.run and returns what it changed.
func (n *testNode) runLogged(s Step, o runOpts) (skipped string, changed []string, err error) {
	n.t.Helper()
	e := n.env(s)
	files, log := n.files.Recording()
	e.Files, e.Units = files, n.backend.For(files, s.Name)
	if o.full {
		e.Params = n.params
	}
	if o.settings != nil {
		o.settings(&e.Settings)
	}
	e.Live = o.live
	if o.exec != nil {
		e.Exec = o.exec
	}
	if s.When != nil {
		if why := s.When(e); why != "" {
			return why, log.Paths(), nil
		}
	}
	err = s.Run(context.Background(), e)
	return "", log.Paths(), err
}

// mustRun runs steps in order and fails the test on any error or skip.
func (n *testNode) mustRun(o runOpts, steps ...Step) []string {
	n.t.Helper()
	var all []string
	for _, s := range steps {
		skipped, changed, err := n.runLogged(s, o)
		if err != nil || skipped != "" {
			n.t.Fatalf("%s: err=%v skipped=%q", s.Name, err, skipped)
		}
		all = append(all, changed...)
	}
	return all
}

// hostPath is the temp-root path of a target path.
func (n *testNode) hostPath(p string) string {
	n.t.Helper()
	hp, err := n.files.Path(p)
	if err != nil {
		n.t.Fatal(err)
	}
	return hp
}

// write seeds a file of the target (test setup, not through a step).
func (n *testNode) write(p, content string, mode fs.FileMode) {
	n.t.Helper()
	hp := n.hostPath(p)
	if err := os.MkdirAll(filepath.Dir(hp), 0o755); err != nil {
		n.t.Fatal(err)
	}
	if err := os.WriteFile(hp, []byte(content), mode); err != nil {
		n.t.Fatal(err)
	}
	if err := os.Chmod(hp, mode); err != nil {
		n.t.Fatal(err)
	}
}

// meta returns "mode user:group" of a path, names from the root's databases.
func (n *testNode) meta(p string) string {
	n.t.Helper()
	st, err := os.Lstat(n.hostPath(p))
	if err != nil {
		n.t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	u, g := n.files.Names(int(sys.Uid), int(sys.Gid))
	return fmt.Sprintf("%04o %s:%s", st.Mode().Perm(), u, g)
}

// checkMeta asserts a path's mode and owner and returns its content.
func (n *testNode) checkMeta(p, want string) string {
	n.t.Helper()
	if got := n.meta(p); got != want {
		n.t.Errorf("%s: got %s, want %s", p, got, want)
	}
	b, _ := os.ReadFile(n.hostPath(p))
	return string(b)
}

// assertQuietRerun runs s again and checks it changed nothing: an empty
// change log and the same inode and mtime for every path given.
func (n *testNode) assertQuietRerun(s Step, o runOpts, paths ...string) {
	n.t.Helper()
	type id struct {
		ino   uint64
		mtime time.Time
	}
	before := map[string]id{}
	for _, p := range paths {
		st, err := os.Lstat(n.hostPath(p))
		if err != nil {
			n.t.Fatal(err)
		}
		before[p] = id{st.Sys().(*syscall.Stat_t).Ino, st.ModTime()}
	}
	_, changed, err := n.runLogged(s, o)
	if err != nil {
		n.t.Fatalf("%s rerun: %v", s.Name, err)
	}
	if len(changed) > 0 {
		n.t.Errorf("%s rerun changed %v", s.Name, changed)
	}
	for _, p := range paths {
		st, _ := os.Lstat(n.hostPath(p))
		if got := (id{st.Sys().(*syscall.Stat_t).Ino, st.ModTime()}); got != before[p] {
			n.t.Errorf("%s rerun touched %s: %v -> %v", s.Name, p, before[p], got)
		}
	}
}

// decodeStrict decodes YAML, refusing fields the target type lacks.
func decodeStrict(t *testing.T, what, text string, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(text), into); err != nil {
		t.Fatalf("%s does not decode strictly: %v\n%s", what, err, text)
	}
}

// tree describes every entry below root: type, mode, owner and content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		sys := st.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", st.Mode(), sys.Uid, sys.Gid)
		switch {
		case st.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %x", sha256.Sum256(b))
		case st.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkReadsOnlyDeclared runs s once with Params masked to its Reads (as
// the runner does) and once with every param, in two fresh roots prepared
// by the same prerequisite steps; the trees must be identical.
func checkReadsOnlyDeclared(t *testing.T, role config.Role, set map[string]string, s Step, prereqs ...Step) {
	t.Helper()
	var trees []map[string]string
	for _, full := range []bool{false, true} {
		copied := map[string]string{}
		for k, v := range set {
			copied[k] = v
		}
		n := newTestNode(t, role, copied)
		n.mustRun(runOpts{full: true}, prereqs...)
		if _, _, err := n.runLogged(s, runOpts{full: full}); err != nil {
			t.Fatalf("%s (full=%v): %v", s.Name, full, err)
		}
		trees = append(trees, tree(t, n.root))
	}
	masked, full := trees[0], trees[1]
	for p, d := range full {
		if masked[p] != d {
			t.Errorf("%s reads undeclared params: %s is %q with all params, %q with its Reads", s.Name, p, d, masked[p])
		}
	}
	for p := range masked {
		if _, ok := full[p]; !ok {
			t.Errorf("%s: %s exists only with masked params", s.Name, p)
		}
	}
}

// fakeExec records commands instead of running them.
type fakeExec struct {
	mu   sync.Mutex
	cmds []string
}

func (f *fakeExec) Run(_ context.Context, c command.Cmd) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, c.String())
	return nil, nil
}

// copyMap copies a set of heat-params overrides: newTestNode consumes its
// argument.
func copyMap(m map[string]string) map[string]string {
	c := map[string]string{}
	for k, v := range m {
		c[k] = v
	}
	return c
}
