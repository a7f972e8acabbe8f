package heat_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heatstrap/heatstrap/heat"
)

func TestSignalBody(t *testing.T) {
	long := strings.Repeat("é", 300) // 2 bytes a rune: a byte cut would split one
	tests := []struct {
		name    string
		sig     heat.Signal
		want    string // exact body; "" to skip
		reason  string // expected decoded reason when want is ""
		wantErr string
	}{
		{
			name: "success",
			sig:  heat.Signal{Status: heat.Success, Reason: "node ready", Data: "ok", ID: "node-0"},
			want: `{"status":"SUCCESS","reason":"node ready","data":"ok","id":"node-0"}`,
		},
		{
			name: "failure, no HTML escaping, empty data kept",
			sig:  heat.Signal{Status: heat.Failure, Reason: `step "kubelet" failed: a<b && c>d`, ID: "1"},
			want: `{"status":"FAILURE","reason":"step \"kubelet\" failed: a<b && c>d","data":"","id":"1"}`,
		},
		{name: "reason at the limit is kept", sig: heat.Signal{Status: heat.Failure, Reason: long[:2*heat.MaxReason], ID: "x"}, reason: long[:2*heat.MaxReason]},
		{name: "long multibyte reason is cut", sig: heat.Signal{Status: heat.Failure, Reason: long, ID: "x"}, reason: long[:2*(heat.MaxReason-3)] + "..."},
		{name: "lowercase status", sig: heat.Signal{Status: "success", ID: "x"}, wantErr: "neither SUCCESS nor FAILURE"},
		{name: "empty status", sig: heat.Signal{ID: "x"}, wantErr: "neither SUCCESS nor FAILURE"},
		{name: "unknown status", sig: heat.Signal{Status: "DONE", ID: "x"}, wantErr: "neither SUCCESS nor FAILURE"},
		{name: "no id", sig: heat.Signal{Status: heat.Success}, wantErr: "no id"},
		{name: "over 1 MiB", sig: heat.Signal{Status: heat.Success, ID: "x", Data: strings.Repeat("d", 1<<20)}, wantErr: "refuses more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := tt.sig.Body()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkWireShape(t, body)
			if tt.want != "" && string(body) != tt.want {
				t.Errorf("body\n got %s\nwant %s", body, tt.want)
			}
			if tt.reason != "" {
				var m map[string]any
				_ = json.Unmarshal(body, &m)
				got, _ := m["reason"].(string)
				if got != tt.reason {
					t.Errorf("reason = %q (%d runes), want %q", got, utf8.RuneCountInString(got), tt.reason)
				}
				if n := utf8.RuneCountInString(got); n > heat.MaxReason || !utf8.ValidString(got) {
					t.Errorf("reason has %d runes (valid UTF-8: %v)", n, utf8.ValidString(got))
				}
			}
		})
	}
}

// checkWireShape asserts what Heat needs to parse and accept a body (§2):
// it starts with '{', is one line, and has exactly the four keys.
func checkWireShape(t *testing.T, body []byte) {
	t.Helper()
	if len(body) == 0 || body[0] != '{' || strings.ContainsAny(string(body), "\n\r") {
		t.Fatalf("body is not a compact JSON object: %q", body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	keys := slices.Sorted(maps.Keys(m))
	if want := []string{"data", "id", "reason", "status"}; !slices.Equal(keys, want) {
		t.Fatalf("keys = %v, want exactly %v", keys, want)
	}
}
