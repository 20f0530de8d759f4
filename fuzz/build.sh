#!/bin/sh
# Builds the libFuzzer targets (http_msg, http_query, http_cookie, sip_msg, sip_auth, sdp,
# backup, vpn, state, rtp, audio, engine_sdp, sip_dtmf, sip_refer, sip_dialled, mail, pbx_number, stun, sip_locate, sbc_dns, nat) with clang into build/fuzz/ and runs them, each on a copy of its seed
# corpus in build/fuzz/corpus-<target> (fuzzing never writes into fuzz/corpus):
#   fuzz/build.sh                      build every target
#   fuzz/build.sh http_msg 300         build, then fuzz http_msg for 5 minutes
#   fuzz/build.sh --check [seconds]    build, then fuzz every target for seconds (default
#                                      $ZENTRALE_FUZZ_SECONDS, else 10), two at a time; one
#                                      line per target in build/fuzz/results
#                                      ("<target> ok|FAIL <runs> <seconds>"), exit 1 on a
#                                      finding (a crash, leak, timeout or sanitizer report:
#                                      the input is kept in build/fuzz/findings-<target>/)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# into $ZENTRALE_FUZZ_BUILD/fuzz (a build folder, relative to the tree; default build)
case ${ZENTRALE_FUZZ_BUILD:-build} in
/*) OUT="$ZENTRALE_FUZZ_BUILD/fuzz" ;;
*) OUT="$ROOT/${ZENTRALE_FUZZ_BUILD:-build}/fuzz" ;;
esac
TARGETS="http_msg http_query http_cookie sip_msg sip_auth sdp backup vpn state rtp audio engine_sdp sip_dtmf sip_refer sip_dialled mail pbx_number pbx_inbound stun sip_locate sbc_dns nat"
mkdir -p "$OUT"
LL=/usr/share/llhttp
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I/usr/share/include/llhttp"

# The targets build in two halves side by side (2 cores); a failed compile
# ends its half and the script.
(
clang $CFLAGS -w -c $LL/api.c -o "$OUT/llhttp_api.o"
clang $CFLAGS -w -c $LL/http.c -o "$OUT/llhttp_http.o"
clang $CFLAGS -w -c $LL/llhttp.c -o "$OUT/llhttp_llhttp.o"
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_http_msg" "$ROOT/fuzz/fuzz_http_msg.c" \
	"$ROOT/src/http/http_msg.c" "$OUT"/llhttp_*.o
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_http_query" "$ROOT/fuzz/fuzz_http_query.c" \
	"$ROOT/src/http/http_msg.c" "$OUT"/llhttp_*.o
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_http_cookie" "$ROOT/fuzz/fuzz_http_cookie.c" \
	"$ROOT/src/http/http_msg.c" "$OUT"/llhttp_*.o
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_sip_msg" "$ROOT/fuzz/fuzz_sip_msg.c" \
	"$ROOT/src/sip/sip_msg.c" "$ROOT/src/sip/sip_hdr.c" "$ROOT/src/sip/sip_dialog.c"
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_sip_auth" "$ROOT/fuzz/fuzz_sip_auth.c" \
	"$ROOT/src/sip/sip_auth.c" "$ROOT/src/sip/sip_msg.c" -lsodium -lcrypto
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_sdp" "$ROOT/fuzz/fuzz_sdp.c" \
	"$ROOT/src/sdp/sdp.c" "$ROOT/src/sdp/sdp_codecs.c" "$ROOT/src/sip/sip_msg.c" \
	"$ROOT/src/media/media_srtp.c" -lsodium -lsrtp2

clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_backup" "$ROOT/fuzz/fuzz_backup.c" \
	"$ROOT/src/backup/backup_archive.c" "$ROOT/src/backup/backup_crypt.c" \
	-larchive -lsodium -ljansson -lsqlite3
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_vpn" "$ROOT/fuzz/fuzz_vpn.c" \
	"$ROOT/src/vpn/vpn_config.c" -ljansson
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_state" "$ROOT/fuzz/fuzz_state.c" \
	"$ROOT/src/core/core_state.c" "$ROOT/src/core/core_nat.c" -ljansson
# nat: the SBC's NAT settings as PUT /sbc/nat/IFACE takes them (core_nat)
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_nat" "$ROOT/fuzz/fuzz_nat.c" \
	"$ROOT/src/core/core_nat.c" -ljansson
# sip_dialled: the keys in a Request-URI's user part (pbx feature codes)
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_sip_dialled" "$ROOT/fuzz/fuzz_sip_dialled.c" \
	"$ROOT/src/sip/sip_dialled.c"
# sip_locate: RFC 3263 server location (target parsing, NAPTR and SRV ordering)
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_sip_locate" "$ROOT/fuzz/fuzz_sip_locate.c" \
	"$ROOT/src/sip/sip_locate.c"
# pbx_number: dialled/received numbers to E.164 and back (outbound/inbound calls)
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_pbx_number" "$ROOT/fuzz/fuzz_pbx_number.c" \
	"$ROOT/src/pbx/pbx_number.c" -ljansson -lsqlite3
# pbx_inbound: what a block of inbound numbers holds and what overlaps
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_pbx_inbound" "$ROOT/fuzz/fuzz_pbx_inbound.c" \
	"$ROOT/src/pbx/pbx_inbound.c" "$ROOT/src/pbx/pbx_number.c" "$ROOT/src/core/core_db.c" \
	"$ROOT/src/core/core_log.c" -ljansson -lsqlite3
# stun: answers to Binding requests (RFC 5389), the requests built
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_stun" "$ROOT/fuzz/fuzz_stun.c" \
	"$ROOT/src/stun/stun.c"
) &
half1=$!
(
# sip_refer: Refer-To and Replaces (pbx_call's transfers and pickup)
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_sip_refer" "$ROOT/fuzz/fuzz_sip_refer.c" \
	"$ROOT/src/sip/sip_refer.c" "$ROOT/src/sip/sip_hdr.c" "$ROOT/src/sip/sip_msg.c"
# sip_dtmf: DTMF in INFO bodies and whether an offer holds (pbx_call)
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_sip_dtmf" "$ROOT/fuzz/fuzz_sip_dtmf.c" \
	"$ROOT/src/sip/sip_dtmf.c" "$ROOT/src/sdp/sdp_hold.c" "$ROOT/src/sdp/sdp.c" \
	"$ROOT/src/sip/sip_msg.c"
# rtp: also the codecs (spandsp, libopus) and the in-band DTMF detector
RTP_LIBS="spandsp opus speexdsp"
# shellcheck disable=SC2046,SC2086
clang $CFLAGS -Wall -Wextra -Werror $(pkg-config --cflags $RTP_LIBS) -o "$OUT/fuzz_rtp" \
	"$ROOT/fuzz/fuzz_rtp.c" "$ROOT/src/media/media_rtp.c" "$ROOT/src/media/media_jb.c" \
	"$ROOT/src/sbc/sbc_dtmf.c" \
	"$ROOT/src/media/media_codec.c" "$ROOT/src/media/media_dsp.c" $(pkg-config --libs $RTP_LIBS) -lm
# audio: the decoding libraries are Debian's (not instrumented); an input
# decodes at most 30 s of audio
AUDIO_LIBS="sndfile speexdsp spandsp ogg vorbis"
# shellcheck disable=SC2046,SC2086
clang $CFLAGS -Wall -Wextra -Werror -DMEDIA_AUDIO_MAX_SECONDS=30 $(pkg-config --cflags $AUDIO_LIBS) \
	-o "$OUT/fuzz_audio" "$ROOT/fuzz/fuzz_audio.c" "$ROOT/src/media/media_audio.c" \
	"$ROOT/src/media/media_dsp.c" $(pkg-config --libs $AUDIO_LIBS) -lm
# engine_sdp: the media engine's offer/answer (binds a port pair per input)
ENGINE_LIBS="libevent_core spandsp opus speexdsp libsodium jansson"
# shellcheck disable=SC2046,SC2086
clang $CFLAGS -Wall -Wextra -Werror $(pkg-config --cflags $ENGINE_LIBS) \
	-o "$OUT/fuzz_engine_sdp" "$ROOT/fuzz/fuzz_engine_sdp.c" "$ROOT/src/pbx/pbx_media.c" \
	"$ROOT/src/media/media_codec.c" "$ROOT/src/media/media_dsp.c" \
	"$ROOT/src/media/media_jb.c" "$ROOT/src/media/media_rtp.c" "$ROOT/src/sdp/sdp.c" \
	"$ROOT/src/sip/sip_msg.c" "$ROOT/src/core/core_log.c" "$ROOT/src/core/core_net.c" \
	$(pkg-config --libs $ENGINE_LIBS) -lm
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_mail" "$ROOT/fuzz/fuzz_mail.c" \
	"$ROOT/src/pbx/pbx_mail_msg.c" -lsodium
# sbc_dns: a DNS server's reply (answer TTLs; NAPTR/SRV by c-ares into sip_locate)
clang $CFLAGS -Wall -Wextra -Werror -o "$OUT/fuzz_sbc_dns" "$ROOT/fuzz/fuzz_sbc_dns.c" \
	"$ROOT/src/sbc/sbc_dns.c" "$ROOT/src/sip/sip_locate.c" "$ROOT/src/core/core_log.c" \
	-lcares -levent_core -lsodium

) &
half2=$!
rc=0
wait $half1 || rc=$?
wait $half2 || rc=$?
[ $rc -eq 0 ] || exit $rc
# Fuzzes target $1 for $2 seconds on its working corpus; its output goes to
# $OUT/fuzz-$1.log, its line to $OUT/result-$1.
run_target() {
	target=$1
	secs=$2
	work="$OUT/corpus-$target"
	found="$OUT/findings-$target"
	rm -rf "$found" # what an earlier run found is in its log; this run is judged alone
	mkdir -p "$work" "$found"
	cp -n "$ROOT/fuzz/corpus/$target"/* "$work"/ 2>/dev/null || true
	# the SIP target also starts from the RFC 4475 torture messages
	if [ "$target" = sip_msg ]; then
		for f in "$ROOT"/tests/unit/rfc4475/*/*.sip; do
			cp -n "$f" "$work/$(basename "$(dirname "$f")")-$(basename "$f")"
		done
	fi
	# a sanitizer report ends the run as a finding (not just a printed warning)
	rc=0
	ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
		"$OUT/fuzz_$target" -max_total_time="$secs" -max_len=65536 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$found/" "$work" \
		>"$OUT/fuzz-$target.log" 2>&1 || rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 \2/p' "$OUT/fuzz-$target.log")
	if [ $rc -eq 0 ] && [ -n "$runs" ] && [ -z "$(ls -A "$found")" ]; then
		echo "$target ok $runs" >"$OUT/result-$target"
	else
		echo "$target FAIL ${runs:-0 0} (exit $rc; see $OUT/fuzz-$target.log)" \
			>"$OUT/result-$target"
	fi
}

if [ "${1:-}" = --check ]; then
	secs=${2:-${ZENTRALE_FUZZ_SECONDS:-10}}
	rm -f "$OUT"/result-* "$OUT/results"
	set -- $TARGETS
	while [ $# -gt 0 ]; do # two at a time (2 cores)
		run_target "$1" "$secs" &
		first=$!
		if [ $# -gt 1 ]; then
			run_target "$2" "$secs" &
			wait $!
			shift
		fi
		wait $first
		shift
	done
	for t in $TARGETS; do
		cat "$OUT/result-$t" 2>/dev/null || echo "$t FAIL 0 0 (did not run)"
	done >"$OUT/results"
	for t in $TARGETS; do # what a finding looked like, for CI's log
		if grep -q "^$t FAIL" "$OUT/results"; then
			echo "--- fuzz_$t:"
			tail -n 40 "$OUT/fuzz-$t.log" 2>/dev/null
		fi
	done
	cat "$OUT/results"
	! grep -q FAIL "$OUT/results"
elif [ $# -ge 1 ]; then
	run_target "$1" "${2:-60}"
	tail -n 30 "$OUT/fuzz-$1.log"
	cat "$OUT/result-$1"
	! grep -q FAIL "$OUT/result-$1"
fi
