#!/usr/bin/env bash
# `make regress` / `make golden`: run every CI sweep config (harness/configs/ci/*.json and
# harness/configs/sweeps/ci-*.json; configs reading ../shared/datasets only where that exists)
# from scratch, then compare each results.csv with results/golden/NAME.csv under the
# tolerances written there (`beatbench compare`), or rewrite the golden files (golden).
#
# Every run starts from an empty cache so an artifact made by older code cannot pass the
# gate. OpenBLAS is pinned to one kernel family (Haswell: AVX2, present on every x86-64-v3
# machine) so float32 training takes the same path on AVX2 and AVX-512 machines; the thread
# count of every cell is fixed by the config ("threads": 2).
set -uo pipefail
mode=${1:?usage: regress.sh regress|golden BEATBENCH}
bin=${2:?usage: regress.sh regress|golden BEATBENCH}
runs=results/runs/regress
export BB_CACHE_DIR="$runs/cache" OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1
rm -rf "$runs"
mkdir -p "$runs"
status=0
pairs=()
start=$(date +%s)
for cfg in harness/configs/ci/*.json harness/configs/sweeps/ci-*.json; do
    name=$(basename "$cfg" .json)
    [ "$name" = tolerances ] && continue
    if grep -q '\.\./shared/datasets' "$cfg" && [ ! -d ../shared/datasets ]; then
        echo "regress: $name skipped (../shared/datasets is absent)"
        continue
    fi
    t0=$(date +%s)
    if ! "$bin" sweep --config "$cfg" --out "$runs/$name" --quiet; then
        echo "regress: the $name sweep failed (see $runs/$name)" >&2
        status=1
        continue
    fi
    echo "regress: $name swept in $(($(date +%s) - t0)) s"
    pairs+=(--results "$runs/$name/results.csv" --golden "results/golden/$name.csv")
done
if [ ${#pairs[@]} -gt 0 ]; then
    if [ "$mode" = golden ]; then
        "$bin" compare "${pairs[@]}" --write || status=1
    else
        "$bin" compare "${pairs[@]}" || status=1
    fi
fi
echo "regress: $mode $([ $status -eq 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
exit $status
