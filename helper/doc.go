// Package helper holds the programs heatstrap's own systemd units run
// (ExecStart=/usr/bin/heatstrap helper NAME). Mitaka generated a shell
// script per unit (spec M12, M13, M14, M17) with endless curl loops and
// broken checks; each helper here has a deadline, bounded backoff and an
// error that tells the operator what failed, on which object, and what to
// look at next.
//
// All HTTP goes through package httpclient and every file access through
// package hostfs, so --root and the CA/insecure settings apply unchanged.
package helper
