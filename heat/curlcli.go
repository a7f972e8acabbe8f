package heat

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/heatstrap/heatstrap/config"
)

// ParseCurlCLI reads the Endpoint out of a wait handle's curl_cli attribute
// (WAIT_CURL), whose exact shape is (spec §1):
//
//	curl [--insecure ]-i -X POST -H 'X-Auth-Token: <token>' -H 'Content-Type: application/json' -H 'Accept: application/json' <endpoint>
//
// often followed by a --data-binary '{"status": "SUCCESS"}' that templates
// append. The string is split like a POSIX shell would, without a shell (see
// splitShell), and the curl arguments are read with curl's own rules: short
// options may be clustered (-ik) or glued to their argument (-XPOST).
//
// Only what Heat itself and Magnum's templates put there is accepted; any
// other option is an error naming it, because silently ignoring, say, a
// client certificate would signal differently from what the template meant.
// Errors never contain the token.
func ParseCurlCLI(s string) (Endpoint, error) {
	argv, err := splitShell(s)
	if err == nil {
		var ep Endpoint
		if ep, err = parseCurlArgs(argv); err == nil {
			return ep, nil
		}
	}
	// The messages below never quote free input, but an option name can be
	// anything; scrub whatever looks like the token as a second line of
	// defence.
	msg := config.NewRedactor(tokenCandidates(argv)...).Redact(err.Error())
	return Endpoint{}, errors.New("parse curl_cli: " + msg)
}

// optKind says what a curl option means for us.
type optKind int

const (
	optIgnore    optKind = iota // no effect on where or how we signal
	optInsecure                 // --insecure, -k
	optHeader                   // -H value
	optMethod                   // -X value
	optIgnoreArg                // takes a value we do not need
)

func (k optKind) takesArg() bool { return k >= optHeader }

// The body options are consumed and ignored: the agent always sends its own
// JSON body, which is the only way to report FAILURE correctly (§2).
// --cacert is accepted for the templates that append $VERIFY_CA (§6); the CA
// bundle comes from the agent's own configuration instead.
var longOpts = map[string]optKind{
	"--include":     optIgnore,
	"--silent":      optIgnore,
	"--show-error":  optIgnore,
	"--fail":        optIgnore,
	"--insecure":    optInsecure,
	"--header":      optHeader,
	"--request":     optMethod,
	"--data":        optIgnoreArg,
	"--data-binary": optIgnoreArg,
	"--data-raw":    optIgnoreArg,
	"--cacert":      optIgnoreArg,
}

var shortOpts = map[byte]optKind{
	'i': optIgnore,
	's': optIgnore,
	'S': optIgnore,
	'f': optIgnore,
	'k': optInsecure,
	'H': optHeader,
	'X': optMethod,
	'd': optIgnoreArg,
}

// curlArgs accumulates what the options say.
type curlArgs struct {
	positional []string
	token      string
	sawToken   bool
	insecure   bool
}

func parseCurlArgs(argv []string) (Endpoint, error) {
	if len(argv) == 0 {
		return Endpoint{}, errors.New("empty command")
	}
	if argv[0] != "curl" {
		return Endpoint{}, errors.New("the command must start with curl")
	}
	var c curlArgs
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		var used int
		var err error
		switch {
		case strings.HasPrefix(a, "--"):
			used, err = c.long(a, argv[i+1:])
		case strings.HasPrefix(a, "-") && len(a) > 1:
			used, err = c.short(a, argv[i+1:])
		default:
			c.positional = append(c.positional, a)
		}
		if err != nil {
			return Endpoint{}, err
		}
		i += used
	}
	return c.endpoint()
}

// long handles one --option, returning how many following words it used.
// curl has no --option=value form, so the whole word is the name.
func (c *curlArgs) long(name string, rest []string) (int, error) {
	kind, ok := longOpts[name]
	if !ok {
		return 0, unknownOption(name)
	}
	if !kind.takesArg() {
		c.flag(kind)
		return 0, nil
	}
	if len(rest) == 0 {
		return 0, fmt.Errorf("option %s needs an argument", name)
	}
	return 1, c.value(kind, rest[0])
}

