package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Owns reports whether the other end of c, a loopback TCP connection accepted by furl, is a
// socket held by a process of this environment. The Runtime API of an environment serves only
// connections it owns: any local process can reach its port, but only the environment's own
// runtime can use it.
func (e *Env) Owns(c net.Conn) bool {
	if e.InitPid() <= 0 {
		return false
	}
	local, ok1 := c.LocalAddr().(*net.TCPAddr)
	remote, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return false
	}
	inode, err := peerInode(local, remote)
	if err != nil || inode == "" {
		return false
	}
	return e.holds("socket:[" + inode + "]")
}

// peerInode finds, in /proc/net/tcp or tcp6, the socket whose local end is remote and whose
// remote end is local (the client's side of the connection) and returns its inode.
func peerInode(local, remote *net.TCPAddr) (string, error) {
	file, want := "/proc/net/tcp", hexAddr4(remote)
	if remote.IP.To4() == nil {
		file, want = "/proc/net/tcp6", hexAddr6(remote)
	}
	wantRemotePort := fmt.Sprintf(":%04X", local.Port)
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[1] != want || !strings.HasSuffix(fields[2], wantRemotePort) {
			continue
		}
		return fields[9], nil
	}
	return "", sc.Err()
}

// hexAddr4 is an IPv4 address and port as /proc/net/tcp prints them (the address in host byte
// order of a little-endian machine).
func hexAddr4(a *net.TCPAddr) string {
	ip := a.IP.To4()
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], a.Port)
}

func hexAddr6(a *net.TCPAddr) string {
	ip := a.IP.To16()
	var b strings.Builder
	for i := 0; i < 16; i += 4 {
		fmt.Fprintf(&b, "%02X%02X%02X%02X", ip[i+3], ip[i+2], ip[i+1], ip[i])
	}
	fmt.Fprintf(&b, ":%04X", a.Port)
	return b.String()
}

// holds reports whether a process of the environment has a descriptor linking to target.
func (e *Env) holds(target string) bool {
	buf := make([]byte, 512)
	for _, pid := range Descendants(e.InitPid(), buf) {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, d := range ents {
			if l, err := os.Readlink(dir + "/" + d.Name()); err == nil && l == target {
				return true
			}
		}
	}
	return false
}

// Descendants lists root and every process below it through /proc/<pid>/task/<tid>/children.
func Descendants(root int, buf []byte) []int {
	out := []int{root}
	for i := 0; i < len(out) && len(out) < 4096; i++ {
		pid := strconv.Itoa(out[i])
		tasks, err := os.ReadDir("/proc/" + pid + "/task")
		if err != nil {
			continue
		}
		for _, t := range tasks {
			b, err := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/children")
			if err != nil {
				continue
			}
			for _, f := range bytes.Fields(b) {
				if c, err := strconv.Atoi(string(f)); err == nil {
					out = append(out, c)
				}
			}
		}
	}
	return out
}
