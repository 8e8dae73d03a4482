#!/bin/sh
# Installs what the test suites need when it is missing (root, Debian/Ubuntu):
# iproute2 for namespaces, Debian's heartbeat 3.0.6 as the interop peer,
# tcpdump for captures, nftables for partitions, MariaDB and PostgreSQL for
# ldirectord's SQL checks, Debian's Perl ldirectord 4.12 as the baseline
# for ours; then the real-kernel IPVS VM (qemu, ipvsadm and
# Debian's kernel, see test/ipvsvm/prepare.sh). Quiet and quick when
# everything is present.
set -eu
need=""
command -v ip >/dev/null 2>&1 || need="$need iproute2"
[ -x /usr/libexec/heartbeat/heartbeat ] || need="$need heartbeat"
command -v tcpdump >/dev/null 2>&1 || need="$need tcpdump"
command -v unshare >/dev/null 2>&1 || need="$need util-linux"
command -v nft >/dev/null 2>&1 || need="$need nftables"
# Real databases for ldirectord's mysql and pgsql checks.
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need="$need mariadb-server"
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need="$need postgresql"
[ -x /usr/sbin/ldirectord ] || need="$need ldirectord"
# test/etc: systemd-analyze verify on the units, shellcheck on the init
# scripts, logrotate on the logrotate.d files.
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
command -v shellcheck >/dev/null 2>&1 || need="$need shellcheck"
command -v logrotate >/dev/null 2>&1 || need="$need logrotate"
# test/pkg: groff formats the rendered man pages.
command -v groff >/dev/null 2>&1 || need="$need groff-base"
command -v ethtool >/dev/null 2>&1 || need="$need ethtool"   # bench/ldcheck -ldcheck.net veth (GRO, threaded NAPI)
if [ -n "$need" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "deps: missing:$need (install them as root to run the root-only suites)" >&2
	else
		echo "deps: installing$need"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $need >/dev/null
		# The package's own heartbeat must not run on the host: tests start their own.
		if command -v systemctl >/dev/null 2>&1; then systemctl disable --now heartbeat >/dev/null 2>&1 || true; fi
		pkill -x heartbeat 2>/dev/null || true
		if command -v systemctl >/dev/null 2>&1; then systemctl disable --now ldirectord >/dev/null 2>&1 || true; fi
	fi
fi
sh "$(dirname "$0")/ipvsvm/prepare.sh"
