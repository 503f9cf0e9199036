package local

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// listener is a TCP socket listening on a port, with the process holding it when known.
type listener struct {
	Addr    string // the address it is bound to: 127.0.0.1, 0.0.0.0, ::, ...
	PID     int    // 0 when the process is not visible to this user
	Command string // its command line
}

// PortTakenError says that a local service could not listen on its port because another process
// does. Its message is one line naming the port and, where this user may see it, the process.
type PortTakenError struct {
	Port int
	By   []listener // empty when the owner is not visible (another user's process, or no /proc)
}

func (e *PortTakenError) Error() string {
	msg := "port " + strconv.Itoa(e.Port) + " is already in use"
	var who []string
	for _, l := range e.By {
		if l.PID == 0 {
			continue
		}
		cmd := l.Command
		if len(cmd) > 120 {
			cmd = cmd[:117] + "..."
		}
		who = append(who, fmt.Sprintf("pid %d (%s) on %s", l.PID, cmd, l.Addr))
	}
	if len(who) > 0 {
		return msg + " by " + strings.Join(who, "; ")
	}
	if len(e.By) > 0 {
		return msg + " (by a process of another user, on " + e.By[0].Addr + ")"
	}
	return msg
}

// CheckPort returns a *PortTakenError when something already listens on port of 127.0.0.1 (or of
// every interface, which includes it), and nil when the port is free now.
func CheckPort(port int) error {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err == nil {
		l.Close()
		return nil
	}
	socks, _ := listeners(port)
	if len(socks) == 0 && !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("port %d: %w", port, err)
	}
	return &PortTakenError{Port: port, By: socks}
}

// portHeldBy reports whether the process group pgid (a child started by process.start) holds
// the socket listening on port; it returns true when that cannot be told (no /proc, or no socket
// visible), so that it only refuses a port it sees taken by someone else. It returns the
// listeners it found.
func portHeldBy(port, pgid int) (bool, []listener) {
	socks, ok := listeners(port)
	if !ok || len(socks) == 0 {
		return true, socks
	}
	for _, l := range socks {
		if l.PID == 0 {
			continue
		}
		if l.PID == pgid {
			return true, socks
		}
		if g, err := syscall.Getpgid(l.PID); err == nil && g == pgid {
			return true, socks
		}
	}
	return false, socks
}

// IsLoopbackOnly reports whether every socket listening on port is bound to a loopback address,
// and whether that could be told (false when /proc cannot be read or nothing listens).
func IsLoopbackOnly(port int) (loopback, known bool) {
	socks, ok := listeners(port)
	if !ok || len(socks) == 0 {
		return false, false
	}
	for _, l := range socks {
		ip := net.ParseIP(l.Addr)
		if ip == nil || !ip.IsLoopback() {
			return false, true
		}
	}
	return true, true
}
