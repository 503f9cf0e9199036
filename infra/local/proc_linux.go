package local

import "syscall"

// processGroup starts a child in its own process group, so that Stop can end it and its
// children together, and has the kernel kill it should this process die without stopping it.
func processGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
