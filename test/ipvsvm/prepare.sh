#!/bin/sh
# Prepares the IPVS test VM (root, Debian): qemu, ipvsadm, and Debian's
# linux-image-amd64 kernel and busybox-static unpacked into a cache, with the
# ELF vmlinux extracted for a fast PVH boot. Quick when already prepared.
#
# The kernel package is unpacked (dpkg -x), not installed: installing it would
# run depmod, build an initramfs and touch the boot loader of this machine.
set -eu
cache="${HASUITE_IPVSVM_CACHE:-/var/cache/hasuite/ipvsvm}"

need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
command -v ipvsadm >/dev/null 2>&1 || need="$need ipvsadm"
command -v xz >/dev/null 2>&1 || need="$need xz-utils"
if [ -z "$need" ] && [ -s "$cache/vmlinux" ] && [ -x "$cache/busybox" ] && [ -s "$cache/kernel-release" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "ipvsvm: cannot prepare the IPVS VM here (needs root and apt-get); its suites will skip" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
updated=""
if [ -n "$need" ]; then
	echo "ipvsvm: installing$need"
	apt-get update -q >/dev/null
	updated=1
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need >/dev/null
fi
[ -s "$cache/vmlinux" ] && [ -x "$cache/busybox" ] && [ -s "$cache/kernel-release" ] && exit 0

# The versioned image package behind linux-image-amd64 (it changes with
# Debian point releases).
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)
if [ -z "$pkg" ] && [ -z "$updated" ]; then
	apt-get update -q >/dev/null
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)
fi
[ -n "$pkg" ] || { echo "ipvsvm: cannot resolve linux-image-amd64" >&2; exit 1; }
echo "ipvsvm: unpacking $pkg and busybox-static into $cache"
tmp=$(mktemp -d)
chown _apt "$tmp" 2>/dev/null || true # apt-get download writes as _apt
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q "$pkg" busybox-static >/dev/null)
mkdir -p "$cache"
rm -rf "$cache/linux" "$cache/bb"
dpkg-deb -x "$tmp/${pkg}"_*.deb "$cache/linux"
dpkg-deb -x "$tmp"/busybox-static_*.deb "$cache/bb"
cp "$cache/bb/bin/busybox" "$cache/busybox.new" && mv "$cache/busybox.new" "$cache/busybox"
rm -rf "$cache/bb"
release=$(ls "$cache/linux/lib/modules" | head -n 1)
vmlinuz="$cache/linux/boot/vmlinuz-$release"

# The ELF kernel: the first xz stream in the bzImage that decompresses to ELF
# (as the kernel tree's scripts/extract-vmlinux finds it).
found=""
for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | cut -d: -f1); do
	tail -c "+$((off + 1))" "$vmlinuz" | xz -dc >"$tmp/vmlinux" 2>/dev/null || true
	if [ "$(head -c 4 "$tmp/vmlinux" | od -An -c | tr -d ' ')" = "177ELF" ]; then
		found=1
		break
	fi
done
[ -n "$found" ] || { echo "ipvsvm: no xz-compressed ELF kernel found in $vmlinuz" >&2; exit 1; }
mv "$tmp/vmlinux" "$cache/vmlinux"
echo "$release" >"$cache/kernel-release"
