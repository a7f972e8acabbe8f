package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"
)

// Offline, launch writes heatstrap.service into the image: a oneshot run
// with the flags launch was given (quoted for systemd, $ and % doubled so
// systemd expands nothing), no [Install], no start timeout. The live
// start is proven on real systemd in test/e2e.
func TestLaunchWritesTheUnit(t *testing.T) {
	n := newNode(t, example(t, "master.heat-params", nil))
	r := n.cli("--log-level", "debug", "--params", "/etc/sysconfig/heat params $HOME 100%", "launch")
	if r.code != 0 || !strings.Contains(r.stdout, "offline: not started") {
		t.Fatalf("launch: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	p := filepath.Join(n.root, "etc/systemd/system/heatstrap.service")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := unit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range opts {
		got[o.Section+"."+o.Name] = o.Value
		if o.Section == "Install" {
			t.Errorf("heatstrap.service has [Install] %s=%s: it must run once per instance, from cloud-init", o.Name, o.Value)
		}
	}
	want := map[string]string{
		"Service.Type":            "oneshot",
		"Service.ExecStart":       `/usr/bin/heatstrap run "--params=/etc/sysconfig/heat params $$HOME 100%%" --log-level=debug`,
		"Service.TimeoutStartSec": "infinity",
		"Service.StandardOutput":  "tty",
		"Service.NotifyAccess":    "main",
		"Unit.After":              "network-online.target",
		"Unit.Wants":              "network-online.target",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// The unit is data: a second launch rewrites nothing.
	st, _ := os.Stat(p)
	if r := n.cli("--log-level", "debug", "--params", "/etc/sysconfig/heat params $HOME 100%", "launch"); r.code != 0 {
		t.Fatalf("second launch: %s", r.stderr)
	}
	if st2, _ := os.Stat(p); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("a second launch rewrote heatstrap.service")
	}
}

func TestLaunchRefusesNewlines(t *testing.T) {
	n := newNode(t, example(t, "master.heat-params", nil))
	r := n.cli("--params", "/etc/heat\nExecStartPre=/bin/evil", "launch")
	if r.code == 0 || !strings.Contains(r.stderr, "holds a newline") {
		t.Errorf("launch with a newline in a flag: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(n.root, "etc/systemd/system/heatstrap.service")); !os.IsNotExist(err) {
		t.Errorf("the unit was written anyway: %v", err)
	}
}
