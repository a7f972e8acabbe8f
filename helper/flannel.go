package helper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/httpclient"
)

// Defaults of FlannelConfigOptions (spec M11, M12, §7).
const (
	DefaultFlannelNetworkFile = "/etc/sysconfig/flannel-network.json"
	DefaultFlannelPrefix      = "/atomic.io/network"
	DefaultFlannelTimeout     = 5 * time.Minute
	// FlanneldSysconfig is flannel-config.service's EnvironmentFile; the
	// CLI reads it itself when run by hand, outside the unit.
	FlanneldSysconfig = "/etc/sysconfig/flanneld"
)

// FlannelConfigOptions configure FlannelConfig.
type FlannelConfigOptions struct {
	Files      *hostfs.FS
	ConfigFile string        // default /etc/sysconfig/flannel-network.json
	Endpoints  []string      // etcd client URLs, tried in order each round
	Prefix     string        // etcd key prefix, default /atomic.io/network
	API        string        // "v3" (default) or "v2"
	Timeout    time.Duration // overall deadline for waiting on etcd, default 5m
	HTTP       httpclient.Options
	Log        *slog.Logger

	envErr error // a broken sysconfig file seen by FlannelConfigOptionsFromEnv
}

// FlannelConfigOptionsFromEnv fills Endpoints and Prefix the way flanneld
// itself is configured: from the environment (systemd passes
// /etc/sysconfig/flanneld as EnvironmentFile), and, for a variable not set
// there (the helper run by hand), from that file read through files.
//
// The Mitaka names FLANNEL_ETCD / FLANNEL_ETCD_KEY win over the newer
// FLANNEL_ETCD_ENDPOINTS / FLANNEL_ETCD_PREFIX because those are what the
// flanneld unit on these images passes to flanneld; heatstrap writes both
// spellings with the same values. Endpoints may be comma-separated.
//
// A sysconfig file that cannot be parsed is reported by FlannelConfig.
func FlannelConfigOptionsFromEnv(getenv func(string) string, files *hostfs.FS) FlannelConfigOptions {
	if files == nil {
		files = hostfs.New("/")
	}
	o := FlannelConfigOptions{Files: files}
	var fileVars map[string]string
	loaded := false
	lookup := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		if !loaded {
			loaded = true
			var err error
			fileVars, err = readEnvFile(files, FlanneldSysconfig)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				o.envErr = err
			}
		}
		for _, n := range names {
			if v := strings.TrimSpace(fileVars[n]); v != "" {
				return v
			}
		}
		return ""
	}
	for _, e := range strings.Split(lookup("FLANNEL_ETCD", "FLANNEL_ETCD_ENDPOINTS"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			o.Endpoints = append(o.Endpoints, e)
		}
	}
	o.Prefix = lookup("FLANNEL_ETCD_KEY", "FLANNEL_ETCD_PREFIX")
	return o
}

