package config

import (
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestSettingsLayering(t *testing.T) {
	noFile := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	s, err := LoadSettings(nil, DefaultConfigFile, false, noFile)
	if err != nil {
		t.Fatal(err)
	}
	if s.HeatParams != "/etc/sysconfig/heat-params" || s.StateDir != "/var/lib/heatstrap" || s.SignalMargin != 2*time.Minute ||
		s.Images.Hyperkube != "gcr.io/google_containers/hyperkube:v1.0.6" || s.MetadataURL != "http://169.254.169.254" || !s.Live() {
		t.Errorf("defaults: %+v", s)
	}

	if _, err := LoadSettings(nil, "/x.yaml", false, func(string) ([]byte, error) { return []byte("log_format: xml\n"), nil }); err == nil {
		t.Error("log_format xml accepted")
	}

	yaml := []byte("state_dir: /srv/state\nlog_format: json\nsignal_margin: 30s\nstep_timeouts:\n  make-cert: 9m\nimages:\n  hyperkube: registry.local/hyperkube:v1.0.6\n")
	t.Setenv("HEATSTRAP_LOG_FORMAT", "text")
	t.Setenv("HEATSTRAP_METADATA_URL", "http://127.0.0.1:8775")
	flags := pflag.NewFlagSet("t", pflag.ContinueOnError)
	flags.String("state-dir", "", "")
	flags.String("root", "/", "")
	if err := flags.Parse([]string{"--root", "/mnt/image"}); err != nil {
		t.Fatal(err)
	}
	s, err = LoadSettings(flags, "/etc/heatstrap/config.yaml", false, func(string) ([]byte, error) { return yaml, nil })
	if err != nil {
		t.Fatal(err)
	}
	if s.StateDir != "/srv/state" { // file over default; unset flag does not override
		t.Errorf("state_dir %q", s.StateDir)
	}
	if s.LogFormat != "text" { // env over file
		t.Errorf("log_format %q", s.LogFormat)
	}
	if s.Root != "/mnt/image" || s.Live() { // flag over all
		t.Errorf("root %q", s.Root)
	}
	if s.MetadataURL != "http://127.0.0.1:8775" || s.SignalMargin != 30*time.Second ||
		s.StepTimeouts["make-cert"] != 9*time.Minute || s.Images.Hyperkube != "registry.local/hyperkube:v1.0.6" {
		t.Errorf("settings %+v", s)
	}

	if _, err := LoadSettings(nil, "/x.yaml", true, noFile); err == nil {
		t.Error("an explicit missing config file must be an error")
	}
}

// A misspelt key in the agent config is an error naming it, not a
// default silently kept.
func TestSettingsUnknownKey(t *testing.T) {
	for doc, key := range map[string]string{
		"images:\n  kubeui: registry.local/kube-ui:v4\n": "kubeui",
		"log_fromat: json\n":                             "log_fromat",
	} {
		_, err := LoadSettings(nil, "/etc/heatstrap/config.yaml", false, func(string) ([]byte, error) { return []byte(doc), nil })
		if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "/etc/heatstrap/config.yaml") {
			t.Errorf("%q: error %v", doc, err)
		}
	}
}
