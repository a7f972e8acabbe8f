package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/heatstrap/heatstrap/httpclient"
)

// Pacing of the wait loops: the first retry comes quickly (a service that
// is just starting is usually up within a second or two), later ones at
// most every pollMax so a service that comes up late is noticed late by at
// most that much. Progress is logged at most every progressEvery so a
// five-minute wait does not flood the journal.
const (
	pollMin       = 500 * time.Millisecond
	pollMax       = 5 * time.Second
	progressEvery = 10 * time.Second
	maxBody       = 64 << 10
)

// permanentError marks a failure that waiting cannot fix (a 4xx, an
// untrusted certificate); poll stops at once instead of burning the
// deadline.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// waitError is poll's answer when ctx ended first. It carries the last
// real cause: "context deadline exceeded" alone tells an operator nothing.
type waitError struct {
	ctxErr error
	cause  error
}

func (e *waitError) Error() string { return fmt.Sprintf("%v: %v", e.ctxErr, e.cause) }
func (e *waitError) Unwrap() error { return e.ctxErr }

// poll calls try until it returns nil, returns a permanent error (returned
// unwrapped), or ctx ends (a *waitError). It sleeps between rounds with
// httpclient's jittered exponential backoff from pollMin to pollMax, and
// logs msg with the current cause at most every progressEvery.
func poll(ctx context.Context, log *slog.Logger, msg string, try func(context.Context) error) error {
	start := time.Now()
	var lastLog time.Time
	var cause error
	for round := 0; ; round++ {
		err := try(ctx)
		if err == nil {
			return nil
		}
		var p *permanentError
		if errors.As(err, &p) {
			return p.err
		}
		// An attempt cut short by the deadline fails with the deadline;
		// keep the cause from the round before, if there was one.
		if cause == nil || ctx.Err() == nil {
			cause = err
		}
		if ctx.Err() != nil {
			return &waitError{ctxErr: ctx.Err(), cause: cause}
		}
		if lastLog.IsZero() || time.Since(lastLog) >= progressEvery {
			log.Info(msg, "elapsed", time.Since(start).Round(100*time.Millisecond).String(), "cause", err.Error())
			lastLog = time.Now()
		}
		t := time.NewTimer(httpclient.Backoff(pollMin, pollMax, round, nil))
		select {
		case <-ctx.Done():
			t.Stop()
			return &waitError{ctxErr: ctx.Err(), cause: cause}
		case <-t.C:
		}
	}
}

// singleShotClient is the client used inside poll: poll is the retry loop
// (it spans the whole deadline and rotates endpoints), so the client itself
// makes exactly one attempt per call.
func singleShotClient(o httpclient.Options, attempt time.Duration) (*retryablehttp.Client, error) {
	o.RetryMax = -1
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = attempt
	}
	return httpclient.New(o)
}

// transportError turns a client.Do error into the *url.Error inside it
// (method, URL and cause, without retryablehttp's "giving up" prefix),
// marked permanent when another attempt cannot help (bad scheme, untrusted
// certificate), as judged by httpclient.CheckRetry.
func transportError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	if retry, _ := httpclient.CheckRetry(context.Background(), nil, ue); !retry {
		return permanent(ue)
	}
	return ue
}

// readBody reads at most maxBody bytes: enough for any answer we parse,
// bounded against a misbehaving server.
func readBody(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return b
}

// snippet is a body shortened to one readable line for an error message.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func ok2xx(code int) bool { return code >= 200 && code < 300 }

// httpURL checks that s is an absolute http(s) URL with a host.
func httpURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", s)
	}
	return u, nil
}

func discardIfNil(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
