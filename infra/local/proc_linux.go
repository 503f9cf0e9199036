package local

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// processGroup starts a child in its own process group, so that Stop can end it and its
// children together, and has the kernel kill it should this process die without stopping it.
func processGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// listeners returns the TCP sockets listening on port (IPv4 and IPv6) in this network namespace,
// read from /proc/net/tcp and /proc/net/tcp6, with the processes holding them where this user may
// see them (/proc/<pid>/fd). ok is false when /proc cannot be read.
func listeners(port int) (socks []listener, ok bool) {
	inodes := map[string]*listener{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		file, err := os.Open(f)
		if err != nil {
			continue
		}
		ok = true
		sc := bufio.NewScanner(file)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			addr, portHex, found := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseUint(portHex, 16, 16); !found || err != nil || int(p) != port {
				continue
			}
			inodes[fs[9]] = &listener{Addr: hexAddr(addr)}
		}
		file.Close()
	}
	if len(inodes) == 0 {
		return nil, ok
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		l := inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")]
		if l == nil || l.PID != 0 {
			continue
		}
		l.PID, _ = strconv.Atoi(strings.Split(fd, "/")[2])
		if cmd, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(l.PID), "cmdline")); err == nil {
			l.Command = shortCommand(strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00"))
		}
	}
	for _, l := range inodes {
		socks = append(socks, *l)
	}
	return socks, ok
}

// hexAddr turns /proc/net/tcp's address (little-endian hex words) into text: 127.0.0.1, 0.0.0.0,
// ::, ::ffff:127.0.0.1 and so on.
func hexAddr(h string) string {
	var b []byte
	for i := 0; i+8 <= len(h); i += 8 {
		w, err := strconv.ParseUint(h[i:i+8], 16, 32)
		if err != nil {
			return h
		}
		b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	switch len(b) {
	case 4:
		return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
	case 16:
		if strings.Trim(string(b[:10]), "\x00") == "" && b[10] == 0xff && b[11] == 0xff { // IPv4-mapped
			return fmt.Sprintf("%d.%d.%d.%d", b[12], b[13], b[14], b[15])
		}
		if strings.Trim(string(b), "\x00") == "" {
			return "::"
		}
		var parts []string
		for i := 0; i < 16; i += 2 {
			parts = append(parts, strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16))
		}
		return strings.Join(parts, ":")
	}
	return h
}

// shortCommand makes a command line readable in one line: programs and files by their base name,
// without the JVM's -D and -X options and class path.
func shortCommand(argv []string) string {
	var out []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case i > 0 && (strings.HasPrefix(a, "-D") || strings.HasPrefix(a, "-X")):
			continue
		case i > 0 && (a == "-cp" || a == "-classpath" || a == "--class-path"):
			i++
			continue
		case strings.Contains(a, "/") && !strings.Contains(a, "://"):
			a = filepath.Base(a)
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}
