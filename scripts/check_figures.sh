#!/usr/bin/env bash
# Check of the figures written by `cargo run -p ann_plot --example figures -- --out DIR`
# (`make test-figures`): DIR holds at least one figure, and every .png/.svg/.gif in it is a
# non-empty file of that format; with a second argument EXPECTED_DIR (the committed
# visualizations/), DIR must hold exactly the figure files EXPECTED_DIR holds, each byte for
# byte the same (every figure comes from a seeded run, so any change is a real change:
# regenerate with `make figures` and look at it).
set -euo pipefail
dir="${1:?usage: scripts/check_figures.sh DIR [EXPECTED_DIR]}"
expected="${2:-}"
[ -d "$dir" ] || { echo "check_figures: $dir is not a directory" >&2; exit 1; }
shopt -s nullglob nocaseglob
files=("$dir"/*.png "$dir"/*.svg "$dir"/*.gif)
[ "${#files[@]}" -gt 0 ] || { echo "check_figures: no .png/.svg/.gif in $dir" >&2; exit 1; }
bad=0
for f in "${files[@]}"; do
    if [ ! -s "$f" ]; then echo "check_figures: $f is empty" >&2; bad=$((bad + 1)); continue; fi
    case "${f,,}" in
        *.png) head -c 8 "$f" | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a$' || { echo "check_figures: $f is not a PNG" >&2; bad=$((bad + 1)); } ;;
        *.gif) head -c 4 "$f" | grep -q 'GIF8' || { echo "check_figures: $f is not a GIF" >&2; bad=$((bad + 1)); } ;;
        *.svg) grep -q '<svg' "$f" || { echo "check_figures: $f has no <svg element" >&2; bad=$((bad + 1)); } ;;
    esac
done
if [ -n "$expected" ]; then
    list() { (cd "$1" && ls -1 | grep -Ei '\.(png|svg|gif)$' | sort); }
    missing=$(comm -13 <(list "$dir") <(list "$expected"))
    extra=$(comm -23 <(list "$dir") <(list "$expected"))
    if [ -n "$missing" ]; then echo "check_figures: not written (but committed in $expected):" $missing >&2; bad=$((bad + 1)); fi
    if [ -n "$extra" ]; then echo "check_figures: written but not committed in $expected:" $extra >&2; bad=$((bad + 1)); fi
    for f in $(comm -12 <(list "$dir") <(list "$expected")); do
        if ! cmp -s "$dir/$f" "$expected/$f"; then
            echo "check_figures: $f differs from $expected/$f ($(stat -c %s "$dir/$f") vs $(stat -c %s "$expected/$f") bytes)" >&2
            bad=$((bad + 1))
        fi
    done
fi
echo "figures: $(( ${#files[@]} - bad )) passed, $bad failed"
[ "$bad" -eq 0 ]
