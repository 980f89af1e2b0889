//go:build windows

package history

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockOwner creates path (0600) and takes an exclusive LockFileEx lock on its
// first byte for as long as the returned file stays open. Windows drops the
// lock when the handle is closed or the process ends, however it ends, which
// is how a reader tells a run in progress from one whose cscript died.
func lockOwner(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockByte(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ownerGone says whether the run's owner lock file exists and no process
// holds its lock. A missing file (a record from before owner locks, or a
// run being created) is not proof of anything: false.
func ownerGone(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := lockByte(f); err != nil {
		return false
	}
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, new(windows.Overlapped))
	return true
}

// lockByte takes an exclusive lock on f's first byte without waiting.
func lockByte(f *os.File) error {
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, new(windows.Overlapped))
}

// createOwner makes a run's owner lock at path and locks it. Windows cannot
// rename a file it holds open, so there is a moment between creating and
// locking the file in which a pruner could take the run for dead; the unix
// build closes it with a rename.
func createOwner(path string) (*os.File, error) { return lockOwner(path) }
