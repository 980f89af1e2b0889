//go:build unix

package lifecycle

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f: an flock, which the kernel drops
// when the process ends, however it ends. Without wait, a lock another
// process (or another open file) holds is errLocked.
func lockFile(f *os.File, wait bool) error {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	err := syscall.Flock(int(f.Fd()), how)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	return err
}

// unlockFile releases the lock of lockFile.
func unlockFile(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
