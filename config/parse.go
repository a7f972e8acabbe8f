package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

var (
	dnsName = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$`)
	uuidRe  = regexp.MustCompile(`^(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$`)
)

// parseInto parses text by kind into the field pointer. Empty text leaves
// the zero value: "not set" is decided by validation, not by parsing.
func parseInto(ki *KeyInfo, text string, field any) error {
	if text == "" {
		return nil
	}
	switch ki.Kind {
	case KindString:
		*field.(*string) = text
	case KindSecret:
		*field.(*Secret) = NewSecret(text)
	case KindHost:
		if !validHost(text) {
			return errors.New("not an IP address or DNS name")
		}
		*field.(*string) = text
	case KindIP:
		a, err := netip.ParseAddr(text)
		if err != nil {
			return errors.New("not an IP address")
		}
		*field.(*netip.Addr) = a
	case KindPort:
		n, err := strconv.Atoi(text)
		if err != nil || n < 1 || n > 65535 {
			return errors.New("not a port number (1-65535)")
		}
		*field.(*int) = n
	case KindInt:
		n, err := strconv.Atoi(text)
		if err != nil {
			return errors.New("not an integer")
		}
		*field.(*int) = n
	case KindBool:
		b, err := ParseBool(text)
		if err != nil {
			return err
		}
		*field.(*bool) = b
	case KindCIDR:
		pfx, err := netip.ParsePrefix(text)
		if err != nil {
			return errors.New("not a CIDR (e.g. 10.254.0.0/16)")
		}
		if pfx.Masked() != pfx {
			return fmt.Errorf("host bits set (did you mean %s?)", pfx.Masked())
		}
		*field.(*netip.Prefix) = pfx
	case KindURL:
		if err := checkURL(text); err != nil {
			return err
		}
		*field.(*string) = text
	case KindUUID:
		if !uuidRe.MatchString(text) {
			return errors.New("not a UUID")
		}
		*field.(*string) = text
	case KindRole:
		r := Role(strings.ToLower(text))
		if r != RoleMaster && r != RoleMinion {
			return errors.New("must be master or minion")
		}
		*field.(*Role) = r
	default:
		return fmt.Errorf("kind %d has no parser", ki.Kind)
	}
	return nil
}

// ParseBool accepts exactly the spellings Heat produces: Python's True/False
// for boolean parameters and true/false for string ones (spec §2.1, §10).
func ParseBool(s string) (bool, error) {
	switch s {
	case "True", "true":
		return true, nil
	case "False", "false":
		return false, nil
	}
	return false, errors.New("not a boolean (True, False, true or false)")
}

func validHost(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	return len(s) <= 253 && dnsName.MatchString(s)
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("not an http(s) URL")
	}
	if u.Host == "" {
		return errors.New("URL has no host")
	}
	if strings.ContainsAny(s, " \t\n\"'`$\\") {
		return errors.New("URL contains whitespace, quotes, $ or backslash")
	}
	return nil
}
