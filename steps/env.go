package steps

import (
	"context"
	"log/slog"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heatstrap/heatstrap/command"
	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/heat"
	"github.com/heatstrap/heatstrap/hostfs"
	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/systemd"
)

// Env is every seam a step may use. The runner builds one per step: Params
// masked to the step's Reads, Files recording what the step changes, Log
// prefixed with the step's name.
type Env struct {
	Params   config.Params
	Settings config.Settings
	// ParamsChecksum is the sha256 of heat-params as read.
	ParamsChecksum string
	// Live is false in offline mode (--root): no commands, no D-Bus.
	Live  bool
	Files *hostfs.FS
	Exec  command.Runner
	// Units manages systemd units; starts are queued until the run flushes.
	Units systemd.Manager
	// HTTP builds a retrying client with the agent's CA bundle and TLS mode.
	HTTP    func(httpclient.Options) (*retryablehttp.Client, error)
	Signal  Signaler
	Now     func() time.Time
	Log     *slog.Logger
	Version string
	// Plan is the role's plan, for summaries (signal data, progress).
	Plan []Step
}

// Signaler reports to Heat through the ledger's outbox.
type Signaler interface {
	// Configured reports whether a wait-condition endpoint is known.
	Configured() bool
	Send(ctx context.Context, status heat.Status, reason string) error
}
