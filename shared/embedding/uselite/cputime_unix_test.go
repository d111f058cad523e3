//go:build unix

package uselite

import (
	"syscall"
	"time"
)

// processCPUTime returns the user and system CPU time this process has used,
// so a benchmark can report cost per item even on a busy machine.
func processCPUTime() (time.Duration, bool) {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0, false
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano()), true
}
