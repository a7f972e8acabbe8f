// Package heattest is a test-only emulator of OpenStack Heat's
// wait-condition signalling on the TOKEN_SIGNAL / HEAT_SIGNAL path, plus the
// minimal Keystone v3 it needs. The contract it reproduces is
// /work/shared/spec/heat-signal.md; section numbers in comments (§n) refer
// to it. It exists so that the agent is tested against Heat's traps rather
// than against a friendly server:
//
//   - a signal is answered "200 null" before it is validated, and applied
//     afterwards (Server.Settle waits for that);
//   - invalid signals (extra key, status not exactly SUCCESS/FAILURE) are
//     dropped silently; only Options.Logf sees "Metadata failed validation";
//   - a body Heat does not parse (no Content-Length, Content-Type other than
//     application/json, JSON, none or text/plain*, or not starting with '{')
//     becomes a default SUCCESS signal;
//   - one FAILURE fails the WaitCondition; timeouts fire on a 1 s ticker and
//     on every Status/WaitFor poll using Options.Now;
//   - tokens expire after Options.TokenTTL (3600 s) and are never refreshed.
//
// # Routes
//
//	POST /v3/auth/tokens      password auth (user id, or name+domain) scoped to a project
//	GET  /v3/auth/tokens      token validation (X-Auth-Token + X-Subject-Token)
//	GET  /v3                  identity version document
//	POST /v1/{p}/stacks/{name}/{id}/resources/{res}/signal   (§7 table, rows 1–12)
//	GET  /v1/{p}/stacks/{name}/{id}/resources/{res}/metadata (stack-user token → 403, admin → 200)
//
// Test-only routes, not part of Heat and not authenticated:
//
//	GET /test/wait_conditions         all WaitConditions as Snapshot JSON
//	GET /test/wait_conditions/{key}   one, by stack id, stack name, handle or WC name
//	GET /test/requests                Server.Requests as JSON
//
// Every response carries x-openstack-request-id: req-<uuid>. Error bodies
// are Heat FaultWrapper JSON ({"code","title","explanation","error":{"type",
// "message","traceback":null}}), keystone JSON for 401s, and a plain-text
// webob 404 for paths that match no route. JSON is rendered as Python's
// json.dumps would (", "/": " separators, ASCII escapes), signal ids with
// str() ("id": null is stored under "None", 1.0 under "1.0"), and 400s for
// malformed JSON carry CPython's json error text.
//
// # Deliberate limits
//
// Only these two heat-api routes exist; CFN, Swift, Zaqar and
// SoftwareDeployment signals are not emulated. keystonemiddleware's
// 300 s validation cache is not emulated: a revoked or expired token fails
// at once. The 404 for an unknown path is always text/plain, although real
// webob may negotiate an HTML or JSON rendering from Accept.
package heattest
