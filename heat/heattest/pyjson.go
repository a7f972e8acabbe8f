package heattest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// pyJSONError is a json.JSONDecodeError / UnicodeDecodeError message. Heat
// turns it into a 400 HTTPBadRequest whose error.message is exactly this
// text (spec §4a "For 400s raised by webob ... message is the JSON parser's
// error text"), so the parser below mirrors CPython 3.11's C scanner:
// same messages, same positions, NaN/Infinity accepted, duplicate keys
// last-wins.
type pyJSONError struct{ msg string }

func (e *pyJSONError) Error() string { return e.msg }

// pyLoads is oslo jsonutils.loads on a request body: strict UTF-8 decode,
// then json.loads.
func pyLoads(body []byte) (*pyValue, error) {
	if msg := utf8DecodeError(body); msg != "" {
		return nil, &pyJSONError{msg}
	}
	p := &pyParser{s: []rune(string(body))}
	v, err := p.value(p.ws(0))
	if err != nil {
		return nil, err
	}
	if end := p.ws(p.pos); end != len(p.s) {
		return nil, p.fail("Extra data", end)
	}
	return v, nil
}

type pyParser struct {
	s   []rune
	pos int // index just after the last parsed value
}

// stopIteration is the scanner's StopIteration(idx): "no value here".
type stopIteration struct{ idx int }

func (e *stopIteration) Error() string { return "StopIteration" }

func (p *pyParser) fail(msg string, pos int) error {
	line, col := 1, pos+1
	for i, r := range p.s[:pos] {
		if r == '\n' {
			line, col = line+1, pos-i
		}
	}
	return &pyJSONError{fmt.Sprintf("%s: line %d column %d (char %d)", msg, line, col, pos)}
}

func (p *pyParser) ws(i int) int {
	for i < len(p.s) && strings.ContainsRune(" \t\n\r", p.s[i]) {
		i++
	}
	return i
}

func (p *pyParser) has(i int, lit string) bool {
	return i+len(lit) <= len(p.s) && string(p.s[i:i+len(lit)]) == lit
}

// value is scan_once; a StopIteration surfaces as "Expecting value".
func (p *pyParser) value(i int) (*pyValue, error) {
	v, err := p.scanOnce(i)
	if si, ok := err.(*stopIteration); ok {
		return nil, p.fail("Expecting value", si.idx)
	}
	return v, err
}

func (p *pyParser) scanOnce(i int) (*pyValue, error) {
	if i >= len(p.s) {
		return nil, &stopIteration{i}
	}
	switch c := p.s[i]; {
	case c == '"':
		s, err := p.str(i + 1)
		return pyString(s), err
	case c == '{':
		return p.object(i + 1)
	case c == '[':
		return p.array(i + 1)
	case c == 'n' && p.has(i, "null"):
		p.pos = i + 4
		return pyNull(), nil
	case c == 't' && p.has(i, "true"):
		p.pos = i + 4
		return &pyValue{kind: pyBool, b: true}, nil
	case c == 'f' && p.has(i, "false"):
		p.pos = i + 5
		return &pyValue{kind: pyBool, b: false}, nil
	case c == 'N' && p.has(i, "NaN"):
		p.pos = i + 3
		return &pyValue{kind: pyFloat, num: "NaN"}, nil
	case c == 'I' && p.has(i, "Infinity"):
		p.pos = i + 8
		return &pyValue{kind: pyFloat, num: "Infinity"}, nil
	case c == '-' && p.has(i, "-Infinity"):
		p.pos = i + 9
		return &pyValue{kind: pyFloat, num: "-Infinity"}, nil
	}
	return p.number(i)
}

func (p *pyParser) digits(i int) int {
	for i < len(p.s) && p.s[i] >= '0' && p.s[i] <= '9' {
		i++
	}
	return i
}

func (p *pyParser) number(start int) (*pyValue, error) {
	i := start
	if i < len(p.s) && p.s[i] == '-' {
		i++
	}
	switch {
	case i < len(p.s) && p.s[i] >= '1' && p.s[i] <= '9':
		i = p.digits(i)
	case i < len(p.s) && p.s[i] == '0':
		i++
	default:
		return nil, &stopIteration{start}
	}
	kind := pyInt
	if i+1 < len(p.s) && p.s[i] == '.' && p.s[i+1] >= '0' && p.s[i+1] <= '9' {
		i, kind = p.digits(i+1), pyFloat
	}
	if i < len(p.s) && (p.s[i] == 'e' || p.s[i] == 'E') {
		j := i + 1
		if j < len(p.s) && (p.s[j] == '-' || p.s[j] == '+') {
			j++
		}
		if k := p.digits(j); k > j {
			i, kind = k, pyFloat
		}
	}
	p.pos = i
	return &pyValue{kind: kind, num: string(p.s[start:i])}, nil
}

