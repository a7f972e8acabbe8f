package magnum

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/gophercloud/gophercloud/v2"
)

// ErrUserTokenRejected is Magnum's 401 to USER_TOKEN: the failure spec
// §9.4 predicts for every node added after the creator's token expired.
//
//lint:ignore ST1005 the sentence is what operators grep for; it names the service.
var ErrUserTokenRejected = errors.New("Magnum rejected USER_TOKEN (expired? Mitaka reuses the creator's token on scale-up; use trust credentials)")

// APIError is a final non-2xx answer of Magnum, explained.
type APIError struct {
	Code int // HTTP status; 0 for a transport failure or a bad answer
	msg  string
	err  error
}

func (e *APIError) Error() string { return e.msg }
func (e *APIError) Unwrap() error { return e.err }

// operation describes one Magnum call for error messages.
type operation struct {
	verb, path, cluster string
	mode                Mode
	attempts            *int
}

func (o operation) String() string { return o.verb + " " + o.path }

// fail turns what gophercloud returned into an APIError an operator can act on.
func (o operation) fail(err error) error {
	var code gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &code) {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syn) || errors.As(err, &typ) {
			return &APIError{msg: fmt.Sprintf("Magnum's answer to %s is not the expected JSON: %v", o, err), err: err}
		}
		return &APIError{msg: fmt.Sprintf("Magnum %s failed%s: %v", o, o.tries(), err), err: err}
	}
	detail := errorDetail(code.Body)
	e := &APIError{Code: code.Actual, err: err}
	switch c := code.Actual; {
	case c == http.StatusUnauthorized && o.mode == ModeUserToken:
		// keystonemiddleware's detail ("requires authentication") adds
		// nothing to the sentence operators search for.
		e.err = ErrUserTokenRejected
		e.msg = ErrUserTokenRejected.Error()
	case c == http.StatusUnauthorized:
		e.msg = "Magnum rejected the trust-scoped token Keystone just issued (Keystone and Magnum disagree? check the trust's roles)" + detail
	case c == http.StatusForbidden:
		e.msg = fmt.Sprintf("Magnum policy forbids %s on cluster %s for this token's user (certificate:* is admin_or_user: the token's user must own the cluster)%s",
			o.action(), o.cluster, detail)
	case c == http.StatusNotFound, c == http.StatusBadRequest && strings.Contains(detail, "could not be found"):
		// A POST naming an unknown cluster is a 400 (certificate.py
		// rewrites the 404, "inappropriate for a POST").
		e.msg = fmt.Sprintf("Magnum knows no cluster %s (BAY_UUID; deleted?)%s", o.cluster, detail)
	case c == http.StatusBadRequest:
		e.msg = fmt.Sprintf("Magnum refused %s as malformed%s", o, detail)
	case c == http.StatusNotAcceptable:
		e.msg = fmt.Sprintf("Magnum does not accept the API version requested for %s%s", o, detail)
	case c >= 500:
		e.msg = fmt.Sprintf("Magnum answered HTTP %d to %s%s%s", c, o, o.tries(), detail)
	default:
		e.msg = fmt.Sprintf("Magnum answered HTTP %d to %s%s", c, o, detail)
	}
	return e
}

func (o operation) failf(format string, args ...any) error {
	return &APIError{msg: fmt.Sprintf("Magnum's answer to %s is unusable: ", o) + fmt.Sprintf(format, args...)}
}

func (o operation) action() string {
	if o.verb == "POST" {
		return "certificate:create"
	}
	return "certificate:get"
}

func (o operation) tries() string {
	if o.attempts == nil || *o.attempts <= 1 {
		return ""
	}
	return fmt.Sprintf(" after %d attempts", *o.attempts)
}

// errorDetail pulls the human part out of an error body: Magnum's
// {"errors":[{"detail":...}]} (ParsableErrorMiddleware), keystone's
// {"error":{"message":...}}, or else a short printable prefix.
func errorDetail(body []byte) string {
	var doc struct {
		Errors []struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	text := ""
	if json.Unmarshal(body, &doc) == nil {
		switch {
		case len(doc.Errors) > 0 && doc.Errors[0].Detail != "":
			text = doc.Errors[0].Detail
		case len(doc.Errors) > 0:
			text = doc.Errors[0].Title
		default:
			text = doc.Error.Message
		}
	} else {
		text = string(body)
	}
	text = strings.Join(strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	if text == "" {
		return ""
	}
	return ": " + text
}
