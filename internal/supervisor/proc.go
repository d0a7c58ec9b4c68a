package supervisor

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
)

var pageSize = int64(os.Getpagesize())

// childrenFiles reports whether the kernel has /proc/<pid>/task/<tid>/children
// (CONFIG_PROC_CHILDREN); without it only the main process can be measured.
var childrenFiles = sync.OnceValue(func() bool {
	pid := strconv.Itoa(os.Getpid())
	_, err := os.Stat("/proc/" + pid + "/task/" + pid + "/children")
	return err == nil
})

// groupPids lists pid and its descendants through /proc/<pid>/task/<tid>/children.
func groupPids(root int, out []int, buf []byte) []int {
	out = append(out, root)
	if !childrenFiles() {
		return out
	}
	for i := 0; i < len(out) && len(out) < 4096; i++ {
		pid := out[i]
		tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		if err != nil {
			continue
		}
		for _, t := range tasks {
			b := readFile("/proc/"+strconv.Itoa(pid)+"/task/"+t.Name()+"/children", buf)
			for _, f := range bytes.Fields(b) {
				if c, err := strconv.Atoi(string(f)); err == nil {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// readRSS returns a process's resident set size in bytes from /proc/<pid>/statm.
func readRSS(pid int, buf []byte) int64 {
	b := readFile("/proc/"+strconv.Itoa(pid)+"/statm", buf)
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * pageSize
}

func readFile(path string, buf []byte) []byte {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	n, err := syscall.Read(fd, buf)
	if err != nil || n <= 0 {
		return nil
	}
	return buf[:n]
}
