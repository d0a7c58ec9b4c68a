package server

import "syscall"

// raiseFileLimit raises the soft limit on open files to the hard limit (Go does this itself since
// 1.19 on Linux, but only for the process; doing it here makes the figure known and logged) and
// answers the new soft limit. Every connection is a file: with the common default of 1,024, a
// few hundred slow callers would stop furl accepting.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, err
		}
	}
	return l.Cur, nil
}
