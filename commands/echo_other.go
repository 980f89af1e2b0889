//go:build !linux

package commands

import "errors"

// echoOff is not done here: askSecret uses term.ReadPassword instead.
func echoOff(int) (func(), error) { return nil, errors.ErrUnsupported }
