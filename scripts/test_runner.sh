#!/usr/bin/env bash
# Prove that scripts/run_notebooks.py catches failures (`make test-runner`):
# runs it on each fixture in tests/notebook_fixtures/ and checks that
#   ok.ipynb passes, panics.ipynb fails (with the panic message), compile_error.ipynb fails
#   (with rustc's error), exercise_retry.ipynb shows a grader's reports in a learner's order
#   (not implemented, a hint, passed, a caught panic); then scripts/test_kernels.py proves that
#   the kernel launcher reuses a slot, picks up an edited path crate at the next start, and
#   gives two live kernels two slots, and that an interrupt stops a running cell and leaves
#   the kernel running. Needs `make setup`.
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

# A learner's session with an exercise grader: the reports must be, in order, not implemented,
# the hint of the wrong try, passed, and the panic, and the last cell must still run.
check exercise_retry.ipynb pass "fixture: 1 passed, 0 failed"
retry="$log_dir/out/exercise_retry.ipynb"
if [ -f "$retry" ] && "$PY" - "$retry" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
text = "\n".join(
    "".join(o.get("text", "") if "text" in o else o.get("data", {}).get("text/plain", ""))
    for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
)
wanted = ["○ linear_forward: not implemented yet", "✗ linear_forward, case 1", "The bias is missing",
          "✓ linear_forward: 5/5 cases", "your function panicked: oops 1", "still running"]
at = [text.find(w) for w in wanted]
missing = [w for w, i in zip(wanted, at) if i < 0]
if missing or at != sorted(at):
    print("    exercise_retry: reports missing or out of order:", missing or at)
    sys.exit(1)
print("    exercise_retry: not implemented -> hint -> passed -> panic caught -> the notebook went on")
PY
then
    passed=$((passed + 1))
else
    echo "--- fixture exercise_retry.ipynb: WRONG: the grader reports are not as expected"
    failed=$((failed + 1))
fi

echo "--- kernel launcher (scripts/test_kernels.py)"
if "$PY" scripts/test_kernels.py; then
    passed=$((passed + 1))
else
    echo "--- kernel launcher: WRONG"
    failed=$((failed + 1))
fi

echo "runner-fixtures: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
