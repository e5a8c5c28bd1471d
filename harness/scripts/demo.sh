#!/usr/bin/env bash
# `make demo`: the main job on the embedded synthetic dataset.
#   synthetic data with planted truth -> statistics -> zero-shot split of the explained pairs
#   -> ranking baselines (Pop, MF-BPR, LightGCN) -> a Markdown table of test metrics
#   -> a demo-sized frozen LM -> BEAT stage 1 -> BEAT and every explanation baseline through
#   `beatbench run` -> a Markdown table of text metrics on the zero-shot test pairs.
# Everything lands in demo-out/ (git-ignored; the artifact cache too); rerunning starts afresh.
# Sizes: harness/configs/run/demo*.json (about 5 minutes on 2 cores).
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

# ---------------------------------------------------------------------------------------------
# Explanations: one frozen LM, one split, one seed for every method.
export BB_CACHE_DIR="$out/cache"

step "frozen LM: BPE tokenizer + GPT-style decoder pretrained on the split's training text"
"$bin" lm pretrain --data "$out/data" --split "$out/split.csv" --seed "$seed" \
    --config harness/configs/run/demo_lm.json --out "$out/lm"

step "BEAT stage 1: behaviour tokens (macro + micro codebooks over the LightGCN graph)"
"$bin" beat tokenize --data "$out/data" --split "$out/split.csv" --lm "$out/lm" --seed "$seed" \
    --config harness/configs/run/demo_stage1.json --out "$out/runs/stage1"

methods="beat id-prompt xrec peter nrt retrieval"
for method in $methods; do
    step "explanations: $method (train on train pairs, early stop on valid, generate the test pairs)"
    tokens=()
    [ "$method" = beat ] && tokens=(--tokens "$out/runs/stage1")
    "$bin" run --data "$out/data" --method "$method" --split "$out/split.csv" --lm "$out/lm" \
        --seed "$seed" --config harness/configs/run/demo.json "${tokens[@]}" \
        --out "$out/runs/explain-$method" --json > "$out/runs-explain-$method.json"
done

# one metric from a one-line metrics object
metric() { sed -n "s/.*\"$2\": *\([0-9.eE+-]*\).*/\1/p" "$1"; }

table="$out/explanations.md"
{
    echo "| method | BLEU-4 | ROUGE-1 F | ROUGE-2 F | ROUGE-L F | BERTScore-style F | Distinct-2 | USR |"
    echo "|---|---|---|---|---|---|---|---|"
    for method in $methods; do
        m="$out/runs/explain-$method/metrics.json"
        printf '| %s' "$method"
        for key in bleu4 rouge1_f rouge2_f rougeL_f bertscore_f distinct2 usr; do
            metric "$m" "$key" | awk '{ printf " | %.4f", $1 }'
        done
        echo " |"
    done
} > "$table"
n_test=$(metric "$out/runs/explain-beat/metrics.json" n)
step "text metrics on the $n_test zero-shot test pairs ($table; BERTScore-style uses the frozen LM's token vectors)"
cat "$table"
echo
echo "demo finished: outputs in $out/" >&2
