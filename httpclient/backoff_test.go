package httpclient_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/httpclient"
)

// expected computes the un-jittered wait independently of the code under
// test (in floating point, which cannot overflow): min·2^attempt capped
// at max.
func expected(minWait, maxWait time.Duration, attempt int) time.Duration {
	if float64(minWait)*math.Pow(2, float64(attempt)) >= float64(maxWait) {
		return maxWait
	}
	return minWait << attempt
}

// Equal jitter: every wait is in [d/2, d] and never above max, for every
// attempt number including absurd ones (no shift overflow).
func TestBackoffBounds(t *testing.T) {
	ranges := []struct{ min, max time.Duration }{
		{httpclient.DefaultRetryWaitMin, httpclient.DefaultRetryWaitMax},
		{time.Millisecond, time.Hour},
		{time.Second, time.Second},
		{1<<34 + 1, time.Minute}, // 17.18s: min<<30 wraps around to ~1s
		{3 * time.Second, 10 * time.Minute},
		{time.Hour, 24 * time.Hour},
		{time.Nanosecond, math.MaxInt64},
	}
	attempts := []int{0, 1, 2, 3, 5, 10, 20, 29, 30, 31, 32, 40, 62, 63, 64, 100, 1 << 20, math.MaxInt32, math.MaxInt}
	for _, r := range ranges {
		for _, a := range attempts {
			d := expected(r.min, r.max, a)
			for range 50 {
				got := httpclient.Backoff(r.min, r.max, a, nil)
				if got < d/2 || got > d || got > r.max {
					t.Fatalf("Backoff(%v, %v, %d) = %v, want within [%v, %v]", r.min, r.max, a, got, d/2, d)
				}
			}
		}
	}
}

// The wait grows with the attempt number and is actually jittered, so
// nodes booted together spread out.
func TestBackoffGrowsAndJitters(t *testing.T) {
	minWait, maxWait := 100*time.Millisecond, 10*time.Second
	for a := range 6 {
		lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
		for range 200 {
			w := httpclient.Backoff(minWait, maxWait, a, nil)
			lo, hi = min(lo, w), max(hi, w)
		}
		d := minWait << a
		if hi-lo < d/10 {
			t.Errorf("attempt %d: waits only spread over [%v, %v]; want jitter across [%v, %v]", a, lo, hi, d/2, d)
		}
		if a > 0 && lo < (minWait<<(a-1))/2 {
			t.Errorf("attempt %d: %v is below the previous attempt's floor", a, lo)
		}
	}
	// A negative attempt number is a caller bug, not a panic.
	if w := httpclient.Backoff(minWait, maxWait, -1, nil); w < minWait/2 || w > minWait {
		t.Errorf("Backoff(attempt -1) = %v", w)
	}
}

// Retry-After (seconds) on 429 and 503 is obeyed up to max; anything else
// falls back to the exponential wait.
func TestBackoffRetryAfter(t *testing.T) {
	minWait, maxWait := 100*time.Millisecond, 15*time.Second
	exp := func(a int) [2]time.Duration { d := expected(minWait, maxWait, a); return [2]time.Duration{d / 2, d} }
	exact := func(d time.Duration) [2]time.Duration { return [2]time.Duration{d, d} }
	tests := []struct {
		code       int
		retryAfter string
		attempt    int
		want       [2]time.Duration
	}{
		{429, "0", 3, exact(0)},
		{429, "2", 0, exact(2 * time.Second)},
		{503, "7", 0, exact(7 * time.Second)},
		{503, "15", 0, exact(maxWait)},
		{429, "120", 0, exact(maxWait)},
		{429, "9223372037", 0, exact(maxWait)},           // ×1e9 overflows int64 to a negative wait
		{503, "18446744074", 0, exact(maxWait)},          // ×1e9 wraps to a positive 0.29s
		{429, "99999999999999999999", 0, exact(maxWait)}, // not even an int
		{429, "-5", 2, exp(2)},
		{429, "", 2, exp(2)},
		{429, "1.5", 1, exp(1)},
		{503, "Wed, 21 Oct 2015 07:28:00 GMT", 1, exp(1)},
		{500, "1", 1, exp(1)}, // only 429/503 carry a meaningful Retry-After
		{502, "1", 4, exp(4)},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d %q", tc.code, tc.retryAfter), func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.code, Header: http.Header{}}
			if tc.retryAfter != "" {
				resp.Header.Set("Retry-After", tc.retryAfter)
			}
			for range 20 {
				got := httpclient.Backoff(minWait, maxWait, tc.attempt, resp)
				if got < tc.want[0] || got > tc.want[1] {
					t.Fatalf("Backoff = %v, want within [%v, %v]", got, tc.want[0], tc.want[1])
				}
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	retry := []int{429, 500, 502, 503, 504, 505, 507, 599}
	never := []int{200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 405, 408, 409, 413, 422, 501}
	for _, c := range retry {
		if !httpclient.Retryable(c) {
			t.Errorf("Retryable(%d) = false", c)
		}
	}
	for _, c := range never {
		if httpclient.Retryable(c) {
			t.Errorf("Retryable(%d) = true", c)
		}
	}
}

// CheckRetry on transport errors: a cancelled context and an untrusted
// certificate are final; a reset connection is worth another try.
func TestCheckRetryErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	certErr := &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}
	tests := []struct {
		name    string
		ctx     context.Context
		resp    *http.Response
		err     error
		retry   bool
		wantErr error
	}{
		{"context cancelled", cancelled, &http.Response{StatusCode: 503}, nil, false, context.Canceled},
		{"connection reset", context.Background(), nil, errors.New("read: connection reset by peer"), true, nil},
		{"untrusted certificate", context.Background(), nil, &url.Error{Op: "Post", URL: "https://heat", Err: certErr}, false, nil},
		{"503", context.Background(), &http.Response{StatusCode: 503}, nil, true, nil},
		{"404", context.Background(), &http.Response{StatusCode: 404}, nil, false, nil},
	}
	for _, tc := range tests {
		retry, err := httpclient.CheckRetry(tc.ctx, tc.resp, tc.err)
		if retry != tc.retry || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
			t.Errorf("%s: CheckRetry = %v, %v; want %v, %v", tc.name, retry, err, tc.retry, tc.wantErr)
		}
	}
}

func TestStatusError(t *testing.T) {
	tests := []struct {
		err  *httpclient.StatusError
		want string
	}{
		{&httpclient.StatusError{Method: "POST", URL: "https://heat:8004/v1/x", Code: 404, Body: `{"error":"stack not found"}`},
			`POST https://heat:8004/v1/x: HTTP 404: {"error":"stack not found"}`},
		{&httpclient.StatusError{Method: "GET", URL: "http://a/", Code: 503}, "GET http://a/: HTTP 503"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if got := httpclient.Code(fmt.Errorf("signal: %w", tc.err)); got != tc.err.Code {
			t.Errorf("Code(wrapped) = %d, want %d", got, tc.err.Code)
		}
	}
	if httpclient.Code(nil) != 0 || httpclient.Code(errors.New("x")) != 0 {
		t.Error("Code of a non-status error is not 0")
	}
}
