package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/heatstrap/heatstrap/heat"
	"github.com/heatstrap/heatstrap/runner"
)

func (a *app) signalCmd() *cobra.Command {
	var status, reason string
	c := &cobra.Command{
		Use:   "signal",
		Short: "Resend the recorded Heat signal, or send a new one",
		Long: `Without flags, resend the signal recorded in the ledger (same status, reason,
data and id: Heat overwrites by id, so this never double-counts). With
--status SUCCESS|FAILURE and --reason, record and send a new one.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.setup(c); err != nil {
				return err
			}
			lp, err := a.loadParams()
			if err != nil {
				return err
			}
			if lp.endpoint == nil {
				return &exitError{exitFailed, errors.New("no wait-condition endpoint in heat-params (WAIT_CURL or WAIT_HANDLE_ENDPOINT + WAIT_HANDLE_TOKEN)")}
			}
			l, release, err := a.lockLedger()
			if err != nil {
				return err
			}
			defer release()
			rep := a.reporter(lp, l)
			if l.InstanceID == "" {
				l.InstanceID = runner.InstanceID(a.files)
			}
			switch {
			case status != "":
				if status != string(heat.Success) && status != string(heat.Failure) {
					return &exitError{exitUsage, fmt.Errorf("--status %q: must be SUCCESS or FAILURE", status)}
				}
				if reason == "" {
					reason = "sent by an operator with heatstrap signal"
				}
				err = rep.Send(c.Context(), heat.Status(status), reason)
			case l.Signal == nil:
				return &exitError{exitFailed, errors.New("no signal recorded yet; use --status and --reason to send one")}
			default:
				err = rep.Deliver(c.Context())
			}
			if err != nil {
				return &exitError{exitFailed, err}
			}
			fmt.Fprintf(a.stdout, "signal %s delivered (id %s)\n", l.Signal.Status, l.Signal.ID)
			return nil
		},
	}
	c.Flags().StringVar(&status, "status", "", "send a new signal with this status: SUCCESS or FAILURE")
	c.Flags().StringVar(&reason, "reason", "", "reason of the new signal (at most 255 characters are sent)")
	return c
}
