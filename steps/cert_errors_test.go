package steps

import (
	"context"
	"encoding/asn1"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heatstrap/heatstrap/config"
	"github.com/heatstrap/heatstrap/magnum"
	"github.com/heatstrap/heatstrap/magnum/magnumtest"
)

const unknownCluster = "7e57c0de-0000-4000-8000-000000000000"

// Final failures: each says what went wrong in words an operator can act
// on, a 4xx is asked once, and nothing is left in /srv/kubernetes but
// its (empty) directories: no CA, no key, no temp file.
func TestMakeCertFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release magnumtest.Release
		params  func(c *certCloud) map[string]string
		fault   *magnumtest.Fault
		want    string
		calls   int // requests the cloud saw, keystone included
	}{
		{name: "401 expired USER_TOKEN", params: func(c *certCloud) map[string]string {
			p := c.userTokenParams()
			c.ExpireToken(p["USER_TOKEN"])
			return p
		}, want: "Magnum rejected USER_TOKEN (expired? Mitaka reuses the creator's token on scale-up; use trust credentials)", calls: 1},
		{name: "403 another user's token", params: func(c *certCloud) map[string]string {
			p := c.userTokenParams()
			p["USER_TOKEN"] = c.UserToken(c.AddUser("other", "other-pw", false))
			return p
		}, want: "Magnum policy forbids certificate:get on cluster {uuid} for this token's user", calls: 1},
		{name: "404 unknown cluster", params: func(c *certCloud) map[string]string {
			p := c.userTokenParams()
			p["BAY_UUID"] = unknownCluster
			return p
		}, want: "Magnum knows no cluster " + unknownCluster + " (BAY_UUID; deleted?)", calls: 1},
		{name: "keystone 401 trustee password", release: magnumtest.Newton, params: func(c *certCloud) map[string]string {
			p := c.trustParams()
			p["TRUSTEE_PASSWORD"] = "wrong"
			return p
		}, want: "keystone rejected TRUSTEE_USER_ID/TRUSTEE_PASSWORD (user {trustee})", calls: 1},
		{name: "500 on every attempt", fault: &magnumtest.Fault{Service: "magnum", Status: http.StatusInternalServerError, Body: "<html>boom</html>"},
			want: "Magnum answered HTTP 500 to GET certificates/{uuid} after 7 attempts: <html>boom</html>", calls: 7},
		{name: "CA answer not JSON", fault: &magnumtest.Fault{Service: "magnum", Method: http.MethodGet, Status: http.StatusOK, Body: "<html>proxy login</html>"},
			want: "Magnum's answer to GET certificates/{uuid} is not the expected JSON", calls: 1},
		{name: "CA answer without pem", fault: &magnumtest.Fault{Service: "magnum", Method: http.MethodGet, Status: http.StatusOK,
			Body: `{"bay_uuid": "x", "links": []}`, ContentType: "application/json"},
			want: `Magnum's answer to GET certificates/{uuid} is unusable: the answer has no "pem" field (or it is empty)`, calls: 1},
		{name: "signed answer not JSON", fault: &magnumtest.Fault{Service: "magnum", Method: http.MethodPost, Status: http.StatusCreated, Body: "Created"},
			want: "Magnum's answer to POST certificates is not the expected JSON", calls: 2},
		{name: "signed answer with null pem", fault: &magnumtest.Fault{Service: "magnum", Method: http.MethodPost, Status: http.StatusCreated,
			Body: `{"bay_uuid": "x", "csr": "y", "pem": null}`, ContentType: "application/json"},
			want: `Magnum's answer to POST certificates is unusable: the answer has no "pem" field (or it is empty)`, calls: 2},
		{name: "signed answer not a certificate", fault: &magnumtest.Fault{Service: "magnum", Method: http.MethodPost, Status: http.StatusCreated,
			Body: `{"pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}`, ContentType: "application/json"},
			want: `Magnum's answer to POST certificates is unusable: "pem" holds an unreadable certificate`, calls: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cloud := newCertCloud(t, magnumtest.Options{Release: tc.release})
			params := cloud.userTokenParams()
			if tc.params != nil {
				params = tc.params(cloud)
			}
			if tc.fault != nil {
				cloud.Inject(*tc.fault)
			}
			n := newCertNode(t, config.RoleMaster, cloud, params, nil)
			r := n.run()
			want := strings.NewReplacer("{uuid}", cloud.cluster.UUID, "{trustee}", cloud.trustee).Replace(tc.want)
			if r.err == nil || !strings.Contains(r.err.Error(), want) {
				t.Fatalf("err = %v\nwant it to say %q", r.err, want)
			}
			if got := len(cloud.Requests()); got != tc.calls {
				t.Errorf("%d requests, want %d: %+v", got, tc.calls, cloud.Requests())
			}
			n.checkNoDebris()
		})
	}
}

