package heat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Status is the outcome reported to the wait condition. Heat accepts exactly
// these two values, case-sensitively (§2).
type Status string

const (
	Success Status = "SUCCESS"
	Failure Status = "FAILURE"
)

// MaxReason bounds the reason, in characters. Heat stores any length, but
// the reason ends up in the WC and stack status_reason (§3), which operators
// read in `openstack stack list` and Magnum's cluster status: a short line.
const MaxReason = 255

// maxBody is heat-api's default max_json_body_size; a larger body is
// answered 400 RequestLimitExceeded (§2), so refuse to build one.
const maxBody = 1 << 20

// Signal is one report to a wait condition.
type Signal struct {
	Status Status
	// Reason is what an operator sees when the WC fails (§3); always set
	// it, or Heat shows "Signal N received".
	Reason string
	// Data is readable from the template with get_attr [wc, data] (§5).
	Data string
	// ID keys the entry in the handle's metadata. A stable ID makes a
	// resent signal overwrite itself instead of counting twice (§2).
	ID string
}

// wire fixes the key order and the exact key set Heat requires (§2).
type wire struct {
	Status Status `json:"status"`
	Reason string `json:"reason"`
	Data   string `json:"data"`
	ID     string `json:"id"`
}

// Body renders the signal as Heat must receive it: a compact JSON object
// starting with '{' and holding exactly status, reason, data and id.
// Heat answers 200 before validating and then drops an invalid body
// silently (§2, §4a), so every check happens here, before sending.
func (s Signal) Body() ([]byte, error) {
	if s.Status != Success && s.Status != Failure {
		return nil, fmt.Errorf("heat signal status %q is neither SUCCESS nor FAILURE", string(s.Status))
	}
	if s.ID == "" {
		return nil, errors.New("heat signal has no id: without one, a resent signal counts twice")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <, > and & readable in the operator's reason
	w := wire{Status: s.Status, Reason: trimReason(s.Reason), Data: s.Data, ID: s.ID}
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("encode heat signal: %w", err)
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(body) > maxBody {
		return nil, fmt.Errorf("heat signal body is %d bytes; heat-api refuses more than %d", len(body), maxBody)
	}
	return body, nil
}

// trimReason cuts r to MaxReason characters, ending in "..." when cut. It
// counts runes, not bytes, so a multibyte character is never split.
func trimReason(r string) string {
	if utf8.RuneCountInString(r) <= MaxReason {
		return r
	}
	const ellipsis = "..."
	keep := MaxReason - len(ellipsis)
	n := 0
	for i := range r {
		if n == keep {
			return r[:i] + ellipsis
		}
		n++
	}
	return r // unreachable: r has more than keep runes
}
