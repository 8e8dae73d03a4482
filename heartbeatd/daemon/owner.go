// Files heartbeat shares with its children that run as hacluster (ipfail).

package daemon

import (
	"os"
	"os/user"
	"strconv"
)

// Classic heartbeat's unprivileged user and group.
const (
	haUser  = "hacluster"
	haGroup = "haclient"
)

// haIDs returns hacluster's uid and haclient's gid; ok is false when this
// machine has no such user or group.
func haIDs() (uid, gid int, ok bool) {
	u, err := user.Lookup(haUser)
	if err != nil {
		return 0, 0, false
	}
	g, err := user.LookupGroup(haGroup)
	if err != nil {
		return 0, 0, false
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(g.Gid)
	return uid, gid, err1 == nil && err2 == nil
}

// ShareLogFiles gives the log and debug files to hacluster:haclient, as
// classic change_logfile_ownership does, so that ipfail running as
// hacluster can append to them. Paths that are not regular files
// (/dev/null) and machines without the user are left alone.
func ShareLogFiles(paths ...string) {
	uid, gid, ok := haIDs()
	if !ok || os.Geteuid() != 0 {
		return
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			os.Chown(p, uid, gid)
		}
	}
}

// makeRunDir creates the runtime directory (the API socket's) the way
// Debian's tmpfiles.d does, 0750 hacluster:haclient, so the unprivileged
// clients of that group reach the socket and nobody else does. An existing
// directory is left as it is.
func makeRunDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if uid, gid, ok := haIDs(); ok && os.Geteuid() == 0 {
		if err := os.Chown(dir, uid, gid); err == nil {
			return os.Chmod(dir, 0o750)
		}
	}
	return nil
}
