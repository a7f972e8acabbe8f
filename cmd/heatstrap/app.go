package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/spf13/cobra"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/heat"
	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/ledger"
	"github.com/heatstrap/heatstrap/logging"
	"github.com/heatstrap/heatstrap/runner"
	"github.com/heatstrap/heatstrap/steps"
	"github.com/heatstrap/heatstrap/systemd"
)

// app wires the packages together for a command; it holds no logic a test
// would want beyond that wiring.
type app struct {
	stdout, stderr io.Writer
	configFile     string

	settings config.Settings
	files    *hostfs.FS
	log      *slog.Logger
	redactor *config.Redactor
}

func (a *app) bindGlobalFlags(c *cobra.Command) {
	f := c.PersistentFlags()
	f.String("root", "/", "act on the tree under `DIR` (offline image mode) instead of the running system")
	f.String("params", "/etc/sysconfig/heat-params", "heat-params `FILE` (inside --root)")
	f.String("state-dir", "/var/lib/heatstrap", "ledger and lock `DIR` (inside --root)")
	f.String("role", "", "master or minion (default: NODE_ROLE, else inferred from heat-params)")
	f.String("log-format", "text", "log format: text or json")
	f.String("log-level", "info", "log level: debug, info, warn or error")
	f.String("ca-bundle", "", "PEM `FILE` trusted for Heat and OpenStack endpoints")
	f.Bool("insecure", false, "skip TLS verification of OpenStack endpoints (logged as a warning)")
	f.StringVar(&a.configFile, "config", "", "agent config `FILE` (default /etc/heatstrap/config.yaml inside --root)")
}

// setup loads the agent settings and opens the root.
func (a *app) setup(c *cobra.Command) error {
	root, _ := c.Flags().GetString("root")
	if env := os.Getenv("HEATSTRAP_ROOT"); env != "" && !c.Flags().Changed("root") {
		root = env
	}
	files := hostfs.New(root)
	cfg, explicit := a.configFile, a.configFile != ""
	readCfg := func(p string) ([]byte, error) { return os.ReadFile(p) }
	if !explicit {
		cfg = config.DefaultConfigFile
		readCfg = files.ReadFile
	}
	s, err := config.LoadSettings(c.Flags(), cfg, explicit, readCfg)
	if err != nil {
		return &exitError{exitUsage, err}
	}
	a.settings = s
	a.files = hostfs.New(s.Root)
	a.redactor = config.NewRedactor()
	a.log = a.newLogger()
	return nil
}

func (a *app) newLogger() *slog.Logger {
	toJournal := false
	if f, ok := a.stderr.(*os.File); ok && f == os.Stderr {
		toJournal, _ = journal.StderrIsJournalStream()
	}
	return logging.New(a.stderr, logging.Options{
		Format: a.settings.LogFormat, Level: a.settings.LogLevel,
		Journal: a.settings.Live(), WriterIsJournal: toJournal, Redactor: a.redactor,
	})
}

// loaded is heat-params as read, plus what could be salvaged for Heat.
type loaded struct {
	*config.Loaded
	endpoint *heat.Endpoint
	bad      error // a malformed file or invalid values: report, do not run
}

// loadParams reads heat-params through the root. Secrets found there are
// added to the redactor before anything is logged.
func (a *app) loadParams() (*loaded, error) {
	path := a.settings.HeatParams
	data, err := a.files.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &exitError{exitFailed, fmt.Errorf("%s does not exist: cloud-init writes it from the Heat template (or pass --params)", a.files.Display(path))}
	} else if err != nil {
		return nil, &exitError{exitFailed, err}
	}
	l, err := config.LoadParams(a.files.Display(path), data, a.settings.Role)
	out := &loaded{Loaded: l}
	if err != nil {
		// Malformed: no Params, but the endpoint may still be readable,
		// and Heat should hear about it instead of timing out.
		out.Loaded = &config.Loaded{}
		out.bad = err
		out.Params = config.Salvage(data)
	} else if len(l.Problems) > 0 {
		out.bad = l.Problems
	}
	a.redactor = config.NewRedactor(out.Params.SecretValues()...)
	ep, ok, eperr := heat.ResolveEndpoint(out.Params.WaitCurl, out.Params.WaitHandleEndpoint, out.Params.WaitHandleToken)
	if ok {
		out.endpoint = &ep
		a.redactor = config.NewRedactor(append(out.Params.SecretValues(), ep.Token.Reveal())...)
	} else if eperr != nil && out.bad == nil {
		out.bad = eperr
	}
	a.log = a.newLogger()
	for _, w := range out.Warnings {
		a.log.Warn(w)
	}
	return out, nil
}

func (a *app) httpFactory() func(httpclient.Options) (*retryablehttp.Client, error) {
	return func(o httpclient.Options) (*retryablehttp.Client, error) {
		if o.CABundle == "" {
			o.CABundle = a.settings.CABundle
		}
		o.Insecure = o.Insecure || a.settings.Insecure
		if o.Logger == nil {
			o.Logger = a.log
		}
		return httpclient.New(o)
	}
}

// lockLedger takes the run lock (one agent at a time) and loads the
// ledger; release drops the lock. Errors carry their exit code.
func (a *app) lockLedger() (l *ledger.Ledger, release func(), err error) {
	lock, err := ledger.Acquire(a.files, a.settings.StateDir)
	if errors.Is(err, ledger.ErrLocked) {
		return nil, nil, &exitError{exitLocked, err}
	} else if err != nil {
		return nil, nil, &exitError{exitFailed, err}
	}
	release = func() { _ = lock.Release() }
	if l, err = a.store().Load(); err != nil {
		release()
		return nil, nil, &exitError{exitFailed, err}
	}
	return l, release, nil
}

func (a *app) store() *ledger.Store {
	return &ledger.Store{FS: a.files, Path: filepath.Join(a.settings.StateDir, ledger.FileName)}
}

func (a *app) reporter(lp *loaded, l *ledger.Ledger) *runner.Reporter {
	return &runner.Reporter{
		Endpoint: lp.endpoint,
		HTTP:     httpclient.Options{CABundle: a.settings.CABundle, Insecure: a.settings.Insecure, Logger: a.log},
		Store:    a.store(),
		Ledger:   l,
		Redactor: a.redactor,
		Now:      time.Now,
	}
}

// newRunner wires a run. Offline (--root) units are symlinks in the tree;
// live they are managed over D-Bus. `plan` passes live=false: it only reads.
func (a *app) newRunner(ctx context.Context, lp *loaded, rep *runner.Reporter, live bool) (*runner.Runner, error) {
	plan, err := steps.Plan(lp.Params.Role)
	if err != nil {
		return nil, err
	}
	var exec command.Runner = command.Offline{}
	var units systemd.Backend = systemd.NewOffline(a.files)
	if a.settings.Live() && live {
		exec = command.Host{Log: a.log}
		live, err := systemd.NewLive(ctx, a.files, a.log)
		if err != nil {
			return nil, err
		}
		units = live
	}
	return &runner.Runner{
		Plan: plan, Params: lp.Params, Checksum: lp.Checksum, Settings: a.settings,
		Files: a.files, Exec: exec, Units: units, HTTP: a.httpFactory(), Reporter: rep,
		Log: a.log, Now: time.Now, Version: version,
	}, nil
}
