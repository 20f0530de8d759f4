#!/bin/sh
# includes.sh — which folder of src/ includes which, from the sources.
#
# Prints one edge "from -> to" per pair of folders (src/main.c is "main",
# the dispatcher above every role), then every edge that breaks the layout
# (docs/architecture.md, "Layout"): a process role including another role's
# folder, or a library including a role. Folder-level loops are reported
# too (tsort). Exits 1 if there is any, 2 if a folder is neither a role nor
# a library below (a new folder must be placed first).
#
# Usage: scripts/includes.sh [SRC_DIR]   (default: src/ next to this script)
set -eu

src=${1:-$(dirname "$0")/../src}

# Process roles: one folder per kind of process the supervisor runs.
roles="supervisor mgmt sbc pbx ssh"
# Libraries: used by roles, never knowing which one.
libs="core sip sdp http media stun backup vpn ui cli store sshkeys"

is_in() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }

edges=$(
	cd "$src"
	# #include "../X/..." in a folder; "X/..." in src/main.c.
	grep -rHo '^[[:space:]]*#[[:space:]]*include[[:space:]]*"\.\./[a-z0-9_]*/' \
		--include='*.c' --include='*.h' . |
		sed -n 's|^\./\([a-z0-9_]*\)/[^:]*:.*"\.\./\([a-z0-9_]*\)/$|\1 \2|p'
	grep -Ho '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z0-9_]*/' ./*.c 2>/dev/null |
		sed -n 's|^.*"\([a-z0-9_]*\)/$|main \1|p'
)
edges=$(printf '%s\n' "$edges" | awk '$1 != $2' | sort -u)

status=0
unknown=$(for d in "$src"/*/; do
	d=$(basename "$d")
	is_in "$d" "$roles $libs" || echo "$d"
done)

echo "# folder edges (from -> to)"
printf '%s\n' "$edges" | awk 'NF { print $1 " -> " $2 }'

echo "# roles: $roles"
echo "# libraries: $libs"
echo "# layout violations"
bad=$(printf '%s\n' "$edges" | while read -r from to; do
	[ -n "$from" ] || continue
	[ "$from" = main ] && continue
	if is_in "$from" "$roles" && is_in "$to" "$roles"; then
		echo "$from -> $to: a process includes another process's folder"
	elif is_in "$from" "$libs" && is_in "$to" "$roles"; then
		echo "$from -> $to: a library includes a process's folder"
	fi
done)
if [ -n "$bad" ]; then
	printf '%s\n' "$bad"
	status=1
else
	echo "none"
fi

echo "# folder loops"
loops=$(printf '%s\n' "$edges" | awk 'NF' | tsort 2>&1 >/dev/null || true)
if [ -n "$loops" ]; then
	printf '%s\n' "$loops"
	status=1
else
	echo "none"
fi

if [ -n "$unknown" ]; then
	for d in $unknown; do
		echo "src/$d: neither a role nor a library (add it to scripts/includes.sh)"
	done
	status=2
fi
exit $status
