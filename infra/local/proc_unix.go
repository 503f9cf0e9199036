//go:build unix && !linux

package local

import "syscall"

// processGroup starts a child in its own process group, so that Stop can end it and its
// children together.
func processGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// listeners is not implemented here: messages then name the port only.
func listeners(port int) ([]listener, bool) { return nil, false }
