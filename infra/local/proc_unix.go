//go:build unix && !linux

package local

import "syscall"

// processGroup starts a child in its own process group, so that Stop can end it and its
// children together.
func processGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
