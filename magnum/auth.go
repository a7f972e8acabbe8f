package magnum

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/heatstrap/heatstrap/config"
)

// Auth holds both ways a node can authenticate (spec §5.1 "Authentication").
type Auth struct {
	// UserToken is Mitaka's way: the bay creator's Keystone token, captured
	// by Magnum when the stack was created and sent verbatim (§9.4: it
	// expires, and Magnum reuses the stale one on scale-up).
	UserToken config.Secret
	// Newton and later: the node asks Keystone itself for a token of the
	// trustee, scoped to the trust Magnum created for the cluster.
	AuthURL         string
	TrusteeUserID   string
	TrusteePassword config.Secret
	TrustID         string
}

// Mode names the credentials Dial will use.
type Mode string

const (
	ModeUserToken Mode = "user-token" // Mitaka: USER_TOKEN as X-Auth-Token
	ModeTrust     Mode = "trust"      // Newton+: trust-scoped Keystone v3 token
)

// Mode picks the credentials: trust ones whenever any of them is set, so
// that a half-configured trust is reported instead of silently falling back
// to a token that has probably expired.
func (a Auth) Mode() (Mode, error) {
	var set, missing []string
	for _, f := range []struct {
		key string
		ok  bool
	}{
		{string(config.TrusteeUserID), a.TrusteeUserID != ""},
		{string(config.TrusteePassword), !a.TrusteePassword.IsZero()},
		{string(config.TrustID), a.TrustID != ""},
	} {
		if f.ok {
			set = append(set, f.key)
		} else {
			missing = append(missing, f.key)
		}
	}
	switch {
	case len(set) == 3 && a.AuthURL == "":
		return "", fmt.Errorf("trust credentials are set but %s is empty: no Keystone to ask for a token", config.AuthURL)
	case len(set) == 3:
		return ModeTrust, nil
	case len(set) > 0:
		return "", fmt.Errorf("incomplete trust credentials: %s set but %s missing",
			strings.Join(set, ", "), strings.Join(missing, ", "))
	case a.UserToken.IsZero():
		return "", fmt.Errorf("no credentials for Magnum: %s is empty and no %s/%s/%s are set",
			config.UserToken, config.TrusteeUserID, config.TrusteePassword, config.TrustID)
	}
	return ModeUserToken, nil
}

// KeystoneV3 turns AUTH_URL into the v3 root, as Newton's make-cert did
// with ${AUTH_URL/v2.0/v3} (spec §5.1 [N]); a bare endpoint gets /v3.
func KeystoneV3(authURL string) (string, error) {
	u, err := url.Parse(strings.TrimRight(authURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s %q is not an http(s) URL", config.AuthURL, authURL)
	}
	switch {
	case strings.HasSuffix(u.Path, "/v2.0"):
		u.Path = strings.TrimSuffix(u.Path, "/v2.0") + "/v3"
	case strings.HasSuffix(u.Path, "/v3"):
	default:
		u.Path += "/v3"
	}
	return u.String(), nil
}

// trustToken issues a Keystone v3 token for the trustee, scoped to the
// trust, and returns it from the X-Subject-Token header.
func trustToken(ctx context.Context, pc *gophercloud.ProviderClient, a Auth) (string, error) {
	v3, err := KeystoneV3(a.AuthURL)
	if err != nil {
		return "", err
	}
	identity := &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: v3 + "/", Type: "identity"}
	res := tokens.Create(ctx, identity, &tokens.AuthOptions{
		UserID:   a.TrusteeUserID,
		Password: a.TrusteePassword.Reveal(),
		Scope:    tokens.Scope{TrustID: a.TrustID},
	})
	id, err := res.ExtractTokenID()
	if err != nil {
		return "", keystoneError(err, v3, a)
	}
	if id == "" {
		return "", fmt.Errorf("keystone %s issued no X-Subject-Token for trustee %s", v3, a.TrusteeUserID)
	}
	return id, nil
}

// keystoneError says what a failed trust token request means for the
// operator; the request body (which holds the password) is never quoted.
func keystoneError(err error, v3 string, a Auth) error {
	var code gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &code) {
		return fmt.Errorf("keystone %s unreachable: %w", v3, err)
	}
	detail := errorDetail(code.Body)
	switch code.Actual {
	case http.StatusUnauthorized:
		return fmt.Errorf("keystone rejected %s/%s (user %s)%s",
			config.TrusteeUserID, config.TrusteePassword, a.TrusteeUserID, detail)
	case http.StatusForbidden:
		return fmt.Errorf("keystone refused a token for trust %s to trustee %s (not this trust's trustee?)%s",
			a.TrustID, a.TrusteeUserID, detail)
	case http.StatusNotFound:
		return fmt.Errorf("keystone knows no trust %s (deleted with the cluster?)%s", a.TrustID, detail)
	}
	return fmt.Errorf("keystone %s answered HTTP %d to the trust token request%s", v3, code.Actual, detail)
}
