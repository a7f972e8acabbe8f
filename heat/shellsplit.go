package heat

import (
	"errors"
	"fmt"
	"strings"
)

// splitShell splits s into words the way a POSIX shell splits a simple
// command, without running a shell: Heat's curl_cli (§1) is meant for
// `eval`, but evaluating it would run whatever a template or an attacker put
// in WAIT_CURL. Supported: single quotes (literal), double quotes (backslash
// escapes only $ ` " \ and newline, as in POSIX), backslash outside quotes,
// and backslash-newline continuations. $ and ` are never expanded. Unquoted
// operators (| & ; < > ( )) are rejected: they mean a pipeline or a
// redirection that only a real shell could honour.
//
// Error messages never quote the input, which holds the token.
func splitShell(s string) ([]string, error) {
	sp := splitter{s: s}
	for sp.i < len(sp.s) {
		if err := sp.step(); err != nil {
			return nil, err
		}
	}
	sp.endWord()
	return sp.words, nil
}

type splitter struct {
	s      string
	i      int // next byte to read
	words  []string
	cur    strings.Builder
	inWord bool // a word has started, possibly empty (as with '')
}

// All special characters are ASCII, and UTF-8 continuation bytes never equal
// an ASCII byte, so stepping byte by byte keeps multibyte text intact.
func (sp *splitter) step() error {
	c := sp.s[sp.i]
	switch {
	case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		// \r is not a POSIX separator, but an env file with CRLF line
		// ends would otherwise glue it to the URL.
		sp.endWord()
		sp.i++
	case c == '\'':
		return sp.singleQuoted()
	case c == '"':
		return sp.doubleQuoted()
	case c == '\\':
		return sp.escaped()
	case strings.IndexByte("|&;<>()", c) >= 0:
		return fmt.Errorf("unquoted shell operator %q: curl_cli must be one plain curl command", string(c))
	default:
		sp.cur.WriteByte(c)
		sp.inWord = true
		sp.i++
	}
	return nil
}

func (sp *splitter) endWord() {
	if sp.inWord {
		sp.words = append(sp.words, sp.cur.String())
		sp.cur.Reset()
		sp.inWord = false
	}
}

// singleQuoted copies everything up to the closing quote literally.
func (sp *splitter) singleQuoted() error {
	end := strings.IndexByte(sp.s[sp.i+1:], '\'')
	if end < 0 {
		return errors.New("unterminated single quote")
	}
	sp.cur.WriteString(sp.s[sp.i+1 : sp.i+1+end])
	sp.inWord = true
	sp.i += end + 2
	return nil
}

// doubleQuoted copies up to the closing quote; a backslash escapes only the
// characters POSIX lets it escape there and is kept before any other.
func (sp *splitter) doubleQuoted() error {
	sp.inWord = true
	for i := sp.i + 1; i < len(sp.s); i++ {
		c := sp.s[i]
		switch {
		case c == '"':
			sp.i = i + 1
			return nil
		case c == '\\' && i+1 < len(sp.s) && strings.IndexByte("$`\"\\\n", sp.s[i+1]) >= 0:
			if sp.s[i+1] != '\n' { // backslash-newline vanishes
				sp.cur.WriteByte(sp.s[i+1])
			}
			i++
		default:
			sp.cur.WriteByte(c)
		}
	}
	return errors.New("unterminated double quote")
}

// escaped handles a backslash outside quotes: it makes the next byte
// literal, or joins lines when followed by a newline.
func (sp *splitter) escaped() error {
	if sp.i+1 >= len(sp.s) {
		return errors.New("backslash at the end of the command")
	}
	if next := sp.s[sp.i+1]; next != '\n' {
		sp.cur.WriteByte(next)
		sp.inWord = true
	}
	sp.i += 2
	return nil
}
