package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/heatstrap/heatstrap/ledger"
)

// Overall states of `status`, with their exit codes.
const (
	overallDone       = "done"
	overallFailed     = "failed"
	overallRunning    = "running"
	overallIncomplete = "incomplete"
)

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the ledger: each step's state, timing, changes and the Heat signal",
		Long: `Show what the last runs did, from the ledger alone (heat-params need not be
valid). Exit status: 0 done, 1 failed, 2 running or incomplete.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.setup(c); err != nil {
				return err
			}
			l, err := a.store().Load()
			if err != nil {
				return &exitError{exitFailed, err}
			}
			overall := overallState(l, ledger.Held(a.files, a.settings.StateDir))
			if asJSON {
				err = writeStatusJSON(a.stdout, l, overall)
			} else {
				err = writeStatusTable(a.stdout, l, overall)
			}
			if err != nil {
				return err
			}
			switch overall {
			case overallDone:
				return nil
			case overallFailed:
				return &exitError{exitFailed, nil}
			}
			return &exitError{exitUsage, nil}
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the ledger as JSON, with an \"overall\" field")
	return c
}

func overallState(l *ledger.Ledger, locked bool) string {
	if len(l.Steps) == 0 {
		return overallIncomplete
	}
	if l.Signal != nil && l.Signal.Status == "FAILURE" {
		return overallFailed
	}
	state := overallDone
	for _, s := range l.Steps {
		switch s.State {
		case ledger.Failed:
			return overallFailed
		case ledger.Running:
			if locked {
				state = overallRunning
			} else if state == overallDone {
				state = overallIncomplete
			}
		case ledger.Pending:
			if state == overallDone {
				state = overallIncomplete
			}
		}
	}
	return state
}

func writeStatusJSON(w io.Writer, l *ledger.Ledger, overall string) error {
	out := struct {
		Overall string `json:"overall"`
		*ledger.Ledger
	}{overall, l}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeStatusTable(w io.Writer, l *ledger.Ledger, overall string) error {
	if len(l.Steps) == 0 {
		_, err := fmt.Fprintln(w, "no run recorded yet")
		return err
	}
	fmt.Fprintf(w, "role %s  instance %s  run %s  started %s  heat-params %s\n",
		l.Role, l.InstanceID, l.RunID, l.Started.Format(time.RFC3339), short(l.HeatParamsSHA256))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTEP\tSTATE\tTIME\tCHANGED\tDETAIL")
	for i, s := range l.Steps {
		detail := s.Error
		if detail == "" {
			detail = s.Reason
		}
		dur := "-"
		if s.Ended != nil {
			dur = (time.Duration(s.DurationMS) * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", i+1, s.Name, s.State, dur, len(s.Changed), oneLine(detail, 100))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "signal: %s\n", signalLine(l.Signal))
	_, err := fmt.Fprintf(w, "overall: %s\n", overall)
	return err
}

func signalLine(s *ledger.Signal) string {
	switch {
	case s == nil:
		return "none sent"
	case s.DeliveredAt != nil:
		return fmt.Sprintf("%s delivered %s (%d attempts) id=%s reason=%q", s.Status, s.DeliveredAt.Format(time.RFC3339), s.Attempts, s.ID, s.Reason)
	default:
		return fmt.Sprintf("%s NOT delivered (%d attempts): %s", s.Status, s.Attempts, oneLine(s.LastError, 160))
	}
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n-3] + "..."
	}
	return s
}
