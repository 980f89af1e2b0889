//go:build unix

package transfer

import (
	"io/fs"
	"syscall"
)

// currentUmask is the process's umask (set back at once).
func currentUmask() fs.FileMode {
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	return fs.FileMode(umask)
}
