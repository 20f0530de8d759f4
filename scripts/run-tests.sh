#!/bin/sh
# Runs every test against the build in $1 (default build): the cmocka unit
# tests through Meson, then the end-to-end tests with Debian's pytest, and
# prints one closing line "N passed, N failed". Exits non-zero on any
# failure, or when no test ran at all.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# Sanitizer reports end a process with an error; leaks are reported at exit.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export ZENTRALE_BIN="$ROOT/$BUILD/zentrale"

meson test -C "$BUILD" --print-errorlogs
# Debian's interpreter and pytest, never a pyenv one on PATH.
/usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$BUILD/e2e-junit.xml" tests/e2e

/usr/bin/python3 - "$BUILD" <<'PY'
import json, sys, xml.etree.ElementTree as ET
build = sys.argv[1]
passed = failed = 0
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
