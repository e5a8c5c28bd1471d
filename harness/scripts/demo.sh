#!/usr/bin/env bash
# `make demo`: the main job on the embedded synthetic dataset.
#   synthetic data with planted truth -> statistics -> zero-shot split of the explained pairs
#   -> ranking baselines (Pop, MF-BPR, LightGCN) -> a Markdown table of test metrics.
# Everything lands in demo-out/ (git-ignored); rerunning starts afresh.
set -euo pipefail
bin=${1:-build/beatbench}
out=${DEMO_OUT:-demo-out}
seed=${SEED:-1}
rm -rf "$out"
mkdir -p "$out"

step() { printf '\n== %s\n' "$*" >&2; }

step "synthetic dataset (planted groups and aspects)"
"$bin" data synth --out "$out/data" --seed "$seed"

step "dataset statistics"
"$bin" data stats "$out/data"

step "zero-shot split of the explained pairs (10% of explained users held out)"
"$bin" data split "$out/data" --zero-shot-users 0.1 --seed "$seed" --out "$out/split.csv"

step "ranking baselines: full ranking over all items, training items masked"
for model in pop mf lightgcn; do
    epochs=20
    [ "$model" = pop ] && epochs=1
    "$bin" rank --data "$out/data" --model "$model" --epochs "$epochs" --seed "$seed" \
        --out "$out/runs/rank-$model" --json > "$out/runs-rank-$model.json"
done

table="$out/ranking.md"
{
    echo "| model | best epoch | Recall@20 | NDCG@20 | Hit@20 | HR-micro@20 | s/epoch |"
    echo "|---|---|---|---|---|---|---|"
    for model in pop mf lightgcn; do
        # test metrics at the selected (best valid) epoch, from the run's metrics.csv
        awk -F, -v m="$model" '
            $2 == "test" && $4 == 20 { v[$3] = $5; e = $1 }
            END { printf "| %s | %s | %.4f | %.4f | %.4f | %.4f |", m, e, v["recall"], v["ndcg"], v["hit"], v["hr_micro"] }' \
            "$out/runs/rank-$model/metrics.csv"
        sed -n 's/.*"seconds_per_epoch": *\([0-9.eE+-]*\).*/\1/p' "$out/runs-rank-$model.json" |
            awk '{ printf " %.3f |\n", $1 }'
    done
} > "$table"
step "test metrics at the best validation epoch ($table)"
cat "$table"
echo
echo "demo finished: outputs in $out/" >&2
