#!/bin/sh
# ldcheck.sh: ldirectord health checking at scale, Perl ldirectord 4.12 and
# hasuite's side by side (root; needs iproute2, nftables and Debian's
# ldirectord package).
#
#   sh bench/ldcheck.sh                                   # (a) and (b), ~7 minutes
#   sh bench/ldcheck.sh -ldcheck.impl ours                # one column only
#   sh bench/ldcheck.sh -ldcheck.runs detect -ldcheck.rounds 9
#   sh bench/ldcheck.sh -ldcheck.scale 1000/100,10000/1000
#
# Extra flags go to the benchmark (see bench/README.md). The tables are
# printed at the end and also written as markdown (for docs/performance.md)
# to $LDCHECK_MD, by default /tmp/ldcheck.md.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
md=${LDCHECK_MD:-${TMPDIR:-/tmp}/ldcheck.md}
case $md in /*) ;; *) md=$PWD/$md ;; esac
echo "markdown table: $md"
exec "$GO" test -run '^$' -bench Ldcheck -benchtime 1x -timeout 60m \
	./bench/ldcheck -args -ldcheck.markdown "$md" "$@"
