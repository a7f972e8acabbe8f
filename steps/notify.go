package steps

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/heat"
)

var (
	masterWCNotify = notifyStep("master-wc-notify", config.RoleMaster, config.TLSDisabled, config.KubeAPIPort)
	minionWCNotify = notifyStep("minion-wc-notify", config.RoleMinion, config.RegistryEnabled)
)

// notifyStep is the last step of each plan: SUCCESS to the wait condition,
// once the role's health gates pass (gates.go). Mitaka ran it
// unconditionally, even after failed parts (spec §9.3), and signalled
// SUCCESS before anything had started; here it is reached only when every
// earlier step succeeded or was skipped, it waits until the node is really
// up, and the runner sends FAILURE itself the moment a step or gate fails.
//
// Offline (--root) nothing runs that a gate could check: the gates are
// skipped, logged and named in the signal's reason.
func notifyStep(name string, role config.Role, reads ...config.Key) Step {
	gates := Gates(role)
	return Step{
		Name:    name,
		Summary: "SUCCESS to the Heat wait condition once the node is ready",
		Reads:   slices.Concat([]config.Key{config.WaitCurl, config.WaitHandleEndpoint, config.WaitHandleToken}, gateReads, reads),
		// Room for every gate's deadline, then a minute for the signal.
		Timeout: gatesTimeout(gates) + time.Minute,
		Barrier: true,
		When: func(e *Env) string {
			if !e.Signal.Configured() {
				return "no wait-condition endpoint configured (WAIT_CURL or WAIT_HANDLE_ENDPOINT)"
			}
			return ""
		},
		Run: func(ctx context.Context, e *Env) error {
			checked := "gates skipped: offline mode (--root)"
			if e.Live {
				n, err := passGates(ctx, e, gates)
				if err != nil {
					return err
				}
				checked = fmt.Sprintf("%d gates passed", n)
			} else {
				e.Log.Warn("health gates skipped: offline mode (--root) has no running system to check")
			}
			reason := fmt.Sprintf("heatstrap: %s ready (%d steps, %s)", e.Params.Role, len(e.Plan), checked)
			return e.Signal.Send(ctx, heat.Success, reason)
		},
	}
}
