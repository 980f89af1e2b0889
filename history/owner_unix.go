//go:build unix

package history

import (
	"os"
	"path/filepath"
	"syscall"
)

// lockOwner creates path (0600) and takes an exclusive flock on it for as
// long as the returned file stays open. The kernel drops the lock when the
// process ends, however it ends (SIGKILL included), which is how a reader
// tells a run in progress from one whose cscript died.
func lockOwner(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// createOwner makes a run's owner lock at path already locked: a temporary
// file is created and locked, then renamed to path (the lock stays with the
// file), so that no reader ever finds the file without its lock and takes
// its creator for dead.
func createOwner(path string) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".owner-*")
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		f.Close()
		os.Remove(f.Name())
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
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return false
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return true
}
