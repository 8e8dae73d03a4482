#!/bin/sh
# soak.sh: test/demo's cluster under churn (real servers flapping, a
# director failover every 3-5 minutes, a client throughout) for a while,
# sampling every daemon's goroutines, fds and RSS; prints whether they
# stay flat (root; needs iproute2 and nftables, as make demo).
#
#   sh bench/soak.sh                       # one hour
#   sh bench/soak.sh 3m                    # a short run
#   sh bench/soak.sh 2h -soak.interval 30s # extra flags go to the test
#
# Every sample goes to $SOAK_CSV (default /tmp/soak.csv), the summary to
# $SOAK_SUMMARY (default /tmp/soak-summary.txt).
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
duration=${1:-1h}
[ $# -gt 0 ] && shift
csv=${SOAK_CSV:-${TMPDIR:-/tmp}/soak.csv}
summary=${SOAK_SUMMARY:-${TMPDIR:-/tmp}/soak-summary.txt}
case $csv in /*) ;; *) csv=$PWD/$csv ;; esac
case $summary in /*) ;; *) summary=$PWD/$summary ;; esac
exec "$GO" test -count=1 -v -run '^TestSoak$' -timeout 0 ./bench/soak \
	-args -soak.duration "$duration" -soak.csv "$csv" -soak.summary "$summary" "$@"