// short handles a cluster of short options such as -ik or -XPOST.
func (c *curlArgs) short(word string, rest []string) (int, error) {
	for j := 1; j < len(word); j++ {
		kind, ok := shortOpts[word[j]]
		if !ok {
			return 0, unknownOption("-" + word[j:j+1])
		}
		if !kind.takesArg() {
			c.flag(kind)
			continue
		}
		if j+1 < len(word) { // the value is glued on: -XPOST
			return 0, c.value(kind, word[j+1:])
		}
		if len(rest) == 0 {
			return 0, fmt.Errorf("option -%c needs an argument", word[j])
		}
		return 1, c.value(kind, rest[0])
	}
	return 0, nil
}

func (c *curlArgs) flag(kind optKind) {
	if kind == optInsecure {
		c.insecure = true
	}
}

func (c *curlArgs) value(kind optKind, v string) error {
	switch kind {
	case optHeader:
		return c.header(v)
	case optMethod:
		// Heat's signal route answers only POST (§4a); a PUT curl_cli
		// belongs to a Swift or CFN handle, which this agent does not speak.
		if v != "POST" {
			return fmt.Errorf("-X %s: wait-handle signals are POST (TOKEN_SIGNAL); other signal transports are not supported", safeWord(v, methodRE))
		}
	}
	return nil
}

// header keeps the X-Auth-Token value; the other headers are the ones the
// client sets itself (Content-Type, Accept).
func (c *curlArgs) header(h string) error {
	name, v, ok := strings.Cut(h, ":")
	if !ok || !strings.EqualFold(strings.TrimSpace(name), "X-Auth-Token") {
		return nil
	}
	v = strings.TrimSpace(v)
	if c.sawToken && v != c.token {
		return errors.New("two X-Auth-Token headers with different values")
	}
	c.token, c.sawToken = v, true
	return nil
}

func (c *curlArgs) endpoint() (Endpoint, error) {
	switch n := len(c.positional); {
	case n == 0:
		return Endpoint{}, errors.New("no URL: the signal URL must be the one argument that is not an option")
	case n > 1:
		return Endpoint{}, fmt.Errorf("%d arguments that are not options, where only the URL is expected; are the header values quoted?", n)
	}
	if err := validateURL(c.positional[0]); err != nil {
		return Endpoint{}, err
	}
	if !c.sawToken {
		return Endpoint{}, errors.New("no -H 'X-Auth-Token: ...' header: is this the curl_cli attribute of an OS::Heat::WaitConditionHandle with TOKEN_SIGNAL?")
	}
	if c.token == "" {
		return Endpoint{}, errors.New("the X-Auth-Token header is empty")
	}
	return Endpoint{URL: c.positional[0], Token: config.NewSecret(c.token), Insecure: c.insecure}, nil
}

// Option names and methods are echoed only when they look like one. A
// keystone token (fernet: mixed case, ~180 characters; UUID: 32 hex digits)
// never does, so a token misplaced as an option stays out of the message.
var (
	optionRE = regexp.MustCompile(`^(-[A-Za-z0-9]|--[a-z0-9][a-z0-9-]{0,28})$`)
	methodRE = regexp.MustCompile(`^[A-Z]{1,10}$`)
)

func unknownOption(name string) error {
	return fmt.Errorf("unsupported curl option %s", safeWord(name, optionRE))
}

func safeWord(w string, re *regexp.Regexp) string {
	if re.MatchString(w) {
		return w
	}
	return "(not shown)"
}

// tokenCandidates returns every value that follows "X-Auth-Token:" in any
// word, so ParseCurlCLI can scrub it from an error whatever went wrong.
func tokenCandidates(argv []string) []string {
	const key = "X-Auth-Token:"
	var out []string
	for _, w := range argv {
		// Compare byte windows rather than lowering w: lowering rewrites
		// invalid UTF-8 and would shift the offsets.
		for i := 0; i+len(key) <= len(w); i++ {
			if strings.EqualFold(w[i:i+len(key)], key) {
				out = append(out, strings.TrimSpace(w[i+len(key):]))
				break
			}
		}
	}
	return out
}
