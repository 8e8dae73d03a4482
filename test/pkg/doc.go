// Package pkg tests `make install` and `make deb`: the installed file list
// and modes, and the .deb installed, run, removed and purged in a throwaway
// root (dpkg --root over an overlay of the host's /usr, in a private mount
// namespace), never on the host itself.
package pkg

// doc.go: the package comment.
