package systemd

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree describes files of a test root: path -> content, where "-> t"
// makes a symlink to t and "dir:" an empty directory.
type tree map[string]string

func (tr tree) build(t *testing.T, root string) {
	t.Helper()
	for p, content := range tr {
		hp := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(hp), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasPrefix(content, "-> "):
			err = os.Symlink(strings.TrimPrefix(content, "-> "), hp)
		case content == "dir:":
			err = os.MkdirAll(hp, 0o755)
		default:
			err = os.WriteFile(hp, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// links lists the symlinks (path -> target) and directories (path -> "dir")
// of a root, root-relative.
func links(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel := strings.TrimPrefix(p, root)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = target
		case d.IsDir():
			out[rel] = "dir"
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// svc is a service unit with the given [Install] lines ("" for none).
func svc(install string) string {
	s := "[Unit]\nDescription=test\n\n[Service]\nExecStart=/bin/true\n"
	if install != "" {
		s += "\n[Install]\n" + install + "\n"
	}
	return s
}

const (
	usrLib = "/usr/lib/systemd/system/"
	lib    = "/lib/systemd/system/"
	etc    = "/etc/systemd/system/"
)
