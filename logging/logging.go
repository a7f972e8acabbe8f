// Package logging builds heatstrap's logger: text or JSON on stderr, also
// the journal when journald is there (fields STEP=, RESULT=, …), and every
// record passed through the redactor first, so a secret that slipped into
// an error string is masked on every sink.
package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/heatstrap/heatstrap/config"
)

// Options pick the sinks.
type Options struct {
	Format  string // text or json
	Level   string // debug, info, warn, error
	Journal bool   // also send to journald when it is running
	// WriterIsJournal: w already ends in the journal (a unit's stderr with
	// StandardError=journal); the native entries then replace the lines
	// on w instead of doubling every record in `journalctl`.
	WriterIsJournal bool
	Redactor        *config.Redactor
}

// New returns the logger.
func New(w io.Writer, o Options) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(o.Level))
	hopts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, hopts)
	if o.Format == "json" {
		h = slog.NewJSONHandler(w, hopts)
	}
	if o.Journal && journal.Enabled() {
		if o.WriterIsJournal {
			h = &journalHandler{level: lvl}
		} else {
			h = fanout{h, &journalHandler{level: lvl}}
		}
	}
	return slog.New(&redacting{next: h, r: o.Redactor})
}

// redacting masks secret values in the message and in string attributes.
type redacting struct {
	next slog.Handler
	r    *config.Redactor
}

func (h *redacting) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *redacting) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redacting) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Redact(v.String()))
	case slog.KindGroup:
		as := v.Group()
		out := make([]any, len(as))
		for i, g := range as {
			out[i] = h.attr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.r.Redact(err.Error()))
		}
		return slog.String(a.Key, h.r.Redact(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *redacting) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = h.attr(a)
	}
	return &redacting{next: h.next.WithAttrs(out), r: h.r}
}

func (h *redacting) WithGroup(name string) slog.Handler {
	return &redacting{next: h.next.WithGroup(name), r: h.r}
}

type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// journalHandler sends records to journald with attributes as fields, so
// `journalctl SYSLOG_IDENTIFIER=heatstrap STEP=configure-etcd` works.
type journalHandler struct {
	level slog.Level
	attrs []slog.Attr
}

func (j *journalHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= j.level }

func (j *journalHandler) Handle(_ context.Context, r slog.Record) error {
	vars := map[string]string{"SYSLOG_IDENTIFIER": "heatstrap"}
	add := func(a slog.Attr) bool {
		vars[fieldName(a.Key)] = a.Value.Resolve().String()
		return true
	}
	for _, a := range j.attrs {
		add(a)
	}
	r.Attrs(add)
	return journal.Send(journalMessage(r.Message, j.attrs, r), priority(r.Level), vars)
}

// journalMessage is MESSAGE=: the record as one readable line, "step
// failed step=make-cert error=\"...\"", since `journalctl -u heatstrap`
// shows MESSAGE alone and the fields only with -o verbose.
func journalMessage(msg string, bound []slog.Attr, r slog.Record) string {
	var b bytes.Buffer
	b.WriteString(msg)
	h := slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
			return slog.Attr{}
		}
		return a
	}})
	line := slog.NewRecord(time.Time{}, r.Level, "", 0)
	line.AddAttrs(bound...)
	r.Attrs(func(a slog.Attr) bool { line.AddAttrs(a); return true })
	if line.NumAttrs() > 0 {
		b.WriteByte(' ')
		_ = h.Handle(context.Background(), line)
	}
	return strings.TrimRight(b.String(), "\n")
}

func (j *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journalHandler{level: j.level, attrs: append(append([]slog.Attr(nil), j.attrs...), as...)}
}

func (j *journalHandler) WithGroup(string) slog.Handler { return j }

func fieldName(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, k)
}

func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}
