package helper

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/heatstrap/heatstrap/hostfs"
)

// readEnvFile reads a systemd EnvironmentFile-style file (flanneld's
// subnet.env, /etc/sysconfig/flanneld). A missing file is reported as
// fs.ErrNotExist so callers can word their own hint.
func readEnvFile(files *hostfs.FS, path string) (map[string]string, error) {
	data, err := files.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s does not exist: %w", files.Display(path), fs.ErrNotExist)
		}
		return nil, fmt.Errorf("read %s: %w", files.Display(path), err)
	}
	vars, err := parseEnv(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", files.Display(path), err)
	}
	return vars, nil
}

// parseEnv parses KEY=value lines without any shell evaluation. It is
// strict on purpose: Mitaka sourced these files into a shell, so a stray
// quote silently changed meaning; here it is an error with a line number.
// Accepted: blank lines, comments (# or ;), KEY=value with the value bare,
// "double-quoted" (backslash escapes \" \\ \$ \`, as systemd does) or
// 'single-quoted' (literal). A later assignment overrides an earlier one.
func parseEnv(data string) (map[string]string, error) {
	vars := map[string]string{}
	for n, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		key, raw, found := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !found || !validEnvKey(key) {
			return nil, fmt.Errorf("line %d: want KEY=value, got %q", n+1, line)
		}
		val, err := unquote(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", n+1, key, err)
		}
		vars[key] = val
	}
	return vars, nil
}

func validEnvKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, c := range k {
		if c != '_' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func unquote(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	switch v[0] {
	case '\'':
		end := strings.IndexByte(v[1:], '\'')
		if end < 0 {
			return "", errors.New("unterminated single quote")
		}
		if rest := v[end+2:]; rest != "" {
			return "", fmt.Errorf("unexpected %q after the closing quote", rest)
		}
		return v[1 : end+1], nil
	case '"':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			switch c := v[i]; {
			case c == '"':
				if rest := v[i+1:]; rest != "" {
					return "", fmt.Errorf("unexpected %q after the closing quote", rest)
				}
				return b.String(), nil
			case c == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0:
				i++
				b.WriteByte(v[i])
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("unterminated double quote")
	}
	if strings.ContainsAny(v, `"'`) {
		return "", fmt.Errorf("quote inside an unquoted value %q", v)
	}
	if strings.HasSuffix(v, `\`) {
		return "", errors.New("line continuations are not supported")
	}
	return v, nil
}
