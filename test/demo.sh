#!/bin/sh
# make demo: two heartbeatd directors in network namespaces on a bridge,
# narrated: they find each other, one dies, the other notices, it returns.
# Needs root; uses only addresses inside the namespaces it creates.
# "demo.sh down" removes what an interrupted run left behind.
set -eu
P=hsdemo
BIN=$(cd "$(dirname "$0")/.." && pwd)/bin
D=/tmp/$P

down() {
	for n in a b; do
		[ -f "$D/$n/pid" ] && kill "$(cat "$D/$n/pid")" 2>/dev/null || true
	done
	sleep 0.3
	for ns in $P-a $P-b $P-hub; do ip netns del $ns 2>/dev/null || true; done
	rm -rf "$D"
}
if [ "${1:-}" = down ]; then down; echo "demo: cleaned up"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }
down
trap 'down' EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
status() { HA_API_SOCKET=$D/$1/run/register "$BIN/cl_status" nodestatus "$2" 2>/dev/null || true; }
waitfor() { # node peer want timeout_s
	i=0; while [ "$(status "$1" "$2")" != "$3" ]; do
		i=$((i+1)); [ $i -gt $(($4*50)) ] && { echo "demo: $1 never saw $2 $3" >&2; exit 1; }
		sleep 0.02; done
	echo "   $1 sees $2: $3  (after $(awk "BEGIN{print $i*0.02}") s)"
}

say "A bridge and two directors, nodea (10.77.0.1) and nodeb (10.77.0.2)"
ip netns add $P-hub; ip -n $P-hub link add br0 type bridge; ip -n $P-hub link set br0 up
for n in a b; do
	i=$([ $n = a ] && echo 1 || echo 2)
	ip netns add $P-$n
	ip -n $P-hub link add ${P}v$n type veth peer name hb0 netns $P-$n
	ip -n $P-hub link set ${P}v$n master br0 up
	ip -n $P-$n addr add 10.77.0.$i/24 broadcast + dev hb0
	ip -n $P-$n link set hb0 up; ip -n $P-$n link set lo up
	mkdir -p $D/$n/etc
	cat > $D/$n/etc/ha.cf <<CF
logfile $D/$n/ha-log
keepalive 200ms
deadtime 1
warntime 500ms
initdead 4
auto_failback on
bcast hb0
node nodea nodeb
CF
	printf 'auth 1\n1 sha1 demo-secret-%s\n' "$P" > $D/$n/etc/authkeys; chmod 600 $D/$n/etc/authkeys
done
start() {
	ip netns exec $P-$1 "$BIN/heartbeatd" -f -node node$1 -confdir $D/$1/etc -statedir $D/$1/state \
		-rundir $D/$1/run -pidfile $D/$1/pid >>$D/$1/stderr 2>&1 &
}
say "Starting heartbeatd on both (keepalive 200ms, deadtime 1s, bcast, HMAC-SHA1)"
start a; start b
waitfor a nodeb active 10; waitfor b nodea active 10
HA_API_SOCKET=$D/a/run/register "$BIN/cl_status" hbstatus
say "Killing nodeb with SIGKILL: nodea must declare it dead within deadtime"
sleep 5.5   # past the start-up window in which heartbeat advertises deadtime + 2 s
kill -9 "$(cat $D/b/pid)"
waitfor a nodeb dead 5
say "Restarting nodeb (a new generation): both active again"
start b; waitfor a nodeb active 10; waitfor b nodea active 10
say "Stopping nodeb gracefully: its shutdone is seen at once"
kill "$(cat $D/b/pid)"; waitfor a nodeb dead 2
say "nodea's log"
sed 's/^/   /' $D/a/ha-log | tail -n 12
say "Demo complete"