// The 401 is recognisable by code, not only by its text.
func TestMakeCertUserTokenRejectedIsTyped(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{})
	p := cloud.userTokenParams()
	cloud.ExpireToken(p["USER_TOKEN"])
	r := newCertNode(t, config.RoleMaster, cloud, p, nil).run()
	if !errors.Is(r.err, magnum.ErrUserTokenRejected) {
		t.Errorf("err = %#v, not ErrUserTokenRejected", r.err)
	}
}

// 5xx and timeouts are retried with backoff, then the step succeeds.
func TestMakeCertRetries(t *testing.T) {
	t.Run("5xx", func(t *testing.T) {
		cloud := newCertCloud(t, magnumtest.Options{})
		cloud.Inject(magnumtest.Fault{Service: "magnum", Method: http.MethodGet, Status: http.StatusServiceUnavailable, Times: 2})
		cloud.Inject(magnumtest.Fault{Service: "magnum", Method: http.MethodPost, Status: http.StatusBadGateway, Times: 1})
		n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
		r := n.mustRun()
		mustContain(t, "log", r.log, "retrying request")
		if get, post, _ := cloud.calls(); get != 3 || post != 2 {
			t.Errorf("%d GETs and %d POSTs, want 3 and 2", get, post)
		}
		n.readIssued("server", 0)
	})
	t.Run("timeout", func(t *testing.T) {
		cloud := newCertCloud(t, magnumtest.Options{})
		cloud.Inject(magnumtest.Fault{Service: "magnum", Method: http.MethodGet, Delay: 10 * time.Second, Times: 1})
		n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
		n.attemptTimeout = 500 * time.Millisecond
		r := n.mustRun()
		if get, _, _ := cloud.calls(); get != 2 {
			t.Errorf("%d GETs, want 2 (one timed out)", get)
		}
		if r.took > 5*time.Second {
			t.Errorf("took %v: the attempt timeout did not cut the hung request", r.took)
		}
	})
}

// A failed renewal leaves the kept set exactly as it was, and the next
// run (Magnum healthy again) renews it.
func TestMakeCertFailedRenewalKeepsOldSet(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{Release: magnumtest.Newton})
	n := newCertNode(t, config.RoleMaster, cloud, cloud.trustParams(), nil)
	short := magnumtest.DefaultPolicy()
	short.TermOfValidity = 60 * 24 * time.Hour
	cloud.SetPolicy(short)
	n.mustRun()
	cloud.SetPolicy(magnumtest.DefaultPolicy())
	cloud.clock.Set(cloud.clock.Now().Add(40 * 24 * time.Hour))
	before := n.stamps()
	cloud.Inject(magnumtest.Fault{Service: "magnum", Method: http.MethodPost, Status: http.StatusCreated, Body: "{}", ContentType: "application/json", Times: 1})
	if r := n.run(); r.err == nil || len(r.changed) != 0 {
		t.Fatalf("renewal against a broken Magnum: err=%v changed=%v", r.err, r.changed)
	}
	after := n.stamps()
	for p, st := range before {
		if after[p] != st {
			t.Errorf("failed renewal touched %s", p)
		}
	}
	if len(after) != len(before) {
		t.Errorf("failed renewal left %v", n.entries())
	}
	n.mustRun()
	if _, p, _ := cloud.calls(); p != 3 {
		t.Errorf("%d POSTs, want 3 (issue, failed renewal, renewal)", p)
	}
}

