package heat

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/heatstrap/heatstrap/config"
)

// Endpoint is where and how a wait-condition handle is signalled
// (TOKEN_SIGNAL, spec §1): a POST to URL with X-Auth-Token: Token.
// Printing an Endpoint shows the token as ***.
type Endpoint struct {
	URL      string
	Token    config.Secret
	Insecure bool // from curl_cli's --insecure/-k: Heat's [clients_heat] insecure=True
}

// ResolveEndpoint chooses how to reach the wait handle from the agent's
// configuration. WAIT_HANDLE_ENDPOINT with WAIT_HANDLE_TOKEN (the handle's
// endpoint and token attributes, as Magnum passed them from Newton on, §6)
// wins over WAIT_CURL (the curl_cli attribute, §1) because it needs no
// parsing. ok is false, with a nil error, when neither is configured: the
// node then has nobody to report to. Setting only one of the pair is an
// error even when WAIT_CURL is set: the configuration is inconsistent, and
// failing at start-up beats reporting to a handle nobody meant.
func ResolveEndpoint(waitCurl config.Secret, handleEndpoint string, handleToken config.Secret) (ep Endpoint, ok bool, err error) {
	handleEndpoint = strings.TrimSpace(handleEndpoint)
	// Values read from env files may carry a trailing newline.
	token := strings.TrimSpace(handleToken.Reveal())
	switch {
	case handleEndpoint != "" && token != "":
		if err := validateURL(handleEndpoint); err != nil {
			return Endpoint{}, false, fmt.Errorf("WAIT_HANDLE_ENDPOINT: %w", err)
		}
		return Endpoint{URL: handleEndpoint, Token: config.NewSecret(token)}, true, nil
	case handleEndpoint != "":
		return Endpoint{}, false, errors.New("WAIT_HANDLE_ENDPOINT is set but WAIT_HANDLE_TOKEN is empty: set both (the handle's endpoint and token attributes), or neither and use WAIT_CURL")
	case token != "":
		return Endpoint{}, false, errors.New("WAIT_HANDLE_TOKEN is set but WAIT_HANDLE_ENDPOINT is empty: set both (the handle's endpoint and token attributes), or neither and use WAIT_CURL")
	}
	if strings.TrimSpace(waitCurl.Reveal()) == "" {
		return Endpoint{}, false, nil
	}
	ep, err = ParseCurlCLI(waitCurl.Reveal())
	if err != nil {
		return Endpoint{}, false, fmt.Errorf("WAIT_CURL: %w", err)
	}
	return ep, true, nil
}

// validateURL accepts an absolute http(s) URL with a host. Its messages do
// not quote the URL: it comes from the same string as the token, and a
// mangled curl_cli can put the token where the URL should be.
func validateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("the signal URL does not parse as a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("the signal URL must start with http:// or https://")
	}
	if u.Hostname() == "" {
		return errors.New("the signal URL has no host")
	}
	return nil
}

// hostPort names the Heat API an endpoint points at, for messages: the host
// and the port, defaulted from the scheme, and nothing of the path.
func hostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "the signal URL"
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
