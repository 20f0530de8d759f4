#!/bin/sh
# Builds the libFuzzer targets (http_msg, sip_msg, sdp, backup, vpn) with clang into build/fuzz/ and, given a
# target name and seconds, runs it on a copy of its seed corpus:
#   fuzz/build.sh                      build every target
#   fuzz/build.sh http_msg 300         build, then fuzz http_msg for 5 minutes
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/build/fuzz"
mkdir -p "$OUT"
LL=/usr/share/llhttp
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I/usr/share/include/llhttp"

clang $CFLAGS -w -c $LL/api.c -o "$OUT/llhttp_api.o"
clang $CFLAGS -w -c $LL/http.c -o "$OUT/llhttp_http.o"
clang $CFLAGS -w -c $LL/llhttp.c -o "$OUT/llhttp_llhttp.o"
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_http_msg" "$ROOT/fuzz/fuzz_http_msg.c" \
	"$ROOT/src/http/http_msg.c" "$OUT"/llhttp_*.o
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_sip_msg" "$ROOT/fuzz/fuzz_sip_msg.c" \
	"$ROOT/src/sip/sip_msg.c" "$ROOT/src/sip/sip_hdr.c" "$ROOT/src/sip/sip_dialog.c"
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_sdp" "$ROOT/fuzz/fuzz_sdp.c" \
	"$ROOT/src/sdp/sdp.c" "$ROOT/src/sip/sip_msg.c" "$ROOT/src/media/media_srtp.c" \
	-lsodium -lsrtp2

clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_backup" "$ROOT/fuzz/fuzz_backup.c" \
	"$ROOT/src/backup/backup_archive.c" "$ROOT/src/backup/backup_crypt.c" \
	-larchive -lsodium -ljansson -lsqlite3
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_vpn" "$ROOT/fuzz/fuzz_vpn.c" \
	"$ROOT/src/vpn/vpn_config.c" -ljansson

if [ $# -ge 1 ]; then
	target=$1
	secs=${2:-60}
	work="$OUT/corpus-$target"
	mkdir -p "$work"
	cp -n "$ROOT/fuzz/corpus/$target"/* "$work"/ 2>/dev/null || true
	# the SIP target also starts from the RFC 4475 torture messages
	[ "$target" = sip_msg ] && for f in "$ROOT"/tests/unit/rfc4475/*/*.sip; do
		cp -n "$f" "$work/$(basename "$(dirname "$f")")-$(basename "$f")"
	done
	"$OUT/fuzz_$target" -max_total_time="$secs" -max_len=65536 "$work"
fi
