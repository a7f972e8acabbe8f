// Package httpclient builds the one kind of HTTP client heatstrap uses for
// every remote call (Heat, Magnum, Keystone, etcd, the apiserver): bounded
// retries with exponential backoff and jitter, a deadline per attempt, a
// custom CA bundle or an explicit insecure mode, and errors classified so
// callers fail fast on 4xx and only wait on what can get better.
package httpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Options configure a client. The zero value is usable.
type Options struct {
	// CABundle is a PEM file trusted in addition to the system roots.
	CABundle string
	// Insecure disables TLS verification; the caller must warn about it.
	Insecure bool
	// AttemptTimeout bounds one attempt (connect, write, read headers and body).
	AttemptTimeout time.Duration
	// RetryMax is the number of retries after the first attempt.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the backoff between attempts.
	RetryWaitMin, RetryWaitMax time.Duration
	Logger                     *slog.Logger
}

// Defaults: about a minute of retrying in the worst case, which is short
// against Heat's wait-condition timeout and long against a restarting API.
const (
	DefaultAttemptTimeout = 20 * time.Second
	DefaultRetryMax       = 6
	DefaultRetryWaitMin   = 500 * time.Millisecond
	DefaultRetryWaitMax   = 15 * time.Second
)

// New returns a retrying client. Requests must carry a context; its deadline
// bounds the whole exchange including backoff.
func New(o Options) (*retryablehttp.Client, error) {
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.RetryMax < 0 {
		o.RetryMax = 0
	} else if o.RetryMax == 0 {
		o.RetryMax = DefaultRetryMax
	}
	if o.RetryWaitMin <= 0 {
		o.RetryWaitMin = DefaultRetryWaitMin
	}
	if o.RetryWaitMax <= 0 {
		o.RetryWaitMax = DefaultRetryWaitMax
	}
	tlsConf, err := tlsConfig(o)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConf
	// Only an explicit proxy setting in our own options would be honoured;
	// HTTP_PROXY in the agent's environment must not reroute Heat signals.
	transport.Proxy = nil
	if os.Getenv(LoopbackOnlyEnv) != "" {
		transport.DialContext = loopbackOnly(transport.DialContext)
	}

	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{Transport: transport, Timeout: o.AttemptTimeout}
	c.RetryMax = o.RetryMax
	c.RetryWaitMin = o.RetryWaitMin
	c.RetryWaitMax = o.RetryWaitMax
	c.CheckRetry = CheckRetry
	c.Backoff = Backoff
	c.Logger = nil
	if o.Logger != nil {
		c.Logger = slogAdapter{o.Logger}
	}
	c.RequestLogHook = countAttempt
	// Hand the last response to the caller instead of a bare "giving up"
	// error, so it can say what the server answered.
	// A response that comes with an error (a redirect loop, a context that
	// ended after the answer) is not that: its body may be closed already.
	c.ErrorHandler = func(resp *http.Response, err error, tries int) (*http.Response, error) {
		if resp != nil && err == nil {
			return resp, nil
		}
		if resp != nil {
			_ = resp.Body.Close()
		}
		return nil, fmt.Errorf("giving up after %d attempt(s): %w", tries, err)
	}
	return c, nil
}

// LoopbackOnlyEnv, when set, makes every client refuse to resolve or dial
// anything but a loopback address. The test suites set it, so a test that
// forgets to point an endpoint at its emulator fails at once instead of
// sending traffic off the machine (a DNS query included).
const LoopbackOnlyEnv = "HEATSTRAP_TEST_LOOPBACK_ONLY"

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func loopbackOnly(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("refusing to connect to %s: %s is set (tests talk to loopback only)", addr, LoopbackOnlyEnv)
		}
		return dial(ctx, network, addr)
	}
}

func tlsConfig(o Options) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.Insecure {
		conf.InsecureSkipVerify = true // explicit operator choice; callers log a warning
		return conf, nil
	}
	if o.CABundle == "" {
		return conf, nil
	}
	pem, err := os.ReadFile(o.CABundle)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", o.CABundle)
	}
	conf.RootCAs = pool
	return conf, nil
}

// CheckRetry retries connection errors, timeouts, 429 and 5xx (but 501), and
// nothing else: a 4xx will not get better by asking again.
func CheckRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		// Reuse the library's judgement of permanent transport errors
		// (bad scheme, certificate not trusted, redirect loops).
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	return Retryable(resp.StatusCode), nil
}

// Retryable reports whether an HTTP status is worth another attempt.
func Retryable(code int) bool {
	return code == http.StatusTooManyRequests || code == 0 ||
		(code >= 500 && code != http.StatusNotImplemented)
}

// Backoff is exponential from min to max with "equal jitter" (half fixed,
// half random), so a fleet of nodes booted together does not retry in step.
// A Retry-After header on 429/503 is honoured up to max.
func Backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		switch {
		case errors.Is(err, strconv.ErrRange) && s > 0:
			return maxWait // more seconds than an int holds: "a long time"
		case err == nil && s >= int(maxWait/time.Second)+1:
			return maxWait // compare in seconds: s*time.Second can overflow
		case err == nil && s >= 0:
			return min(time.Duration(s)*time.Second, maxWait)
		}
	}
	// min<<attempt without overflow: shift only while the result stays
	// within max (a wrapped shift could land anywhere, even below min).
	d := maxWait
	if attempt < 0 {
		attempt = 0
	}
	if attempt < 63 && minWait > 0 && minWait <= maxWait>>attempt {
		d = minWait << attempt
	}
	half := d / 2
	return half + rand.N(half+1)
}

type attemptsKey struct{}

// WithAttemptCounter returns a context whose requests count their attempts
// into *n (first attempt = 1).
func WithAttemptCounter(ctx context.Context, n *int) context.Context {
	return context.WithValue(ctx, attemptsKey{}, n)
}

func countAttempt(_ retryablehttp.Logger, req *http.Request, attempt int) {
	if n, ok := req.Context().Value(attemptsKey{}).(*int); ok {
		*n = attempt + 1
	}
}

// StatusError is a final non-2xx answer.
type StatusError struct {
	Method, URL string
	Code        int
	Body        string // first bytes of the body, for the operator
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.URL, e.Code)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Code returns the HTTP status of a StatusError in err's chain, or 0.
func Code(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Error(msg string, kv ...any) { a.l.Warn(msg, kv...) }
func (a slogAdapter) Info(msg string, kv ...any)  { a.l.Debug(msg, kv...) }
func (a slogAdapter) Debug(msg string, kv ...any) { a.l.Debug(msg, kv...) }
func (a slogAdapter) Warn(msg string, kv ...any)  { a.l.Warn(msg, kv...) }