// What Magnum signed is checked before anything is written: a
// certificate that lacks what was asked for, is not valid now, or is not
// for our key and CA is refused with what is wrong.
func TestMakeCertRefusesUnusableCertificate(t *testing.T) {
	drop := func(oid asn1.ObjectIdentifier) func(*magnumtest.Policy) {
		return func(p *magnumtest.Policy) {
			var keep []asn1.ObjectIdentifier
			for _, o := range p.AllowedExtensions {
				if !o.Equal(oid) {
					keep = append(keep, o)
				}
			}
			p.AllowedExtensions = keep
		}
	}
	for _, tc := range []struct {
		name   string
		policy func(*magnumtest.Policy)
		fault  func(t *testing.T, c *certCloud) magnumtest.Fault
		want   []string
	}{
		{name: "SANs dropped", policy: drop(oidSubjectAltName),
			want: []string{"the certificate Magnum issued is unusable: certificate lacks SANs IP:" + metadataIP + ", IP:172.24.4.10"}},
		{name: "extendedKeyUsage dropped", policy: drop(oidExtKeyUsage),
			want: []string{"certificate lacks extended key usage clientAuth", "certificate lacks extended key usage serverAuth"}},
		{name: "already expired", policy: func(p *magnumtest.Policy) { p.TermOfValidity = -time.Hour },
			want: []string{"certificate is not valid now (valid 2026-12-02T12:00:00Z to 2026-12-03T11:00:00Z)"}},
		{name: "another key, another CA", fault: func(t *testing.T, c *certCloud) magnumtest.Fault {
			other, err := magnumtest.NewCA("intruder", c.clock.Now(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			// The intruder CA's own certificate stands in for "some
			// certificate": right format, wrong key, wrong issuer.
			return magnumtest.Fault{Service: "magnum", Method: http.MethodPost, Status: http.StatusCreated, ContentType: "application/json",
				Body: `{"pem": "` + strings.ReplaceAll(other.PEM(), "\n", `\n`) + `"}`}
		}, want: []string{"does not chain to the cluster CA CN=k8s", "certificate does not match the key", `certificate subject is "CN=intruder"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cloud := newCertCloud(t, magnumtest.Options{})
			if tc.policy != nil {
				p := magnumtest.DefaultPolicy()
				tc.policy(&p)
				cloud.SetPolicy(p)
			}
			if tc.fault != nil {
				cloud.Inject(tc.fault(t, cloud))
			}
			n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
			r := n.run()
			if r.err == nil {
				t.Fatal("accepted")
			}
			mustContain(t, "error", r.err.Error(), tc.want...)
			n.checkNoDebris()
		})
	}
}

// A write that fails leaves no temp file behind and names the path.
func TestMakeCertWriteFailureLeavesNoTempFile(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{})
	n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
	if err := os.MkdirAll(n.hostPath(srvDir+"/server.crt/x"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := n.run()
	if r.err == nil || !strings.Contains(r.err.Error(), "/srv/kubernetes/server.crt") {
		t.Fatalf("err = %v", r.err)
	}
	for _, p := range n.entries() {
		if strings.Contains(p, ".heatstrap-") {
			t.Errorf("temp file left: %s", p)
		}
	}
}

// The cluster CA's own life: close to its end the step still issues and
// warns that only rotating the CA helps; past its end it asks Magnum for
// nothing it could not use and says so, leaving the kept set alone.
func TestMakeCertClusterCAExpiry(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{Release: magnumtest.Newton})
	n := newCertNode(t, config.RoleMaster, cloud, cloud.trustParams(), nil)
	short := magnumtest.DefaultPolicy()
	short.TermOfValidity = 400 * 24 * time.Hour
	cloud.SetPolicy(short)
	n.mustRun()
	caEnd := cloud.cluster.CA.Cert.NotAfter

	cloud.clock.Set(caEnd.Add(-20 * 24 * time.Hour))
	r := n.mustRun()
	mustContain(t, "log", r.log, "issuing a certificate", `level=WARN msg="the cluster CA expires soon; re-issuing cannot help, rotate the CA in Magnum"`)
	_, posts, _ := cloud.calls()

	cloud.clock.Set(caEnd.Add(time.Hour))
	before := n.stamps()
	r = n.run()
	want := "the cluster CA CN=k8s from Magnum is not valid now (valid 2026-12-02T12:00:00Z to 2031-12-02T12:00:00Z): no certificate it signs would verify; rotate the cluster CA in Magnum"
	if r.err == nil || r.err.Error() != want {
		t.Fatalf("err = %v\nwant %s", r.err, want)
	}
	if _, p, _ := cloud.calls(); p != posts {
		t.Errorf("asked Magnum to sign with an expired CA")
	}
	for p, st := range n.stamps() {
		if before[p] != st {
			t.Errorf("%s changed", p)
		}
	}
}

// The key is written 0400 kube:kube by the write that creates it, not
// only by the final settle: a run that fails right after storing the set
// (here: its request config cannot be written) leaves a private key.
func TestMakeCertKeyPrivateBeforeSettle(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{})
	n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
	if err := os.MkdirAll(n.hostPath(certConfDir+"/server.conf/x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := n.run(); r.err == nil || !strings.Contains(r.err.Error(), certConfDir+"/server.conf") {
		t.Fatalf("err = %v, want the request config's write to fail", r.err)
	}
	n.checkMeta(srvDir+"/server.key", "0400 kube:kube")
	n.checkMeta(srvDir, "0500 kube:kube")
}

// Cancelling the step (SIGTERM, the step's timeout) ends it at once, even
// while the metadata service keeps it waiting; nothing is written.
func TestMakeCertCancelled(t *testing.T) {
	cloud := newCertCloud(t, magnumtest.Options{})
	n := newCertNode(t, config.RoleMaster, cloud, cloud.userTokenParams(), nil)
	n.meta.answer(http.StatusOK, metadataIP, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := n.runCtx(ctx)
	if !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's", r.err)
	}
	if r.took > time.Second {
		t.Errorf("took %v after the context ended at 200ms", r.took)
	}
	if got := cloud.Requests(); len(got) != 0 {
		t.Errorf("went on to ask Magnum: %+v", got)
	}
	n.checkNoDebris()
}
