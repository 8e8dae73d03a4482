// Peer credentials of a client connection (SO_PEERCRED), for apiauth and log fields.
package api

import (
	"net"
	"syscall"
)

// peerCred returns the pid, uid and gid of the process at the other end of c.
func peerCred(c *net.UnixConn) (pid int32, uid, gid uint32, ok bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, 0, 0, false
	}
	var cred *syscall.Ucred
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		cred, gerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || gerr != nil {
		return 0, 0, 0, false
	}
	return cred.Pid, cred.Uid, cred.Gid, true
}