// str is scanstring with strict=True; i is just after the opening quote.
func (p *pyParser) str(i int) (string, error) {
	begin := i - 1
	var b strings.Builder
	for {
		if i >= len(p.s) {
			return "", p.fail("Unterminated string starting at", begin)
		}
		c := p.s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return b.String(), nil
		case c < 0x20:
			return "", p.fail("Invalid control character at", i)
		case c != '\\':
			b.WriteRune(c)
			i++
			continue
		}
		i++ // past the backslash
		if i >= len(p.s) {
			return "", p.fail("Unterminated string starting at", begin)
		}
		esc := p.s[i]
		if esc != 'u' {
			r, ok := map[rune]rune{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[esc]
			if !ok {
				return "", p.fail("Invalid \\escape", i-1)
			}
			b.WriteRune(r)
			i++
			continue
		}
		r, ok := p.hex4(i + 1)
		if !ok {
			return "", p.fail("Invalid \\uXXXX escape", i)
		}
		i += 5
		if utf16.IsSurrogate(r) && r < 0xdc00 && p.has(i, "\\u") {
			if r2, ok := p.hex4(i + 2); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
				r = utf16.DecodeRune(r, r2)
				i += 6
			}
		}
		b.WriteRune(r) // a lone surrogate becomes U+FFFD: Go strings cannot hold it
	}
}

func (p *pyParser) hex4(i int) (rune, bool) {
	if i+4 > len(p.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.s[i:i+4]), 16, 32)
	if err != nil || strings.ContainsAny(string(p.s[i:i+4]), "+-xX_") {
		return 0, false
	}
	return rune(n), true
}

func (p *pyParser) object(i int) (*pyValue, error) {
	d := &pyValue{kind: pyDict}
	i = p.ws(i)
	if i < len(p.s) && p.s[i] == '}' {
		p.pos = i + 1
		return d, nil
	}
	for i < len(p.s) {
		if p.s[i] != '"' {
			return nil, p.fail("Expecting property name enclosed in double quotes", i)
		}
		key, err := p.str(i + 1)
		if err != nil {
			return nil, err
		}
		i = p.ws(p.pos)
		if i >= len(p.s) || p.s[i] != ':' {
			return nil, p.fail("Expecting ':' delimiter", i)
		}
		val, err := p.value(p.ws(i + 1))
		if err != nil {
			return nil, err
		}
		d.set(key, val)
		i = p.ws(p.pos)
		if i < len(p.s) && p.s[i] == '}' {
			p.pos = i + 1
			return d, nil
		}
		if i >= len(p.s) || p.s[i] != ',' {
			return nil, p.fail("Expecting ',' delimiter", i)
		}
		i = p.ws(i + 1)
	}
	return nil, p.fail("Expecting property name enclosed in double quotes", i)
}

func (p *pyParser) array(i int) (*pyValue, error) {
	l := &pyValue{kind: pyList, list: []*pyValue{}}
	i = p.ws(i)
	if i < len(p.s) && p.s[i] == ']' {
		p.pos = i + 1
		return l, nil
	}
	for {
		val, err := p.value(i)
		if err != nil {
			return nil, err
		}
		l.list = append(l.list, val)
		i = p.ws(p.pos)
		if i < len(p.s) && p.s[i] == ']' {
			p.pos = i + 1
			return l, nil
		}
		if i >= len(p.s) || p.s[i] != ',' {
			return nil, p.fail("Expecting ',' delimiter", i)
		}
		i = p.ws(i + 1)
	}
}

// utf8DecodeError returns CPython's UnicodeDecodeError text for the first
// invalid sequence in b, or "" when b is valid UTF-8.
func utf8DecodeError(b []byte) string {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			i += size
			continue
		}
		need, lo, hi := utf8SeqShape(b[i])
		if need == 0 {
			return fmt.Sprintf("'utf-8' codec can't decode byte 0x%02x in position %d: invalid start byte", b[i], i)
		}
		k := 1 // bytes of the sequence that were acceptable
		for ; k <= need && i+k < len(b); k++ {
			c := b[i+k]
			if k == 1 && (c < lo || c > hi) || k > 1 && (c < 0x80 || c > 0xbf) {
				break
			}
		}
		reason := "invalid continuation byte"
		if i+k >= len(b) {
			reason = "unexpected end of data"
		}
		if k == 1 {
			return fmt.Sprintf("'utf-8' codec can't decode byte 0x%02x in position %d: %s", b[i], i, reason)
		}
		return fmt.Sprintf("'utf-8' codec can't decode bytes in position %d-%d: %s", i, i+k-1, reason)
	}
	return ""
}

// utf8SeqShape gives the continuation count and the allowed range of the
// first continuation byte for a lead byte (0 for an invalid lead).
func utf8SeqShape(c byte) (need int, lo, hi byte) {
	switch {
	case c >= 0xc2 && c <= 0xdf:
		return 1, 0x80, 0xbf
	case c == 0xe0:
		return 2, 0xa0, 0xbf
	case c == 0xed:
		return 2, 0x80, 0x9f
	case c >= 0xe1 && c <= 0xef:
		return 2, 0x80, 0xbf
	case c == 0xf0:
		return 3, 0x90, 0xbf
	case c >= 0xf1 && c <= 0xf3:
		return 3, 0x80, 0xbf
	case c == 0xf4:
		return 3, 0x80, 0x8f
	}
	return 0, 0, 0
}
