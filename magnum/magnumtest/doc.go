// Package magnumtest is a test-only emulator of the two OpenStack services
// a node talks to for its certificate (spec magnum-mitaka.md §5): Keystone
// v3 token issue (password auth of a trustee, scoped to a trust) and
// Magnum's certificate API, which really signs CSRs with a CA it holds.
// It listens on loopback only (httptest), over HTTP or HTTPS.
//
// # Routes
//
//	Keystone:  POST /v3/auth/tokens   password auth by user id, optional OS-TRUST:trust scope;
//	                                  201 + X-Subject-Token, 401 bad password, 404 unknown
//	                                  trust, 403 trust of another trustee, 400 malformed
//	           GET  /v3               version document
//	Magnum:    GET  /v1/certificates/<cluster uuid or name>   200 {bay_uuid|cluster_uuid, pem, links}
//	           POST /v1/certificates  {bay_uuid|cluster_uuid, csr} → 201 {…, csr, pem, links}
//
// Magnum's behaviour, by Release:
//
//   - keystonemiddleware first: a missing, unknown or expired X-Auth-Token
//     is a 401 with keystone's JSON body and WWW-Authenticate.
//   - Mitaka: the body field is bay_uuid (mandatory; cluster_uuid is an
//     "Unknown attribute", 400); no OpenStack-API-Version negotiation.
//     Newton: cluster_uuid, bay_uuid still accepted; responses carry
//     OpenStack-API-{Minimum,Maximum,}-Version: container-infra X.Y and a
//     bad requested version is a 406. Current: cluster_uuid only.
//   - GET of an unknown cluster is a 404; POST naming one is a 400 with
//     the same "could not be found" detail (certificate.py rewrites it).
//   - policy certificate:get / certificate:create is admin_or_user: the
//     token's user must own the cluster or be admin; from Newton on also
//     the cluster's trustee (cluster_user). A trust with impersonation
//     yields a token of the trustor, Magnum's default.
//   - signing follows the conductor (sign.go): subject kept, issuer the
//     cluster CA, now-1 day .. now+term_of_validity, uuid4 serial, SHA-256,
//     extensions filtered by [x509] allowed_extensions/allowed_key_usage,
//     CA flag stripped.
//   - errors are ParsableErrorMiddleware JSON:
//     {"errors":[{"request_id":"","code":"client","status":N,"title":…,"detail":…,"links":[]}]}.
//
// Faults (Cloud.Inject) replace answers: a status with a body (5xx, a
// non-JSON 200, a 200 without "pem") or a delay (timeouts).
//
// # Deliberate limits
//
// No service catalog, no token validation cache, no trust expiry or
// redelegation, no CA rotation (PATCH) and no ca_cert_type. The CA is
// made by Go, so unlike Magnum's it carries a subjectKeyIdentifier; signed
// certificates carry no authorityKeyIdentifier, as Magnum's. Magnum
// answers an unparseable CSR with a 500 from the conductor; the emulator
// answers 400, and it also checks the CSR signature, which Magnum does
// not. Mitaka's version header names are taken from the spec, not probed.
package magnumtest
