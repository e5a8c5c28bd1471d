/* cmd_rank — `beatbench rank`: train and evaluate a ranking model (DESIGN §10).
 *
 *   beatbench rank --data DIR --model pop|mf|lightgcn [--epochs --dim --layers --lr --reg
 *       --batch --eval-every --patience --topk 10,20,50 --mask train|train+valid
 *       --reg-on final|ego --seed --threads --out RUNDIR --json]
 *
 * The protocol, legal inputs and the run directory are described in baselines/rank_run.h.
 * Usage errors (unknown model, K <= 0, batch 0, any option out of range) exit 2; data
 * errors (dataset problems, an empty valid or test split, ...) exit 1 with one line; in
 * both cases no run directory is left behind. `--json` prints one object on stdout with model,
 * epochs_run, best_epoch, seconds_per_epoch, eval_seconds, peak_rss_mb and the valid/test
 * metrics recall@K precision@K ndcg@K mrr@K hit@K hr_micro@K; human text goes to stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "baselines/rank_run.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "models/base/bb_time.h"

static void print_split_json(FILE *out, const bb_rank_result *r) {
    fputc('{', out);
    int first = 1;
    for (int ki = 0; ki < r->n_ks; ki++) {
        for (int m = 0; m <= BB_RANK_N_METRICS; m++) {
            const char *name = m < BB_RANK_N_METRICS ? bb_rank_metric_name(m) : "hr_micro";
            double v = m < BB_RANK_N_METRICS ? r->mean[ki][m] : r->hr_micro[ki];
            fprintf(out, "%s\"%s@%d\": ", first ? "" : ", ", name, r->ks[ki]);
            bb_json_number(out, v);
            first = 0;
        }
    }
    fputc('}', out);
}

static void print_json(FILE *out, const rank_run_result *res) {
    fprintf(out, "{\"model\": ");
    bb_json_string(out, rank_model_name(res->model));
    fprintf(out, ", \"epochs_run\": %d, \"best_epoch\": %d, \"seconds_per_epoch\": ",
            res->epochs_run, res->best_epoch);
    bb_json_number(out, res->seconds_per_epoch);
    fprintf(out, ", \"eval_seconds\": ");
    bb_json_number(out, res->eval_seconds);
    fprintf(out, ", \"peak_rss_mb\": ");
    bb_json_number(out, res->peak_rss_mb);
    fprintf(out, ", \"valid\": ");
    print_split_json(out, &res->valid);
    fprintf(out, ", \"test\": ");
    print_split_json(out, &res->test);
    fprintf(out, "}\n");
}

static void print_summary(FILE *out, const rank_run_config *c, const rank_run_result *res) {
    fprintf(out, "%s: %d epoch(s), best %d, %.3f s/epoch, test pass %.3f s, peak RSS %.0f MB\n",
            rank_model_name(res->model), res->epochs_run, res->best_epoch,
            res->seconds_per_epoch, res->eval_seconds, res->peak_rss_mb);
    for (int s = 0; s < 2; s++) {
        const bb_rank_result *r = s ? &res->test : &res->valid;
        for (int ki = 0; ki < r->n_ks; ki++)
            fprintf(out, "  %-5s @%-3d recall %.4f  precision %.4f  ndcg %.4f  mrr %.4f  hit %.4f  "
                         "hr_micro %.4f\n",
                    s ? "test" : "valid", r->ks[ki], r->mean[ki][BB_RANK_RECALL],
                    r->mean[ki][BB_RANK_PRECISION], r->mean[ki][BB_RANK_NDCG],
                    r->mean[ki][BB_RANK_MRR], r->mean[ki][BB_RANK_HIT], r->hr_micro[ki]);
    }
    if (c->out_dir) fprintf(out, "run directory: %s\n", c->out_dir);
}

int bb_cmd_rank(int argc, char **argv) {
    rank_run_config c;
    rank_run_config_default(&c);
    c.threads = bb_num_cores();
    c.version = BB_VERSION;
    const char *model = NULL, *topk = "10,20,50", *mask = "train", *reg_on = "final";
    int json = 0;
    const bb_opt opts[] = {
        {"--data", BB_OPT_STR, &c.data_dir, "DIR", "dataset directory (train/valid/test.csv)"},
        {"--model", BB_OPT_STR, &model, "NAME", "pop | mf | lightgcn"},
        {"--epochs", BB_OPT_INT, &c.epochs, "N", "maximum training epochs (default 100)"},
        {"--dim", BB_OPT_INT, &c.dim, "D", "embedding width (default 64)"},
        {"--layers", BB_OPT_INT, &c.layers, "L", "LightGCN layers (default 2)"},
        {"--lr", BB_OPT_DOUBLE, &c.lr, "X", "Adam learning rate (default 1e-3)"},
        {"--reg", BB_OPT_DOUBLE, &c.reg, "X", "L2 weight lambda (default 1e-4)"},
        {"--batch", BB_OPT_INT, &c.batch, "B", "training pairs per batch (default 2048)"},
        {"--eval-every", BB_OPT_INT, &c.eval_every, "N", "validate every N epochs (default 1)"},
        {"--patience", BB_OPT_INT, &c.patience, "N",
         "stop after N validations without gain in recall@20 (default 5)"},
        {"--topk", BB_OPT_STR, &topk, "K,K,..", "cut-offs (default 10,20,50)"},
        {"--mask", BB_OPT_STR, &mask, "WHICH",
         "items removed from the test ranking: train (default, SELFRec) | train+valid"},
        {"--reg-on", BB_OPT_STR, &reg_on, "WHICH",
         "L2 on final (default, propagated) or ego (layer-0) embeddings"},
        {"--seed", BB_OPT_U64, &c.seed, "S", "random seed (default 0)"},
        {"--threads", BB_OPT_INT, &c.threads, "N", "worker threads (default: all cores)"},
        {"--out", BB_OPT_STR, &c.out_dir, "RUNDIR", "write the run directory here"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print results as one JSON object on stdout"},
        {0},
    };
    const bb_cmd_spec spec = {"rank", "--data DIR --model pop|mf|lightgcn [options]",
                              "Train and evaluate a ranking model with full ranking over all "
                              "items (Pop, MF-BPR, LightGCN-BPR).",
                              0, 0, NULL};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc == -1) return BB_EXIT_OK;
    if (rc != BB_EXIT_OK) return rc;
    if (!c.data_dir) return bb_cli_usage("rank", "--data DIR is required");
    if (!model) return bb_cli_usage("rank", "--model is required (pop, mf or lightgcn)");
    if (rank_model_parse(model, &c.model) != BB_OK)
        return bb_cli_usage("rank", "unknown model \"%s\" (expected pop, mf or lightgcn)", model);
    if (bb_parse_int_list(topk, c.ks, BB_RANK_MAX_KS, &c.n_ks) != BB_OK)
        return bb_cli_usage("rank",
                            "--topk: expected up to %d positive integers separated by commas, "
                            "got \"%s\"",
                            BB_RANK_MAX_KS, topk);
    if (strcmp(mask, "train") == 0)
        c.mask = RANK_MASK_TRAIN;
    else if (strcmp(mask, "train+valid") == 0)
        c.mask = RANK_MASK_TRAIN_VALID;
    else
        return bb_cli_usage("rank", "--mask: expected train or train+valid, got \"%s\"", mask);
    if (strcmp(reg_on, "final") == 0)
        c.reg_on = BPR_REG_FINAL;
    else if (strcmp(reg_on, "ego") == 0)
        c.reg_on = BPR_REG_EGO;
    else
        return bb_cli_usage("rank", "--reg-on: expected final or ego, got \"%s\"", reg_on);
    if (c.threads < 1) return bb_cli_usage("rank", "--threads must be at least 1, got %d", c.threads);
    bb_error err;
    bb_error_clear(&err);
    if (rank_run_check_config(&c, &err) != BB_OK) return bb_cli_usage("rank", "%s", err.msg);

    rank_run_result res;
    if (rank_run_execute(&c, &res, &err) != BB_OK) return bb_cli_fail(&err);
    print_summary(stderr, &c, &res);
    if (json) print_json(stdout, &res);
    rank_run_result_free(&res);
    return BB_EXIT_OK;
}
