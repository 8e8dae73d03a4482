#!/bin/sh
# make demo: two heartbeatd directors in network namespaces on a bridge,
# narrated: they find each other and take their VIPs, one dies and the other
# takes its VIP over, it returns and gets it back, standby, graceful stop.
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
	printf 'nodea IPaddr2::10.77.0.100/24/hb0\nnodeb IPaddr2::10.77.0.200/24/hb0\n' > $D/$n/etc/haresources
done
start() {
	ip netns exec $P-$1 "$BIN/heartbeatd" -f -node node$1 -confdir $D/$1/etc -statedir $D/$1/state \
		-rundir $D/$1/run -pidfile $D/$1/pid >>$D/$1/stderr 2>&1 &
}
holder() { # vip -> the directors holding it (a director whose link is down holds nothing)
	h=""; for n in a b; do
		ip -n $P-$n -o link show hb0 | grep -q ',UP' || continue
		ip -n $P-$n -4 -o addr show dev hb0 | grep -q " $1/" && h="$h node$n"; done
	echo "${h# }"
}
vips() { echo "   VIP 10.77.0.100 on: $(holder 10.77.0.100)    VIP 10.77.0.200 on: $(holder 10.77.0.200)"; }
waitvip() { # vip want timeout_s
	i=0; while [ "$(holder "$1")" != "$2" ]; do
		i=$((i+1)); [ $i -gt $(($3*100)) ] && { echo "demo: $1 is on '$(holder "$1")', not $2" >&2; exit 1; }
		sleep 0.01; done
	echo "   $1 is on $2  (after $(awk "BEGIN{print $i*0.01}") s)"
}
rsc() { echo "   rscstatus: nodea $(HA_API_SOCKET=$D/a/run/register "$BIN/cl_status" rscstatus 2>/dev/null), nodeb $(HA_API_SOCKET=$D/b/run/register "$BIN/cl_status" rscstatus 2>/dev/null)"; }
say "Starting heartbeatd on both (keepalive 200ms, deadtime 1s, bcast, HMAC-SHA1)"
start a; start b
waitfor a nodeb active 10; waitfor b nodea active 10
HA_API_SOCKET=$D/a/run/register "$BIN/cl_status" hbstatus
say "Each takes its own VIP (haresources: nodea 10.77.0.100, nodeb 10.77.0.200)"
waitvip 10.77.0.100 nodea 5; waitvip 10.77.0.200 nodeb 5; rsc
say "nodeb dies (SIGKILL, its link down): nodea declares it dead within deadtime and takes its VIP"
sleep 5.5   # past the start-up window in which heartbeat advertises deadtime + 2 s
ip -n $P-b link set hb0 down; kill -9 "$(cat $D/b/pid)"
waitfor a nodeb dead 5; waitvip 10.77.0.200 nodea 5; rsc
say "nodeb comes back (its stale VIP gone, as after a reboot): auto_failback on gives it its VIP back"
ip -n $P-b addr del 10.77.0.200/24 dev hb0 2>/dev/null || true; ip -n $P-b link set hb0 up
start b; waitfor a nodeb active 10; waitvip 10.77.0.200 nodeb 10; rsc
say "hb_standby on nodea: nodeb takes everything"
HA_API_SOCKET=$D/a/run/register "$BIN/hb_standby" all
waitvip 10.77.0.100 nodeb 5; vips; rsc
say "hb_takeover on nodea: it takes everything back"
HA_API_SOCKET=$D/a/run/register "$BIN/hb_takeover" all
waitvip 10.77.0.100 nodea 5; waitvip 10.77.0.200 nodea 5; rsc
say "Stopping nodea gracefully: it hands both VIPs over at once, without waiting for deadtime"
kill "$(cat $D/a/pid)"; waitvip 10.77.0.100 nodeb 2; waitvip 10.77.0.200 nodeb 2
say "nodeb's log"
sed 's/^/   /' $D/b/ha-log | tail -n 14
say "Demo complete"
