package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/heat"
	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/ledger"
)

// Reporter is the signal outbox: every signal is recorded in the ledger
// before it is sent and marked delivered after, so a crash between the two
// leaves a record `heatstrap signal` can resend with the same id (Heat
// overwrites by id, spec heat-signal §2, so resending never double-counts).
type Reporter struct {
	Endpoint *heat.Endpoint // nil: nobody to report to
	HTTP     httpclient.Options
	Store    *ledger.Store
	Ledger   *ledger.Ledger
	Redactor *config.Redactor
	Now      func() time.Time
	// Summary returns the data field: a compact JSON string for operators.
	Summary func() map[string]any
}

// Configured implements steps.Signaler.
func (r *Reporter) Configured() bool { return r != nil && r.Endpoint != nil }

// Send records and delivers a signal.
func (r *Reporter) Send(ctx context.Context, status heat.Status, reason string) error {
	if !r.Configured() {
		return nil
	}
	data := ""
	if r.Summary != nil {
		b, err := json.Marshal(r.Summary())
		if err != nil {
			return err
		}
		data = string(b)
	}
	r.Ledger.Signal = &ledger.Signal{
		Status:     string(status),
		Reason:     r.Redactor.Redact(reason),
		Data:       r.Redactor.Redact(data),
		ID:         r.Ledger.InstanceID,
		RecordedAt: r.Now().UTC(),
	}
	return r.Deliver(ctx)
}

// Deliver sends the recorded signal (again) and records the outcome.
func (r *Reporter) Deliver(ctx context.Context) error {
	rec := r.Ledger.Signal
	if rec == nil {
		return fmt.Errorf("no signal recorded in %s", r.Store.FS.Display(r.Store.Path))
	}
	if !r.Configured() {
		return fmt.Errorf("no wait-condition endpoint configured (WAIT_CURL or WAIT_HANDLE_ENDPOINT)")
	}
	if err := r.Store.Save(r.Ledger); err != nil {
		return err
	}
	client, err := heat.NewClient(*r.Endpoint, r.HTTP)
	if err != nil {
		return err
	}
	sig := heat.Signal{Status: heat.Status(rec.Status), Reason: rec.Reason, Data: rec.Data, ID: rec.ID}
	attempts, sendErr := client.Send(ctx, sig)
	rec.Attempts += attempts
	if sendErr != nil {
		rec.LastError = r.Redactor.Redact(sendErr.Error())
	} else {
		now := r.Now().UTC()
		rec.DeliveredAt, rec.LastError = &now, ""
	}
	if err := r.Store.Save(r.Ledger); err != nil && sendErr == nil {
		return err
	}
	if sendErr != nil {
		return fmt.Errorf("signal %s to Heat: %w", rec.Status, sendErr)
	}
	return nil
}
