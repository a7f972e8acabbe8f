package magnum

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/containerinfra/v1/certificates"

	"github.com/heatstrap/heatstrap/httpclient"
	"github.com/heatstrap/heatstrap/internal/pemcert"
)

// Config is what Dial needs.
type Config struct {
	// URL is MAGNUM_URL, the API root including /v1.
	URL string
	// HTTP carries every request; callers pass a retrying client (e.g.
	// retryablehttp's StandardClient) so 5xx and timeouts are retried with
	// backoff and 4xx fail at once.
	HTTP      *http.Client
	Auth      Auth
	UserAgent string
}

// Client talks to one Magnum on behalf of one node.
type Client struct {
	sc   *gophercloud.ServiceClient
	mode Mode
	// newer is set once the server has shown it speaks the Newton+ API
	// (OpenStack-API-Version: container-infra, cluster_uuid).
	newer bool
}

// Dial authenticates: with trust credentials it first gets a token from
// Keystone; with USER_TOKEN it has nothing to ask (Mitaka made no Keystone
// call on the node). No Magnum call is made yet.
func Dial(ctx context.Context, c Config) (*Client, error) {
	mode, err := c.Auth.Mode()
	if err != nil {
		return nil, err
	}
	if c.HTTP == nil {
		return nil, errors.New("magnum: no HTTP client")
	}
	base, err := url.Parse(c.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("MAGNUM_URL %q is not an http(s) URL", c.URL)
	}
	pc := &gophercloud.ProviderClient{HTTPClient: *c.HTTP}
	pc.UseTokenLock()
	if c.UserAgent != "" {
		pc.UserAgent.Prepend(c.UserAgent)
	}
	cl := &Client{mode: mode, sc: &gophercloud.ServiceClient{
		ProviderClient: pc,
		Endpoint:       strings.TrimRight(c.URL, "/") + "/",
		Type:           "container-infra",
	}}
	if mode == ModeUserToken {
		pc.SetToken(c.Auth.UserToken.Reveal())
		return cl, nil
	}
	tok, err := trustToken(ctx, pc, c.Auth)
	if err != nil {
		return nil, err
	}
	pc.SetToken(tok)
	// Newton's template introduced trusts together with the microversion
	// header (spec §5.1 [N]); speak that dialect from the first call (CA
	// then settles it from the answer).
	cl.setNewer(true)
	return cl, nil
}

// Mode reports which credentials the client uses.
func (c *Client) Mode() Mode { return c.mode }

// Newer reports whether the server speaks the Newton+ API.
func (c *Client) Newer() bool { return c.newer }

func (c *Client) setNewer(v bool) {
	c.newer = v
	// gophercloud turns this into "OpenStack-API-Version: container-infra
	// latest", Newton's microversion header; Mitaka would ignore it (it
	// read X-OpenStack-Magnum-API-Version, spec §5.1) but is not sent it,
	// for parity.
	c.sc.Microversion = ""
	if v {
		c.sc.Microversion = "latest"
	}
}

// CA fetches the cluster's CA certificate (GET certificates/<uuid>) and
// learns the API dialect from the answer, whatever the credentials made
// us assume: Newton+ always sends OpenStack-API-Maximum-Version:
// container-infra ..., and names the field cluster_uuid; Mitaka does
// neither and wants bay_uuid in the POST.
func (c *Client) CA(ctx context.Context, cluster string) ([]*x509.Certificate, error) {
	op := operation{verb: "GET", path: "certificates/" + cluster, cluster: cluster, mode: c.mode, attempts: new(int)}
	res := certificates.Get(httpclient.WithAttemptCounter(ctx, op.attempts), c.sc, cluster)
	cert, err := res.Extract()
	if err != nil {
		return nil, op.fail(err)
	}
	if cert == nil { // a JSON null
		return nil, op.failf(`the answer has no "pem" field (or it is empty)`)
	}
	c.setNewer(strings.HasPrefix(res.Header.Get("OpenStack-API-Maximum-Version"), "container-infra") || cert.ClusterUUID != "")
	cas, err := parseCerts(cert.PEM)
	if err != nil {
		return nil, op.failf("%v", err)
	}
	if !cas[0].IsCA {
		return nil, op.failf("the certificate in \"pem\" (%s) is not a CA certificate", cas[0].Subject)
	}
	return cas, nil
}

// Sign posts csrPEM for the cluster (POST certificates) and returns the
// signed certificate. The body names the cluster bay_uuid for Mitaka and
// cluster_uuid for newer APIs (which dropped bay_uuid).
func (c *Client) Sign(ctx context.Context, cluster string, csrPEM []byte) (*x509.Certificate, error) {
	op := operation{verb: "POST", path: "certificates", cluster: cluster, mode: c.mode, attempts: new(int)}
	opts := certificates.CreateOpts{BayUUID: cluster, CSR: string(csrPEM)}
	if c.newer {
		opts = certificates.CreateOpts{ClusterUUID: cluster, CSR: string(csrPEM)}
	}
	cert, err := certificates.Create(httpclient.WithAttemptCounter(ctx, op.attempts), c.sc, opts).Extract()
	if err != nil {
		return nil, op.fail(err)
	}
	if cert == nil {
		return nil, op.failf(`the answer has no "pem" field (or it is empty)`)
	}
	certs, err := parseCerts(cert.PEM)
	if err != nil {
		return nil, op.failf("%v", err)
	}
	return certs[0], nil
}

// parseCerts reads every CERTIFICATE block of a "pem" field.
func parseCerts(text string) ([]*x509.Certificate, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New(`the answer has no "pem" field (or it is empty)`)
	}
	certs, err := pemcert.Parse([]byte(text))
	switch {
	case errors.Is(err, pemcert.ErrNone):
		return nil, errors.New(`"pem" holds no PEM certificate`)
	case err != nil:
		return nil, fmt.Errorf(`"pem" holds an unreadable certificate: %w`, err)
	}
	return certs, nil
}
