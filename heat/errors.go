package heat

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/heatstrap/heatstrap/httpclient"
)

// Error is a signal Heat did not take. Its message is meant for the
// operator: what happened and what to do next. It never contains the token.
type Error struct {
	Code      int  // Heat's final HTTP status; 0 when no answer came
	Attempts  int  // requests made, retries included
	Permanent bool // resending the same signal to this endpoint cannot succeed
	msg       string
	cause     error // transport or context error, for errors.Is/As
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.cause }

// IsPermanent reports whether err is a Heat signal error that resending
// cannot fix (an expired token, a deleted stack, a refused certificate).
// Any other error, nil included, is not known to be permanent.
func IsPermanent(err error) bool {
	he, ok := errors.AsType[*Error](err)
	return ok && he.Permanent
}

const msg401 = "Heat rejected the signal token (HTTP 401); stack-user tokens expire about an hour after the stack was created: " +
	"update the stack to get a new wait handle, or rerun `heatstrap signal` with WAIT_HANDLE_ENDPOINT/WAIT_HANDLE_TOKEN of a fresh handle"

// statusError explains Heat's final non-2xx answer (§4a "Checks, in the
// order they happen"). body is the start of the response body; location
// is the Location header of a redirect.
func statusError(code, attempts int, body []byte, location string) *Error {
	e := &Error{Code: code, Attempts: attempts, Permanent: !httpclient.Retryable(code)}
	detail := faultDetail(body)
	switch {
	case code == http.StatusUnauthorized:
		// keystonemiddleware: the handle's token is fetched once at
		// create time and never refreshed (§1).
		e.msg = msg401
	case code == http.StatusForbidden:
		e.msg = fmt.Sprintf("Heat refused the signal (HTTP 403%s): the token's project must be the project in the signal URL, "+
			"and the stack user needs the heat_stack_user role; take the URL and the token from the same wait handle "+
			"(WAIT_CURL, or WAIT_HANDLE_ENDPOINT with WAIT_HANDLE_TOKEN)", detail)
	case code == http.StatusNotFound:
		e.msg = fmt.Sprintf("Heat has no such stack or wait handle (HTTP 404%s): the stack may have been deleted, "+
			"or the signal URL is wrong or belongs to another stack; check WAIT_CURL/WAIT_HANDLE_ENDPOINT", detail)
	case code == http.StatusBadRequest:
		e.msg = fmt.Sprintf("Heat rejected the signal (HTTP 400%s): the handle is being deleted or suspended, "+
			"or heat-api could not read the body; resending the same signal will not help", detail)
	case code >= 300 && code < 400:
		e.msg = fmt.Sprintf("Heat's URL answered HTTP %d, a redirect to %s; set the signal URL to where heat-api really "+
			"listens (often https://): redirects are not followed because they turn the POST into a GET", code, safeLocation(location))
	case !e.Permanent:
		e.msg = fmt.Sprintf("Heat answered HTTP %d after %s%s; heat-api or its engine is overloaded or down: "+
			"the signal was not delivered, resend it later with `heatstrap signal` (the same id is harmless to resend)",
			code, plural(attempts), detail)
	default:
		e.msg = fmt.Sprintf("Heat answered HTTP %d to the signal%s; check that the URL is a wait handle's "+
			"signal URL (.../resources/<handle>/signal)", code, detail)
	}
	return e
}

// transportError explains a signal that got no HTTP answer at all.
func transportError(where string, attempts int, err error) *Error {
	e := &Error{Attempts: attempts, cause: err}
	cause := rootCause(err)
	if isTLSVerifyError(err) {
		// Not retried by the client, and no retry will change the
		// certificate: the operator has to act.
		e.Permanent = true
		e.msg = fmt.Sprintf("cannot verify the TLS certificate of Heat at %s: %v; configure the CA bundle that signed it "+
			"(or the insecure mode, knowingly)", where, cause)
		return e
	}
	e.msg = fmt.Sprintf("cannot reach Heat at %s after %s: %v", where, plural(attempts), cause)
	return e
}

// contextError reports a signal abandoned because the caller's context
// ended; the caller knows why, so this is not permanent.
func contextError(where string, attempts int, err error) *Error {
	return &Error{Attempts: attempts, cause: err,
		msg: fmt.Sprintf("signal to Heat at %s abandoned after %s: %v", where, plural(attempts), err)}
}

func plural(attempts int) string {
	if attempts == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", attempts)
}

// rootCause drops the wrappers whose text repeats what the message says
// already (retryablehttp's "giving up after N attempts", url.Error's
// `Post "<url>"`), keeping e.g. "dial tcp ...: connection refused".
func rootCause(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

func isTLSVerifyError(err error) bool {
	_, verify := errors.AsType[*tls.CertificateVerificationError](err)
	_, authority := errors.AsType[x509.UnknownAuthorityError](err)
	_, hostname := errors.AsType[x509.HostnameError](err)
	_, invalid := errors.AsType[x509.CertificateInvalidError](err)
	return verify || authority || hostname || invalid
}

// faultDetail returns ": <message>" from Heat's fault JSON
// ({"error":{"message":...}}, §4a) or keystone's 401 body, or a short,
// single-line excerpt of any other body (a proxy's HTML, webob's plain 404),
// or "" for an empty body.
func faultDetail(body []byte) string {
	var fault struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &fault) == nil && fault.Error.Message != "" {
		if fault.Error.Type != "" {
			return ": " + shorten(fault.Error.Type+": "+fault.Error.Message)
		}
		return ": " + shorten(fault.Error.Message)
	}
	if text := shorten(string(body)); text != "" && text != "null" {
		return ": " + text
	}
	return ""
}

// shorten collapses whitespace and caps the text at 200 characters.
func shorten(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "?")), " ")
	if r := []rune(s); len(r) > 200 {
		return string(r[:197]) + "..."
	}
	return s
}

func safeLocation(loc string) string {
	if loc == "" {
		return "an unknown location"
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "an unparsable location"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", "" // credentials hide there
	return u.String()
}
