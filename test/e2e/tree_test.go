package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// treeDirs are where heatstrap writes (as seen from the container), and
// the ledger files a run may rewrite.
var (
	treeDirs   = []string{"/etc", "/srv", "/var/lib/heatstrap", "/run/flannel"}
	ledgerOnly = map[string]bool{"/var/lib/heatstrap": true, "/var/lib/heatstrap/status.json": true, "/var/lib/heatstrap/lock": true}
)

// tree is path -> what a write would change: type, mode, owner, size,
// mtime, link target.
func (n *node) tree() map[string]string {
	n.t.Helper()
	out := map[string]string{}
	for _, dir := range treeDirs {
		base := n.Live()
		err := filepath.WalkDir(filepath.Join(base, dir), func(p string, d fs.DirEntry, err error) error {
			if os.IsNotExist(err) {
				return nil
			}
			if err != nil {
				return err
			}
			rel := p[len(base):]
			if ledgerOnly[rel] {
				return nil
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			st := fi.Sys()
			desc := fmt.Sprintf("%v %d %d %v", fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), owner(st))
			if fi.Mode()&fs.ModeSymlink != 0 {
				t, _ := os.Readlink(p)
				desc += " -> " + t
			}
			out[rel] = desc
			return nil
		})
		if err != nil {
			n.t.Fatal(err)
		}
	}
	return out
}

// diffTrees lists the paths that appeared, went or changed.
func diffTrees(before, after map[string]string) []string {
	var d []string
	for p, b := range before {
		if a, ok := after[p]; !ok {
			d = append(d, "-"+p)
		} else if a != b {
			d = append(d, "~"+p+": "+b+" => "+a)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			d = append(d, "+"+p)
		}
	}
	sort.Strings(d)
	return d
}

func owner(sys any) string {
	if st, ok := sys.(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
	}
	return "?"
}
