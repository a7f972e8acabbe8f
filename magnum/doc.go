// Package magnum is heatstrap's client for the two OpenStack calls a node
// makes to get its TLS certificate (spec magnum-mitaka.md §5): Keystone v3
// token issue for trust credentials (Newton and later) and Magnum's
// certificate API (GET the cluster CA, POST a CSR to have it signed).
//
// It is gophercloud (identity v3 tokens, containerinfra v1 certificates)
// over the caller's retrying http.Client, plus what gophercloud leaves to
// the caller: which credentials to use, which API dialect the server
// speaks, and errors an operator can act on. Secrets are config.Secret
// values and are revealed only into the request headers and bodies that
// carry them; errors never quote a request body.
package magnum
