package config

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The heat-params format, exactly as Magnum writes it: one KEY="value" per
// line. We read it literally: no shell evaluation, no variable expansion,
// no backslash escapes (spec §9.1: Mitaka sourced it in a shell, so a value
// with $(...) or a backtick was executed; here it is just text).
//
// Accepted per line: blank, "# comment", KEY="value", KEY='value',
// KEY=value. A value's quotes are the first character after "=" and the
// last character of the line; quotes inside are kept literally. A line that
// opens a quote it does not close (e.g. a value Heat broke with a newline)
// is an error naming file, line and key.

var keyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Entry is one KEY=value line.
type Entry struct {
	Key, Value string
	Line       int
}

// ParseError names the file, line and key of a malformed line.
type ParseError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// ReadHeatParams parses data. Duplicated keys produce a warning; the last
// one wins, as it did when the file was sourced.
func ReadHeatParams(file string, data []byte) (entries []Entry, warnings []string, err error) {
	seen := map[string]int{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		s := strings.TrimSuffix(string(line), "\r")
		trimmed := strings.TrimSpace(s)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		e, perr := parseLine(s)
		if perr != nil {
			perr.File, perr.Line = file, n
			return nil, warnings, perr
		}
		e.Line = n
		if prev, dup := seen[e.Key]; dup {
			warnings = append(warnings, fmt.Sprintf("%s:%d: %s is set again (first on line %d); the last value wins", file, n, e.Key, prev))
			entries = slices.DeleteFunc(entries, func(x Entry) bool { return x.Key == e.Key })
		}
		seen[e.Key] = n
		entries = append(entries, e)
	}
	return entries, warnings, nil
}

func parseLine(s string) (Entry, *ParseError) {
	s = strings.TrimLeft(s, " \t")
	s = strings.TrimPrefix(s, "export ")
	key, val, ok := strings.Cut(s, "=")
	if !ok {
		k := ""
		if f := strings.Fields(s); len(f) > 0 && keyRe.MatchString(f[0]) {
			k = f[0]
		}
		return Entry{}, &ParseError{Key: k, Msg: `expected KEY="value"`}
	}
	if !keyRe.MatchString(key) {
		return Entry{}, &ParseError{Msg: fmt.Sprintf("%q is not a valid key name", key)}
	}
	val = strings.TrimRight(val, " \t")
	if val == "" {
		return Entry{Key: key}, nil
	}
	if q := val[0]; q == '"' || q == '\'' {
		if len(val) < 2 || val[len(val)-1] != q {
			return Entry{}, &ParseError{Key: key, Msg: fmt.Sprintf("unterminated %c quote (a value with a newline or a stray quote?)", q)}
		}
		val = val[1 : len(val)-1]
	}
	return Entry{Key: key, Value: val}, nil
}

// RenderHeatParams writes entries back in the same format (used by the
// viper encoder and by tests). Values are written as they are, quoted.
func RenderHeatParams(entries []Entry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&b, "%s=\"%s\"\n", e.Key, e.Value)
	}
	return b.Bytes()
}

func asParseError(err error, target **ParseError) bool { return errors.As(err, target) }

// Salvage pulls what it can out of a malformed heat-params: every line that
// parses on its own. It exists so a broken file can still be reported to
// Heat through WAIT_CURL instead of ending in a wait-condition timeout.
func Salvage(data []byte) Params {
	raw := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if e, err := parseLine(strings.TrimSuffix(line, "\r")); err == nil {
			raw[e.Key] = e.Value
		}
	}
	p, _ := Decode(raw)
	return p
}
