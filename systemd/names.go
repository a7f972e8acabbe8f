package systemd

import (
	"fmt"
	"strings"
)

// unitTypes are the suffixes systemd accepts in a unit name (unit-name.c).
var unitTypes = map[string]bool{
	"service": true, "socket": true, "target": true, "device": true,
	"mount": true, "automount": true, "swap": true, "timer": true,
	"path": true, "slice": true, "scope": true,
}

// validUnitName mirrors systemd's unit_name_is_valid(UNIT_NAME_ANY): a
// known type suffix, a non-empty prefix, at most 255 bytes, only
// [A-Za-z0-9:_.\-] and one "@" before the instance (which may hold more).
func validUnitName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || !unitTypes[name[dot+1:]] {
		return false
	}
	at := strings.IndexByte(name, '@')
	if at == 0 {
		return false
	}
	for _, r := range name[:dot] {
		if !validUnitChar(r) && r != '@' {
			return false
		}
	}
	return true
}

func validUnitChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune(":-_.\\", r)
}

// unitSuffix is the type suffix including the dot: ".service".
func unitSuffix(name string) string {
	if dot := strings.LastIndexByte(name, '.'); dot >= 0 {
		return name[dot:]
	}
	return ""
}

// splitUnit splits "p@i.type" into prefix p, instance i and whether there
// is an "@" at all (template "p@.type" has one with an empty instance).
func splitUnit(name string) (prefix, instance string, at bool) {
	base := strings.TrimSuffix(name, unitSuffix(name))
	prefix, instance, at = strings.Cut(base, "@")
	return prefix, instance, at
}

func isTemplate(name string) bool {
	_, inst, at := splitUnit(name)
	return at && inst == ""
}

func isInstance(name string) bool {
	_, inst, at := splitUnit(name)
	return at && inst != ""
}

// templateOf returns "p@.type" for "p@i.type", "" for other names.
func templateOf(name string) string {
	p, _, at := splitUnit(name)
	if !at {
		return ""
	}
	return p + "@" + unitSuffix(name)
}

// withInstance returns "p@inst.type" for the template or instance name.
func withInstance(name, inst string) string {
	p, _, _ := splitUnit(name)
	return p + "@" + inst + unitSuffix(name)
}

// expandSpecifiers resolves the specifiers systemctl expands in [Install]
// values. Only the ones derived from the unit name are supported: the
// others (%H, %m, %b, ...) describe the machine systemctl runs on, which
// offline is not the node being prepared, so we refuse rather than guess.
func expandSpecifiers(s, name string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	prefix, inst, _ := splitUnit(name)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i++; i == len(s) {
			return "", fmt.Errorf("%q: trailing %%", s)
		}
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'n':
			b.WriteString(name)
		case 'N':
			b.WriteString(strings.TrimSuffix(name, unitSuffix(name)))
		case 'p':
			b.WriteString(prefix)
		case 'i':
			b.WriteString(inst)
		case 'j':
			b.WriteString(prefix[strings.LastIndexByte(prefix, '-')+1:])
		default:
			return "", fmt.Errorf("%q: specifier %%%c is not supported offline", s, s[i])
		}
	}
	return b.String(), nil
}