// FlannelConfig puts the flannel network config (the JSON file) into etcd
// at <Prefix>/config, waiting for etcd up to Timeout (spec M12).
//
// Every master runs this at every boot, as Mitaka did (§9.11): each one
// re-puts the config. That is harmless because the content is identical
// on all masters (rendered from the same heat-params), a put of an
// identical value changes nothing flanneld cares about, and flanneld reads
// the config when it starts. It is an unconditional overwrite on purpose:
// a changed network in heat-params must reach etcd on the next boot.
func FlannelConfig(ctx context.Context, o FlannelConfigOptions) error {
	if o.envErr != nil {
		return fmt.Errorf("flannel-config: %w", o.envErr)
	}
	if o.Files == nil {
		o.Files = hostfs.New("/")
	}
	if o.ConfigFile == "" {
		o.ConfigFile = DefaultFlannelNetworkFile
	}
	if o.Prefix == "" {
		o.Prefix = DefaultFlannelPrefix
	}
	if o.API == "" {
		o.API = "v3"
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultFlannelTimeout
	}
	log := discardIfNil(o.Log)

	// Everything that can be wrong locally is checked before the first
	// request: waiting five minutes for etcd to then fail on a typo
	// wastes the operator's time.
	put, err := etcdPut(o.API)
	if err != nil {
		return fmt.Errorf("flannel-config: %w", err)
	}
	if len(o.Endpoints) == 0 {
		return fmt.Errorf("flannel-config: no etcd endpoint: FLANNEL_ETCD (or FLANNEL_ETCD_ENDPOINTS) is set neither in the environment nor in %s; the write-network-config step writes it",
			o.Files.Display(FlanneldSysconfig))
	}
	for _, ep := range o.Endpoints {
		if _, err := httpURL(ep); err != nil {
			return fmt.Errorf("flannel-config: etcd endpoint: %w (check FLANNEL_ETCD in %s)", err, o.Files.Display(FlanneldSysconfig))
		}
	}
	if !strings.HasPrefix(o.Prefix, "/") {
		return fmt.Errorf("flannel-config: etcd prefix %q must start with / (check FLANNEL_ETCD_KEY in %s)", o.Prefix, o.Files.Display(FlanneldSysconfig))
	}
	value, err := readFlannelNetwork(o.Files, o.ConfigFile)
	if err != nil {
		return fmt.Errorf("flannel-config: %w", err)
	}
	key := strings.TrimSuffix(o.Prefix, "/") + "/config"
	client, err := singleShotClient(o.HTTP, 10*time.Second)
	if err != nil {
		return fmt.Errorf("flannel-config: %w", err)
	}

	eps := strings.Join(o.Endpoints, ", ")
	log = log.With("helper", "flannel-config", "key", key, "etcd", eps, "api", o.API)
	waitCtx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	start := time.Now()
	var landed string
	err = poll(waitCtx, log, "etcd does not accept the flannel config yet; retrying", func(ctx context.Context) error {
		var causes []error
		allPermanent := true
		for _, ep := range o.Endpoints {
			err := put(ctx, client, ep, key, value)
			if err == nil {
				landed = ep
				return nil
			}
			if ctx.Err() != nil {
				return err
			}
			causes = append(causes, err)
			allPermanent = allPermanent && isPermanent(err)
		}
		if allPermanent {
			return permanent(joinCauses(causes))
		}
		return joinCauses(causes)
	})
	var we *waitError
	switch {
	case err == nil:
		log.Info("flannel network config is in etcd", "endpoint", landed, "elapsed", time.Since(start).Round(time.Millisecond).String())
		return nil
	case errors.As(err, &we) && ctx.Err() != nil:
		return fmt.Errorf("flannel-config: interrupted after %s while putting %s into etcd at %s: %v",
			time.Since(start).Round(time.Second), key, eps, we.cause)
	case errors.As(err, &we):
		return fmt.Errorf("etcd at %s did not accept the flannel config within %s: %v; check that etcd is running (`systemctl status etcd`) and that FLANNEL_ETCD in %s names it",
			eps, o.Timeout, we.cause, o.Files.Display(FlanneldSysconfig))
	default:
		return fmt.Errorf("etcd at %s refused the flannel config (%s): %w", eps, key, err)
	}
}

// readFlannelNetwork returns the file's bytes, unchanged (they are what
// Mitaka put), after checking that flanneld will be able to use them: a
// JSON object whose "Network" is an IPv4 prefix. flanneld decodes JSON
// keys case-insensitively, so the check does too.
func readFlannelNetwork(files *hostfs.FS, path string) ([]byte, error) {
	name := files.Display(path)
	data, err := files.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("flannel network config %s does not exist; the write-network-config step writes it (run `heatstrap run` again and check that step)", name)
	} else if err != nil {
		return nil, fmt.Errorf("read flannel network config: %w", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("flannel network config %s is not a JSON object: %v", name, err)
	}
	var raw json.RawMessage
	for k, v := range obj {
		if strings.EqualFold(k, "Network") {
			raw = v
		}
	}
	if raw == nil {
		return nil, fmt.Errorf(`flannel network config %s has no "Network" (flanneld needs the overlay's CIDR, e.g. "10.100.0.0/16")`, name)
	}
	var network string
	if err := json.Unmarshal(raw, &network); err != nil {
		return nil, fmt.Errorf(`flannel network config %s: "Network" is %s, not a string like "10.100.0.0/16"`, name, raw)
	}
	if p, err := netip.ParsePrefix(network); err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf(`flannel network config %s: "Network" %q is not an IPv4 CIDR like "10.100.0.0/16"`, name, network)
	}
	return data, nil
}

// joinCauses makes one line of the per-endpoint causes (each names its URL).
func joinCauses(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}
