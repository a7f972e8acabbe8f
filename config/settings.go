package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Settings are the agent's own knobs (not Heat's): where things live, how
// long to wait, how to log, which images to run. Layered, lowest first:
// defaults < /etc/heatstrap/config.yaml < HEATSTRAP_* environment < flags.
type Settings struct {
	Root          string                   `mapstructure:"root"`
	HeatParams    string                   `mapstructure:"heat_params"`
	StateDir      string                   `mapstructure:"state_dir"`
	LogFormat     string                   `mapstructure:"log_format"`
	LogLevel      string                   `mapstructure:"log_level"`
	Role          string                   `mapstructure:"role"`
	SignalMargin  time.Duration            `mapstructure:"signal_margin"`
	TokenLifetime time.Duration            `mapstructure:"token_lifetime"`
	StepTimeouts  map[string]time.Duration `mapstructure:"step_timeouts"`
	CABundle      string                   `mapstructure:"ca_bundle"`
	Insecure      bool                     `mapstructure:"insecure"`
	MetadataURL   string                   `mapstructure:"metadata_url"`
	Images        Images                   `mapstructure:"images"`
	// AgentPath is where units find heatstrap (ExecStart=<path> helper ...).
	AgentPath string `mapstructure:"agent_path"`
	// CertKeyAlgorithm is the node key make-cert generates (CertKeyAlgorithms).
	CertKeyAlgorithm string `mapstructure:"cert_key_algorithm"`
	// Flannel is where the network config lives in etcd and how it is put.
	Flannel Flannel `mapstructure:"flannel"`
}

// Flannel settings: Fedora's flanneld reads its config at
// <etcd_prefix>/config; etcd >= 3.4 serves only the v3 API by default.
type Flannel struct {
	EtcdPrefix string `mapstructure:"etcd_prefix"`
	EtcdAPI    string `mapstructure:"etcd_api"`
}

// Images are the container images of the Mitaka manifests, overridable
// because gcr.io/google_containers is long gone (spec §9.9).
type Images struct {
	Hyperkube string `mapstructure:"hyperkube"`
	Podmaster string `mapstructure:"podmaster"`
	KubeUI    string `mapstructure:"kube_ui"`
	Registry  string `mapstructure:"registry"`
}

// CertKeyAlgorithms are the node keys make-cert can generate; the first,
// Mitaka's `openssl genrsa 4096`, is the default.
var CertKeyAlgorithms = []string{"rsa-4096", "rsa-2048", "ecdsa-p256"}

// DefaultConfigFile is read when present (inside --root).
const DefaultConfigFile = "/etc/heatstrap/config.yaml"

func setDefaults(v *viper.Viper) {
	v.SetDefault("root", "/")
	v.SetDefault("heat_params", "/etc/sysconfig/heat-params")
	v.SetDefault("state_dir", "/var/lib/heatstrap")
	v.SetDefault("log_format", "text")
	v.SetDefault("log_level", "info")
	v.SetDefault("role", "")
	// Report FAILURE this long before Heat would time the node out.
	v.SetDefault("signal_margin", 2*time.Minute)
	// Heat's handle token is minted once and lives about an hour (spec
	// heat-signal §1); past that, no report can get through.
	v.SetDefault("token_lifetime", time.Hour)
	v.SetDefault("step_timeouts", map[string]time.Duration{})
	v.SetDefault("ca_bundle", "")
	v.SetDefault("insecure", false)
	v.SetDefault("metadata_url", "http://169.254.169.254")
	v.SetDefault("cert_key_algorithm", CertKeyAlgorithms[0])
	v.SetDefault("images.hyperkube", "gcr.io/google_containers/hyperkube:v1.0.6")
	v.SetDefault("images.podmaster", "gcr.io/google_containers/podmaster:1.1")
	v.SetDefault("images.kube_ui", "gcr.io/google_containers/kube-ui:v4")
	v.SetDefault("images.registry", "registry:2")
	v.SetDefault("agent_path", "/usr/bin/heatstrap")
	v.SetDefault("flannel.etcd_prefix", "/atomic.io/network")
	v.SetDefault("flannel.etcd_api", "v3")
}

// LoadSettings layers the sources. flags may be nil; a flag only overrides
// when the user set it. configFile is read with readFile; a missing file is
// fine unless explicit is true.
func LoadSettings(flags *pflag.FlagSet, configFile string, explicit bool, readFile func(string) ([]byte, error)) (Settings, error) {
	v := viper.New()
	setDefaults(v)
	v.SetEnvPrefix("HEATSTRAP")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.AutomaticEnv()
	if flags != nil {
		var bindErr error
		flags.VisitAll(func(f *pflag.Flag) {
			if key := flagKey(f.Name); key != "" && bindErr == nil {
				bindErr = v.BindPFlag(key, f)
			}
		})
		if bindErr != nil {
			return Settings{}, bindErr
		}
	}
	if data, err := readFile(configFile); err == nil {
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return Settings{}, fmt.Errorf("%s: %w", configFile, err)
		}
	} else if explicit || !errors.Is(err, fs.ErrNotExist) {
		return Settings{}, fmt.Errorf("read agent config: %w", err)
	}
	var s Settings
	// Exact: a misspelt key (images.kubeui) is an error, not a default
	// silently kept.
	if err := v.UnmarshalExact(&s); err != nil {
		return Settings{}, fmt.Errorf("agent config %s: %w", configFile, err)
	}
	return s, s.check()
}

// flagKey maps CLI flag names to setting keys; flags that are not settings
// (e.g. --step) map to "".
func flagKey(name string) string {
	switch name {
	case "root", "role", "insecure":
		return name
	case "params":
		return "heat_params"
	case "state-dir":
		return "state_dir"
	case "log-format":
		return "log_format"
	case "log-level":
		return "log_level"
	case "ca-bundle":
		return "ca_bundle"
	}
	return ""
}

func (s Settings) check() error {
	var errs []error
	if s.LogFormat != "text" && s.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log_format %q: must be text or json", s.LogFormat))
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q: must be debug, info, warn or error", s.LogLevel))
	}
	if s.SignalMargin < 0 || s.TokenLifetime <= 0 {
		errs = append(errs, errors.New("signal_margin must be >= 0 and token_lifetime > 0"))
	}
	if s.Flannel.EtcdAPI != "v2" && s.Flannel.EtcdAPI != "v3" {
		errs = append(errs, fmt.Errorf("flannel.etcd_api %q: must be v2 or v3", s.Flannel.EtcdAPI))
	}
	if !strings.HasPrefix(s.Flannel.EtcdPrefix, "/") || !strings.HasPrefix(s.AgentPath, "/") {
		errs = append(errs, errors.New("flannel.etcd_prefix and agent_path must be absolute"))
	}
	if !slices.Contains(CertKeyAlgorithms, s.CertKeyAlgorithm) {
		errs = append(errs, fmt.Errorf("cert_key_algorithm %q: must be one of %s", s.CertKeyAlgorithm, strings.Join(CertKeyAlgorithms, ", ")))
	}
	for name, d := range s.StepTimeouts {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("step_timeouts.%s: must be positive", name))
		}
	}
	return errors.Join(errs...)
}

// Live reports whether heatstrap acts on the running system (root "/"),
// rather than on an image tree (offline mode).
func (s Settings) Live() bool { return s.Root == "" || s.Root == "/" }
