#!/usr/bin/env bash
# Prove that scripts/run_notebooks.py catches failures (`make test-runner`):
# runs it on each fixture in tests/notebook_fixtures/ and checks that
#   ok.ipynb passes, panics.ipynb fails (with the panic message), compile_error.ipynb fails
#   (with rustc's error); then scripts/test_kernels.py proves that the kernel launcher reuses a
#   slot, picks up an edited path crate at the next start, and gives two live kernels two
#   slots. Needs `make setup`.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
PY="$ROOT/.venv/bin/python"
FIX="tests/notebook_fixtures"
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT

passed=0
failed=0
# check NAME EXPECTED_STATUS(pass|fail) [TEXT that the output must contain ...]
check() {
    local name="$1" expect="$2" log="$log_dir/$1.log" rc needle
    shift 2
    echo "--- fixture $name (expected to $expect)"
    "$PY" scripts/run_notebooks.py --label "fixture" --output-dir "$log_dir/out" "$FIX/$name" >"$log" 2>&1
    rc=$?
    sed 's/^/    /' "$log"
    local why=""
    if [ "$expect" = pass ] && [ "$rc" -ne 0 ]; then why="exit status $rc, expected 0"; fi
    if [ "$expect" = fail ] && [ "$rc" -ne 1 ]; then why="exit status $rc, expected 1 (notebook failed)"; fi
    for needle in "$@"; do
        if [ -z "$why" ] && ! grep -qF -- "$needle" "$log"; then
            why="output does not contain '$needle'"
        fi
    done
    if [ -z "$why" ]; then
        echo "--- fixture $name: OK ($expect as expected)"
        passed=$((passed + 1))
    else
        echo "--- fixture $name: WRONG: $why"
        failed=$((failed + 1))
    fi
}

check ok.ipynb pass "fixture: 1 passed, 0 failed"
# "| deliberate" is the panic message in the failing cell's stderr (not its source line).
check panics.ipynb fail "failing cell: #2" "panicked at" "| deliberate"
check compile_error.ipynb fail "failing cell: #2" "[E0308]" "mismatched types"

echo "--- kernel launcher (scripts/test_kernels.py)"
if "$PY" scripts/test_kernels.py; then
    passed=$((passed + 1))
else
    echo "--- kernel launcher: WRONG"
    failed=$((failed + 1))
fi

echo "runner-fixtures: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
