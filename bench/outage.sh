#!/bin/sh
# outage.sh: client-visible failover outage, heartbeat 3.0.6 and heartbeatd
# side by side (root; needs iproute2 and Debian's heartbeat package).
#
#   sh bench/outage.sh                       # every setting, 3 rounds each
#   sh bench/outage.sh -outage.rounds 5      # extra flags go to the benchmark
#   sh bench/outage.sh -outage.impl classic  # one column only
#
# The table is printed at the end and also written as markdown (for
# docs/performance.md) to $OUTAGE_MD, by default /tmp/outage.md.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
md=${OUTAGE_MD:-${TMPDIR:-/tmp}/outage.md}
case $md in /*) ;; *) md=$PWD/$md ;; esac
echo "markdown table: $md"
exec "$GO" test -run '^$' -bench FailoverOutage -benchtime 1x -timeout 60m \
	./bench/outage -args -outage.markdown "$md" "$@"
