// Package examples holds sample heat-params for both roles, as Magnum
// Mitaka's templates write them, and a minimal image skeleton; the demo
// command and the tests use the same files.
package examples

import "embed"

// FS holds master.heat-params, minion.heat-params and skeleton/.
//
//go:embed master.heat-params minion.heat-params all:skeleton
var FS embed.FS
