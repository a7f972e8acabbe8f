package steps

import (
	"context"

	"github.com/heatstrap/heatstrap/config"
)

// enableDockerRegistry enables and starts registry.service (spec N14).
var enableDockerRegistry = Step{
	Name:    "enable-docker-registry",
	Summary: "registry.service enabled and started, when REGISTRY_ENABLED",
	Reads:   []config.Key{config.RegistryEnabled},
	When:    registryOn,
	Run: func(ctx context.Context, e *Env) error {
		return e.enableAndStart(ctx, "registry.service")
	},
}
