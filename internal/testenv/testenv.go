// Package testenv decides whether a test that needs the machine (root,
// loop devices, systemd-nspawn, qemu) can run here. On a developer's
// machine a missing prerequisite skips the test with the reason; with
// HEATSTRAP_TEST_STRICT=1 (set by .ci/run, which installs everything) it
// fails instead, so CI can never pass by skipping what it was meant to prove.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// StrictEnv turns skips for missing prerequisites into failures.
const StrictEnv = "HEATSTRAP_TEST_STRICT"

// Strict reports whether missing prerequisites are failures.
func Strict() bool { return os.Getenv(StrictEnv) != "" }

// Unavailable skips (or, strictly, fails) the test: what is missing and how
// to get it.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Strict() {
		t.Fatalf("prerequisite missing under "+StrictEnv+": "+format, args...)
	}
	t.Skipf(format, args...)
}

// NeedRoot requires uid 0; why says what the test does with it.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root: %s", why)
	}
}

// NeedTools requires programs on PATH; hint says how to install them.
func NeedTools(t testing.TB, hint string, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			Unavailable(t, "needs %s (%s)", tool, hint)
		}
	}
}
