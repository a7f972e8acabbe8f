package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildStatic builds each package (name -> import path or directory,
// relative to the caller's package) as a static binary, as a node image
// carries heatstrap, into a new temp directory, and returns name -> path.
func BuildStatic(pkgs map[string]string) (map[string]string, error) {
	dir, err := os.MkdirTemp("", "heatstrap-test-bin-")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, pkg := range pkgs {
		out[name] = filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out[name], pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return out, nil
}

// Fixture runs a fixture recipe (a script sourcing test/fixture.sh) and
// returns the path it prints: the cached build, made first if need be.
func Fixture(script string) (string, error) {
	out, err := exec.Command("bash", script).Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return "", fmt.Errorf("%s: %v\n%s", filepath.Base(script), err, ee.Stderr)
	} else if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
