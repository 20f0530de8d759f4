#!/bin/sh
# Memory of an idle server with 1 and with 20 phone systems: RSS and PSS
# (shared pages split between processes) summed over every zentrale
# process. Uses the normal build (make), not the sanitizer one.
#   bench/idle-rss.sh [BINARY]
set -eu
BIN=${1:-build/zentrale}
OFF=${ZENTRALE_BENCH_OFFSET:-29000}
DATA=$(mktemp -d /tmp/zt-bench-XXXXXX)
PW=bench-admin-pw
export ZENTRALE_ADMIN_PASSWORD=$PW

setsid "$BIN" server --data-dir "$DATA" --port-offset "$OFF" --listen 127.0.0.1 \
	>"$DATA.log" 2>&1 &
SUP=$!
trap 'kill $SUP 2>/dev/null; wait $SUP 2>/dev/null; rm -rf "$DATA" "$DATA.log"' EXIT
API=https://127.0.0.1:$((8443 + OFF))/api/v1
for _ in $(seq 100); do curl -sk -o /dev/null "$API/system" && break; sleep 0.1; done
TOKEN=$(curl -sk "$API/login" -d "{\"username\":\"admin\",\"password\":\"$PW\"}" |
	sed 's/.*"token":"\([^"]*\)".*/\1/')

measure() { # prints "processes rss_kib pss_kib"
	pids=$(ps -o pid= -s "$SUP")
	n=0 rss=0 pss=0
	for p in $pids; do
		r=$(awk '/^VmRSS:/ {print $2}' /proc/$p/status)
		s=$(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup)
		n=$((n + 1)) rss=$((rss + r)) pss=$((pss + s))
	done
	echo "$n $rss $pss"
}

printf "%-15s %9s %10s %10s\n" "phone systems" processes "RSS MiB" "PSS MiB"
have=0
for want in 1 20; do
	while [ $have -lt $want ]; do
		have=$((have + 1))
		curl -sk -o /dev/null -H "Authorization: Bearer $TOKEN" "$API/phone-systems" \
			-d "{\"name\":\"ps-$have\",\"admin_password\":\"bench-pbx-pw\"}"
	done
	sleep 3 # idle
	set -- $(measure)
	printf "%-15s %9s %10.1f %10.1f\n" "$want" "$1" "$(echo "$2/1024" | bc -l)" \
		"$(echo "$3/1024" | bc -l)"
done
