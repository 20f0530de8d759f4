#!/bin/sh
# Runs every test against the build in $1 (default build): the format check
# (clang-format would change no tracked *.c/*.h file), the cmocka unit tests
# through Meson, every fuzz target for a short time on a copy of its corpus
# (fuzz/build.sh --check; ZENTRALE_FUZZ_SECONDS each, default 10, two at a
# time), then the end-to-end tests with Debian's pytest, and prints one
# closing line "N passed, N failed" (the format check and each fuzz target
# count as one test). Exits non-zero on any failure, or when no test ran at
# all.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# Sanitizer reports end a process with an error; leaks are reported at exit.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export ZENTRALE_BIN="$ROOT/$BUILD/zentrale"

# One line per check that is neither Meson's nor pytest's: "<name> ok|FAIL ...".
CHECKS="$BUILD/checks.txt"
: >"$CHECKS"

# The tree as clang-format (.clang-format) writes it: a file it would change
# fails. The tracked files; outside a git checkout, those of the source folders.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	sources=$(git ls-files '*.c' '*.h')
else
	sources=$(find src tests fuzz bench -name '*.[ch]' 2>/dev/null)
fi
# shellcheck disable=SC2086
if [ -n "$sources" ] && clang-format --dry-run -Werror $sources; then
	echo "format ok" >>"$CHECKS"
else
	echo "format FAIL: clang-format -i the files named above" >>"$CHECKS"
fi

meson test -C "$BUILD" --print-errorlogs

# Every fuzz target on its seed corpus; a finding (crash, leak, timeout,
# sanitizer report) fails its target. Fuzzing writes only into $BUILD/fuzz.
# 10 s each: replaying the corpus (every seed, a regression's input among
# them) takes under a second (backup's ~8 s); the rest is new mutations,
# which longer runs (fuzz/build.sh <target> <seconds>) are for.
rm -f "$BUILD/fuzz/results"
# Meanwhile (fuzzing runs for a fixed time, whatever CPU it gets) the release
# build test_update bundles as its newer version (`make bundle`, NEW there)
# compiles, so that its `make bundle` only signs; were the version another,
# it would just build again there.
(test -f build-release/build.ninja || meson setup build-release --buildtype=release &&
	meson configure build-release -Dversion=0.1.1 && ninja -C build-release -j 2) \
	>"$BUILD/release-build.log" 2>&1 &
release=$!
ZENTRALE_FUZZ_BUILD="$BUILD" ./fuzz/build.sh --check "${ZENTRALE_FUZZ_SECONDS:-10}"
wait $release || echo "the release build failed (test_update tries again): $BUILD/release-build.log"
if [ -s "$BUILD/fuzz/results" ]; then
	sed 's/^/fuzz_/' "$BUILD/fuzz/results" >>"$CHECKS"
else
	echo "fuzz FAIL: the targets did not build" >>"$CHECKS"
fi
# Debian's interpreter and pytest, never a pyenv one on PATH; the test files
# spread over ZENTRALE_TEST_WORKERS pytest-xdist workers (2, the machine's
# cores; 1 runs them in this process), each file's tests in one worker
# (their module fixtures are shared), each worker with its own port offsets.
workers=${ZENTRALE_TEST_WORKERS:-2}
if [ "$workers" -gt 1 ]; then
	parallel="-n $workers --dist loadfile"
else
	parallel=""
fi
# shellcheck disable=SC2086
/usr/bin/python3 -m pytest -q -p no:cacheprovider $parallel --junitxml="$BUILD/e2e-junit.xml" tests/e2e

/usr/bin/python3 - "$BUILD" <<'PY'
import json, sys, xml.etree.ElementTree as ET
build = sys.argv[1]
passed = failed = 0
with open(f"{build}/checks.txt") as f:
    for line in f:
        name, _, rest = line.partition(" ")
        if rest.startswith("ok"):
            passed += 1
        else:
            failed += 1
            print(f"failed: {line.strip()}")
with open(f"{build}/meson-logs/testlog.json") as f:
    for line in f:
        if line.strip():
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL", "SKIP"):
                passed += r != "SKIP"
            else:
                failed += 1
try:
    root = ET.parse(f"{build}/e2e-junit.xml").getroot()
    for s in root.iter("testsuite"):
        t, f_, e, sk = (int(s.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
        passed += t - f_ - e - sk
        failed += f_ + e
except (OSError, ET.ParseError):
    print("end-to-end tests produced no report")
    failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
PY
