package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/heat"
)

var (
	masterWCNotify = notifyStep("master-wc-notify")
	minionWCNotify = notifyStep("minion-wc-notify")
)

// notifyStep is the last step of each plan: SUCCESS to the wait condition.
// Mitaka ran it unconditionally, even after failed parts (spec §9.3); here
// it is reached only when every earlier step succeeded or was skipped, and
// the runner sends FAILURE itself the moment one fails.
func notifyStep(name string) Step {
	return Step{
		Name:    name,
		Summary: "SUCCESS to the Heat wait condition once the node is ready",
		Reads:   []config.Key{config.WaitCurl, config.WaitHandleEndpoint, config.WaitHandleToken},
		Timeout: 10 * time.Minute,
		Barrier: true,
		When: func(e *Env) string {
			if !e.Signal.Configured() {
				return "no wait-condition endpoint configured (WAIT_CURL or WAIT_HANDLE_ENDPOINT)"
			}
			return ""
		},
		Run: func(ctx context.Context, e *Env) error {
			reason := fmt.Sprintf("heatstrap: %s ready (%d steps)", e.Params.Role, len(e.Plan))
			return e.Signal.Send(ctx, heat.Success, reason)
		},
	}
}
