#!/bin/sh
# stage.sh: turns a `make install` tree into a dpkg-deb tree: DEBIAN/control,
# conffiles (every file under /etc) and the maintainer scripts, told which
# systemd units and init scripts the tree holds.
# Usage: stage.sh ROOT VERSION ARCH
set -eu
root=$1 version=$2 arch=$3
here=$(dirname "$0")
units=$(find "$root/usr/lib/systemd/system" -type f -printf '%f\n' 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')
inits=$(find "$root/etc/init.d" -type f -printf '%f\n' 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')
mkdir -p "$root/DEBIAN"
size=$(du -sk "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	"$here/control" >"$root/DEBIAN/control"
(cd "$root" && find etc -type f | sort | sed 's|^|/|') >"$root/DEBIAN/conffiles"
[ -s "$root/DEBIAN/conffiles" ] || rm -f "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	sed -e "s|@UNITS@|$units|" -e "s|@INITSCRIPTS@|$inits|" "$here/$s" >"$root/DEBIAN/$s"
	chmod 0755 "$root/DEBIAN/$s"
done
