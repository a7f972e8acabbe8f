// Package heat reports a node's bootstrap outcome to an OpenStack Heat wait
// condition (OS::Heat::WaitConditionHandle, TOKEN_SIGNAL): it finds the
// handle's signal URL and token (ParseCurlCLI, ResolveEndpoint), renders a
// body Heat cannot misread (Signal.Body) and delivers it with retries
// (Client.Send). The contract is /work/shared/spec/heat-signal.md; section
// numbers (§n) in comments point there.
package heat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/httpclient"
)

// maxErrorBody bounds how much of an error answer is read for its message.
const maxErrorBody = 64 << 10

// Client delivers signals to one wait handle.
type Client struct {
	ep     Endpoint
	http   *retryablehttp.Client
	log    *slog.Logger
	redact *config.Redactor
	where  string // host:port, for messages
}

// NewClient builds a client for ep on top of httpclient.New. TLS
// verification is off when either the curl_cli said --insecure (Heat's own
// [clients_heat] insecure, §1) or the caller asks for it; that is logged as
// a warning because the token then travels to whoever answers.
func NewClient(ep Endpoint, opts httpclient.Options) (*Client, error) {
	if err := validateURL(ep.URL); err != nil {
		return nil, fmt.Errorf("heat endpoint: %w", err)
	}
	if ep.Token.IsZero() {
		return nil, errors.New("heat endpoint has no token")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	opts.Logger = log
	opts.Insecure = opts.Insecure || ep.Insecure
	where := hostPort(ep.URL)
	if opts.Insecure {
		log.Warn("TLS verification disabled for Heat signal", "heat", where)
	}
	hc, err := httpclient.New(opts)
	if err != nil {
		return nil, fmt.Errorf("heat client: %w", err)
	}
	// A redirect would turn the POST into a GET that Heat answers 405;
	// stop at the 3xx so the error can say where the URL should point.
	hc.HTTPClient.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	return &Client{
		ep:     ep,
		http:   hc,
		log:    log,
		redact: config.NewRedactor(ep.Token.Reveal()),
		where:  where,
	}, nil
}

// Send delivers s and returns how many requests it took. Any 2xx means Heat
// queued the signal: heat-api answers 200 "null" before it validates
// anything (§4a), which is why Body validates first. Connection errors,
// timeouts, 429 and 5xx are retried with the same body, which is safe
// because the same id overwrites itself (§2). The error is a *Error.
func (c *Client) Send(ctx context.Context, s Signal) (attempts int, err error) {
	body, err := s.Body()
	if err != nil {
		return 0, &Error{Permanent: true, msg: err.Error(), cause: err}
	}
	req, err := c.newRequest(httpclient.WithAttemptCounter(ctx, &attempts), body)
	if err != nil {
		return 0, &Error{Permanent: true, msg: fmt.Sprintf("build the request to Heat at %s: %v", c.where, err), cause: err}
	}
	c.log.Debug("sending Heat signal", "status", s.Status, "id", s.ID, "heat", c.where)
	resp, err := c.http.Do(req)
	if err != nil {
		return attempts, c.scrub(c.sendError(ctx, attempts, err))
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The body is "null" (§4a); drain a little so the connection is
		// reused, and ignore it.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		c.log.Info("Heat signal delivered", "status", s.Status, "id", s.ID, "http", resp.StatusCode, "attempts", attempts)
		return attempts, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return attempts, c.scrub(statusError(resp.StatusCode, attempts, msg, resp.Header.Get("Location")))
}

// newRequest sets the three headers Heat's contract needs: the token
// (revealed here and nowhere else), and Content-Type: application/json,
// without which Heat ignores the body and records a SUCCESS (§2).
func (c *Client) newRequest(ctx context.Context, body []byte) (*retryablehttp.Request, error) {
	// A byte slice lets the client rewind the body for every retry.
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, c.ep.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", c.ep.Token.Reveal())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// sendError classifies a request that got no usable answer.
func (c *Client) sendError(ctx context.Context, attempts int, err error) *Error {
	if ctx.Err() != nil {
		return contextError(c.where, attempts, ctx.Err())
	}
	return transportError(c.where, attempts, err)
}

// scrub removes the token from a message built from text we do not
// control (a transport error, Heat's own fault message).
func (c *Client) scrub(e *Error) *Error {
	e.msg = c.redact.Redact(e.msg)
	return e
}
