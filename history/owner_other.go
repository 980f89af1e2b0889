//go:build !unix && !windows

package history

import "os"

// lockOwner is a no-op without file locks: runs are never reported abandoned.
func lockOwner(string) (*os.File, error) { return nil, nil }

func ownerGone(string) bool { return false }

func createOwner(path string) (*os.File, error) { return lockOwner(path) }
