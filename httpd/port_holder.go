package httpd

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// portHolder finds a process that listens on the TCP port, for the error
// of a port in use: its pid and command line, from /proc (Linux). 0 when
// it cannot be told: no /proc, or the holder is another user's process,
// whose descriptors only root may read (or a container's, in another
// namespace).
func portHolder(port int) (pid int, cmdline string) {
	sockets := map[string]bool{}
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		lines := strings.Split(string(b), "\n")
		for _, line := range lines[1:] {
			// sl local_address rem_address st ... inode
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(f[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); ok && err == nil && int(p) == port {
				sockets["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(sockets) == 0 {
		return 0, ""
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, ""
	}
	for _, p := range procs {
		n, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir("/proc/" + p.Name() + "/fd")
		if err != nil {
			continue // another user's
		}
		for _, fd := range fds {
			if link, err := os.Readlink("/proc/" + p.Name() + "/fd/" + fd.Name()); err == nil && sockets[link] {
				return n, processCommand(p.Name())
			}
		}
	}
	return 0, ""
}

// processCommand is the command line of the process pid (its name when
// that is empty), cut to a line's worth.
func processCommand(pid string) string {
	b, _ := os.ReadFile("/proc/" + pid + "/cmdline")
	cmd := strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
	if cmd == "" {
		b, _ = os.ReadFile("/proc/" + pid + "/comm")
		cmd = strings.TrimSpace(string(b))
	}
	if r := []rune(cmd); len(r) > 100 {
		cmd = string(r[:100]) + "…"
	}
	return cmd
}
