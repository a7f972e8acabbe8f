package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
)

const canary = "CANARY-s3cr3t-value"

// Every sink sees the redacted record: the message, string attributes,
// errors, fmt.Stringers, groups and attributes bound with With.
func TestRedactsEverywhere(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log := New(&buf, Options{Format: format, Level: "debug", Redactor: config.NewRedactor(canary)})
		log = log.With("bound", "token="+canary)
		log.Debug("sending "+canary, "url", "http://h/?t="+canary,
			"err", errors.New("401 for "+canary),
			"any", []string{canary},
			slog.Group("g", "inner", canary),
			"secret", config.NewSecret(canary))
		out := buf.String()
		if strings.Contains(out, canary) {
			t.Fatalf("%s: secret leaked:\n%s", format, out)
		}
		if n := strings.Count(out, "***"); n < 7 {
			t.Errorf("%s: %d redactions, want 7 (message, bound, url, err, any, group, Secret):\n%s", format, n, out)
		}
	}
}

func TestFormatsAndLevels(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, Options{Format: "json", Level: "warn", Redactor: config.NewRedactor()})
	log.Info("hidden")
	log.Warn("step failed", "step", "configure-etcd", "result", "failed")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %v\n%s", err, buf.String())
	}
	if rec["msg"] != "step failed" || rec["step"] != "configure-etcd" || rec["level"] != "WARN" {
		t.Errorf("record %v", rec)
	}

	buf.Reset()
	New(&buf, Options{Format: "text", Level: "info", Redactor: config.NewRedactor()}).Info("step started", "step", "make-cert")
	if !strings.Contains(buf.String(), `msg="step started" step=make-cert`) {
		t.Errorf("text record %q", buf.String())
	}
}

// Journal field names follow journald's rules (upper case, digits, '_').
func TestFieldName(t *testing.T) {
	for in, want := range map[string]string{"step": "STEP", "result": "RESULT", "duration-ms": "DURATION_MS", "a.b": "A_B"} {
		if got := fieldName(in); got != want {
			t.Errorf("fieldName(%q) = %q, want %q", in, got, want)
		}
	}
}

// MESSAGE= carries the attributes too, quoted as in the text format, so
// `journalctl -u heatstrap` reads like the console.
func TestJournalMessage(t *testing.T) {
	r := slog.NewRecord(time.Now(), slog.LevelError, "step failed", 0)
	r.AddAttrs(slog.String("result", "failed"), slog.String("error", `etcd.service is failed (Result=exit-code)`))
	got := journalMessage("step failed", []slog.Attr{slog.String("step", "configure-etcd")}, r)
	want := `step failed step=configure-etcd result=failed error="etcd.service is failed (Result=exit-code)"`
	if got != want {
		t.Errorf("MESSAGE\n got %s\nwant %s", got, want)
	}
	if got := journalMessage("run finished", nil, slog.NewRecord(time.Now(), slog.LevelInfo, "run finished", 0)); got != "run finished" {
		t.Errorf("MESSAGE without attributes: %q", got)
	}
}
