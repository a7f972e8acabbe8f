package userdata

import (
	"sort"
	"strings"
)

// strReplace is Heat's str_replace (heat/engine/hot/functions.py Replace):
// placeholders are tried longest first (ties in byte order), the template is
// split on each in turn and re-joined with its value, so an inserted value
// is never scanned for further placeholders.
func strReplace(template string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sort.SliceStable(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	return replaceAll(template, keys, params)
}

func replaceAll(s string, keys []string, params map[string]string) string {
	if len(keys) == 0 {
		return s
	}
	pieces := strings.Split(s, keys[0])
	for i, p := range pieces {
		pieces[i] = replaceAll(p, keys[1:], params)
	}
	return strings.Join(pieces, params[keys[0]])
}
