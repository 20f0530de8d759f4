#!/bin/sh
# Installs the Debian packages Zentrale needs that are missing.
#   scripts/deps.sh run    build and run-time packages
#   scripts/deps.sh test   also the test tools
#   scripts/deps.sh bench  the run-time packages and what bench/sip compares
#                          with and drives (Kamailio with SQLite, rtpengine,
#                          sipp, perf)
# Also creates the unprivileged system user the server drops to when
# started as root. Safe to run again: it only installs what is missing.
set -eu

RUN_PKGS="build-essential meson ninja-build pkg-config libevent-dev libssl-dev node-llhttp
libsqlite3-dev libjansson-dev libsodium-dev libbsd-dev libcap-dev libssh-dev libreadline-dev
iproute2 openssl libsrtp2-dev libarchive-dev openvpn libcurl4-openssl-dev
libc-ares-dev libspandsp-dev libspeexdsp-dev libopus-dev libsndfile1-dev libogg-dev libvorbis-dev
asterisk-core-sounds-en-wav asterisk-moh-opsound-wav espeak-ng"
TEST_PKGS="libcmocka-dev linphone-cli python3 python3-pytest python3-pytest-xdist python3-paramiko curl clang procps
clang-format libclang-rt-14-dev
openssh-client sshpass tmux sip-tester python3-pylibsrtp baresip-core stunnel4 sipvicious sox
chromium prometheus tshark python3-aiosmtpd lame kamailio kamailio-tls-modules dnsmasq-base nftables"
# rtpengine-daemon: bench/sip runs its own rtpengine (--config-file=none, its
# own ports); where systemd and no policy-rc.d let the package start and
# enable Debian's rtpengine-daemon.service, the bench neither needs nor stops it.
BENCH_PKGS="kamailio kamailio-sqlite-modules rtpengine-daemon sqlite3 sip-tester linux-perf python3 procps"

want="$RUN_PKGS"
[ "${1:-run}" = "test" ] && want="$want $TEST_PKGS"
[ "${1:-run}" = "bench" ] && want="$want $BENCH_PKGS"
# The browser tests run on Node.js: Debian's, unless the machine has one.
[ "${1:-run}" = "test" ] && ! command -v node >/dev/null && want="$want nodejs npm"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing Debian packages:$missing" >&2
		echo "run as root, or: sudo apt-get install$missing" >&2
		exit 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi

# playwright-core, at the version package-lock.json pins, from the npm registry.
if [ "${1:-run}" = "test" ]; then
	dir="$(dirname "$0")/../tests/browser"
	want_v=$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' "$dir/package.json")
	have_v=$(sed -n 's/.*"version": "\(.*\)".*/\1/p' \
		"$dir/node_modules/playwright-core/package.json" 2>/dev/null | head -n 1)
	if [ "$want_v" != "$have_v" ]; then
		echo "installing playwright-core $want_v (npm)"
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
	fi
fi

if [ "$(id -u)" -eq 0 ] && ! getent passwd zentrale >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin zentrale
	echo "created system user zentrale"
fi
