package heattest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pyValue is a JSON value as Heat's Python engine holds it after
// json.loads: objects keep their key order (dicts are ordered, and Heat's
// DB round-trip through JSON text preserves it) and numbers keep the int /
// float distinction. Signal ids are stored under str(id) and reasons are
// printed with %s (spec §2), so the exact Python rendering matters.
type pyValue struct {
	kind pyKind
	b    bool
	num  string // JSON literal of an int or float
	s    string
	list []*pyValue
	keys []string
	vals []*pyValue // parallel to keys
}

type pyKind int

const (
	pyNone pyKind = iota
	pyBool
	pyInt
	pyFloat
	pyStr
	pyList
	pyDict
)

var pyTypeNames = map[pyKind]string{
	pyNone: "NoneType", pyBool: "bool", pyInt: "int", pyFloat: "float",
	pyStr: "str", pyList: "list", pyDict: "dict",
}

func pyString(s string) *pyValue { return &pyValue{kind: pyStr, s: s} }
func pyInteger(n int) *pyValue   { return &pyValue{kind: pyInt, num: strconv.Itoa(n)} }
func pyNull() *pyValue           { return &pyValue{kind: pyNone} }

// pyObj builds an ordered dict from alternating keys and values; values may
// be *pyValue, string, int, bool, nil or []*pyValue.
func pyObj(kv ...any) *pyValue {
	d := &pyValue{kind: pyDict}
	for i := 0; i+1 < len(kv); i += 2 {
		d.set(kv[i].(string), toPy(kv[i+1]))
	}
	return d
}

func toPy(v any) *pyValue {
	switch v := v.(type) {
	case *pyValue:
		return v
	case string:
		return pyString(v)
	case int:
		return pyInteger(v)
	case bool:
		return &pyValue{kind: pyBool, b: v}
	case []*pyValue:
		return &pyValue{kind: pyList, list: v}
	case nil:
		return pyNull()
	}
	panic(fmt.Sprintf("heattest: toPy: unsupported %T", v))
}

// get returns the value under key in a dict, or nil.
func (v *pyValue) get(key string) *pyValue {
	for i, k := range v.keys {
		if k == key {
			return v.vals[i]
		}
	}
	return nil
}

// set behaves like Python dict assignment: an existing key keeps its position.
func (v *pyValue) set(key string, val *pyValue) {
	for i, k := range v.keys {
		if k == key {
			v.vals[i] = val
			return
		}
	}
	v.keys = append(v.keys, key)
	v.vals = append(v.vals, val)
}

// setdefault mirrors dict.setdefault, the only way Heat fills defaults (§2).
func (v *pyValue) setdefault(key string, val *pyValue) {
	if v.get(key) == nil {
		v.set(key, val)
	}
}

func (v *pyValue) del(key string) {
	for i, k := range v.keys {
		if k == key {
			v.keys = append(v.keys[:i:i], v.keys[i+1:]...)
			v.vals = append(v.vals[:i:i], v.vals[i+1:]...)
			return
		}
	}
}

func (v *pyValue) clone() *pyValue {
	c := *v
	c.list = make([]*pyValue, len(v.list))
	for i, e := range v.list {
		c.list[i] = e.clone()
	}
	c.keys = append([]string(nil), v.keys...)
	c.vals = make([]*pyValue, len(v.vals))
	for i, e := range v.vals {
		c.vals[i] = e.clone()
	}
	return &c
}

// toAny converts to what encoding/json would have produced, for the public
// Entry type.
func (v *pyValue) toAny() any {
	switch v.kind {
	case pyBool:
		return v.b
	case pyInt, pyFloat:
		f, _ := strconv.ParseFloat(v.num, 64)
		return f
	case pyStr:
		return v.s
	case pyList:
		out := make([]any, len(v.list))
		for i, e := range v.list {
			out[i] = e.toAny()
		}
		return out
	case pyDict:
		out := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			out[k] = v.vals[i].toAny()
		}
		return out
	}
	return nil
}

// pyStrOf is Python's str(): strings as-is, everything else repr().
func pyStrOf(v *pyValue) string {
	if v.kind == pyStr {
		return v.s
	}
	return pyRepr(v)
}

func pyRepr(v *pyValue) string {
	switch v.kind {
	case pyNone:
		return "None"
	case pyBool:
		if v.b {
			return "True"
		}
		return "False"
	case pyInt:
		return pyIntText(v.num)
	case pyFloat:
		return pyFloatText(v.num, "inf", "nan")
	case pyStr:
		return pyQuoteRepr(v.s)
	case pyList:
		parts := make([]string, len(v.list))
		for i, e := range v.list {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	parts := make([]string, len(v.keys))
	for i, k := range v.keys {
		parts[i] = pyQuoteRepr(k) + ": " + pyRepr(v.vals[i])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// pyDumps is oslo jsonutils.dumps / json.dumps with default arguments:
// ", " and ": " separators and ensure_ascii escaping.
func pyDumps(v *pyValue) string {
	var b strings.Builder
	writePyText(&b, v)
	return b.String()
}

func writePyText(b *strings.Builder, v *pyValue) {
	switch v.kind {
	case pyNone:
		b.WriteString("null")
	case pyBool:
		b.WriteString(strconv.FormatBool(v.b))
	case pyInt:
		b.WriteString(pyIntText(v.num))
	case pyFloat:
		b.WriteString(pyFloatText(v.num, "Infinity", "NaN"))
	case pyStr:
		writeASCIIString(b, v.s)
	case pyList:
		b.WriteByte('[')
		for i, e := range v.list {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyText(b, e)
		}
		b.WriteByte(']')
	case pyDict:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeASCIIString(b, k)
			b.WriteString(": ")
			writePyText(b, v.vals[i])
		}
		b.WriteByte('}')
	}
}

func writeASCIIString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r > 0x7e && r < 0x10000:
			fmt.Fprintf(b, `\u%04x`, r)
		case r >= 0x10000:
			r -= 0x10000
			fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// pyIntText normalises a JSON integer literal the way int() would ("-0" → "0").
func pyIntText(lit string) string {
	if strings.TrimLeft(lit, "-0") == "" {
		return "0"
	}
	return lit
}

// pyFloatText renders float.__repr__: shortest round-trip digits, fixed
// notation for exponents in [-4, 16), otherwise d.ddde±XX.
func pyFloatText(lit, inf, nan string) string {
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !math.IsInf(f, 0) || math.IsNaN(f) {
		return nan
	}
	if math.IsInf(f, 1) {
		return inf
	}
	if math.IsInf(f, -1) {
		return "-" + inf
	}
	sci := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(sci[strings.IndexByte(sci, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return sci
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// pyQuoteRepr is repr(str): single quotes unless the text contains a single
// quote and no double quote.
func pyQuoteRepr(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0x7f && !isPyPrintable(r):
			switch {
			case r < 0x100:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r < 0x10000:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// isPyPrintable approximates str.isprintable: everything but the Unicode
// "Other" and "Separator" categories, space excepted.
func isPyPrintable(r rune) bool { return unicode.IsPrint(r) }
