//go:build !unix

package uselite

import "time"

// processCPUTime is unavailable off Unix, so the benchmark skips its CPU
// metric there.
func processCPUTime() (time.Duration, bool) {
	return 0, false
}
