#!/usr/bin/env bash
# `make doc`: builds the documentation of every crate and fails on any rustdoc warning but
# one kind: an "unresolved link" whose target is course notation, i.e. the l of W[l], the L
# of A[L], the 0 of X[0] (the crates allow that lint; here it is forced on so that a broken
# [`Name`] link still fails).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
RUSTDOCFLAGS="--force-warn rustdoc::broken-intra-doc-links" cargo doc --workspace --no-deps 2>&1 | tee "$log" >/dev/null
notation='^warning: unresolved link to `([A-Za-z]|[0-9]+|layer|[0-9],[0-9])`$'
bad=$(grep -E '^(warning|error)' "$log" | grep -Ev "$notation" | grep -Ev '^warning: `[a-z_]+` \((lib|bin "[a-z_]+") doc\) generated [0-9]+ warnings?' || true)
if [ -n "$bad" ]; then
    echo "doc: rustdoc warnings other than course notation:" >&2
    grep -E -A8 "$(printf '%s\n' "$bad" | head -1 | sed 's/[][\.*^$`]/\\&/g')" "$log" >&2 || true
    printf '%s\n' "$bad" >&2
    exit 1
fi
echo "doc: $(grep -cE "$notation" "$log") notation brackets ignored, no other rustdoc warning"
