/* cmd_beat — `beatbench beat tokenize | explain` (DESIGN §4-5, §10).
 *
 *   beat tokenize --data DIR --out RUNDIR [--lm DIR] [--split FILE] [--config FILE]
 *                 [--seed S] [--threads N] [--json] [--epochs N] [--batch B]
 *                 [--codebook-size K] [--token-len T] [--token-dim t] [--patience N]
 *                 [--select-on valid|test] [--set KEY=VALUE[,KEY=VALUE...]]
 *                 [--text-encoder lm|hash] [--text-dim D]
 *   beat explain  --data DIR --tokens RUNDIR --out RUNDIR [--lm DIR] [--config FILE]
 *                 [--seed S] [--threads N] [--json] [--domain auto|book|business]
 *                 [--set KEY=VALUE[,KEY=VALUE...]]
 *
 * Stage 1 (models/beat/beat_run.h) learns the behaviour vocabulary and writes the run
 * directory. Config: harness/configs/beat/default.json holds the defaults (the same values
 * as beat_config_default); --config FILE overrides them, and the flags above override the
 * file (command-line flags win). Keys are validated against the schema below.
 *
 * The text encoder: --lm DIR loads a pretrained LM (`beatbench lm pretrain --out DIR`);
 * without --lm the default LM is pretrained on the split's training text or reused from the
 * cache (models/beat/beat_lm_cache.h), and without --split the default zero-shot split is
 * made (and cached) the same way, so `beat tokenize --data DIR --out RUNDIR` is enough.
 * --text-encoder hash replaces the LM by the hashed bag-of-words stand-in (tests, quick
 * experiments; named as such in the manifest).
 *
 * --json prints one object: per codebook `perplexity`, `dead_codes` and `used` (under
 * "codebooks"), `select_on`, `epochs_run`, `best_epoch`, `seconds_per_epoch`, `eval_seconds`,
 * `peak_rss_mb`, `train_gflop` and `gflops` (dense-product work of the training steps, and
 * per second of training), `phases` (training time by phase: wall, cpu, main_cpu seconds),
 * and `valid` / `test` ranking objects with the keys of `rank --json`.
 * Usage errors exit 2, data/config errors exit 1 with one line; no run directory is left
 * behind on error.
 *
 * Stage 2 (`beat explain`, models/beat/beat_explain_beat.h) trains the BEAT explainer on the
 * frozen LM from the tokens of a stage-1 run directory (--tokens), on that run's split.csv,
 * generates the test explanations and scores them: the same driver and run directory as
 * `run --method beat` (harness/run_driver.h), with the same config format (run_config.h;
 * its explain.* keys matter here). Without --lm the cached default LM of the config's
 * lm_config is used; pass the LM stage 1 read. --json prints the metrics object.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "models/base/bb_config.h"
#include "harness/run_config.h"
#include "harness/run_driver.h"
#include "harness/run_stage1.h"
#include "models/base/bb_io.h"
#include "models/base/bb_time.h"
#include "models/beat/beat_lm_cache.h"
#include "models/beat/beat_run.h"
#include "models/beat/beat_text.h"
#include "models/lm/lm_io.h"

static const bb_cfg_key beat_schema[] = {
    BB_CFG_INT_KEY(beat_config, token_len, 1, 64, "T: micro tokens per entity"),
    BB_CFG_INT_KEY(beat_config, token_dim, 1, 4096, "t: width of each chunk of the graph vector"),
    BB_CFG_INT_KEY(beat_config, codebook_size, 1, 1 << 20, "K: codes per codebook"),
    BB_CFG_INT_KEY(beat_config, layers, 0, 16, "LightGCN layers"),
    BB_CFG_INT_KEY(beat_config, batch, 1, 1 << 24, "training interactions per step"),
    BB_CFG_DOUBLE_KEY(beat_config, lr, 1e-9, 10, "Adam learning rate"),
    BB_CFG_INT_KEY(beat_config, epochs, 1, 100000, "maximum epochs"),
    BB_CFG_INT_KEY(beat_config, patience, 1, 100000, "epochs without gain before stopping"),
    BB_CFG_DOUBLE_KEY(beat_config, alpha, 0, 1e6, "macro supervision weight"),
    BB_CFG_DOUBLE_KEY(beat_config, beta, 0, 1e6, "micro supervision weight"),
    BB_CFG_DOUBLE_KEY(beat_config, tau, 1e-6, 1e6, "InfoNCE temperature"),
    BB_CFG_DOUBLE_KEY(beat_config, mask_ratio, 0, 1, "masked share of phrase positions"),
    BB_CFG_INT_KEY(beat_config, heads, 1, 256, "self-attention heads (divide d)"),
    BB_CFG_INT_KEY(beat_config, max_phrases, 1, 10, "phrases kept per summary"),
    BB_CFG_INT_KEY(beat_config, select_k, 1, 100000, "selection metric hr_micro@K"),
    BB_CFG_ENUM_KEY(beat_config, select_on, "valid|test",
                    "split that selects the epoch (test: released code, biased)"),
    BB_CFG_DOUBLE_KEY(beat_config, vq_weight, 0, 1e6, "weight of the VQ losses"),
    BB_CFG_DOUBLE_KEY(beat_config, orth_weight, 0, 1e6, "weight of the orthogonality losses"),
    BB_CFG_DOUBLE_KEY(beat_config, rec_weight, 0, 1e6, "weight of the reconstruction loss"),
    BB_CFG_BOOL_KEY(beat_config, no_macro, "no macro tokens"),
    BB_CFG_BOOL_KEY(beat_config, no_micro, "no micro tokens"),
    BB_CFG_BOOL_KEY(beat_config, no_macro_sup, "no macro (InfoNCE) supervision"),
    BB_CFG_BOOL_KEY(beat_config, no_micro_sup, "no micro (masked phrase) supervision"),
    BB_CFG_BOOL_KEY(beat_config, no_orth, "no orthogonality loss"),
    BB_CFG_BOOL_KEY(beat_config, continuous, "no quantisation (continuous tokens)"),
    {0},
};

/* ------------------------------------------------------------------------------------------
 * JSON */

/* The split object of `rank --json` (its printer is static in cmd_rank.c). */
static void print_split_json(FILE *out, const bb_rank_result *r) {
    fputc('{', out);
    int first = 1;
    for (int ki = 0; ki < r->n_ks; ki++)
        for (int m = 0; m <= BB_RANK_N_METRICS; m++) {
            const char *name = m < BB_RANK_N_METRICS ? bb_rank_metric_name(m) : "hr_micro";
            double v = m < BB_RANK_N_METRICS ? r->mean[ki][m] : r->hr_micro[ki];
            fprintf(out, "%s\"%s@%d\": ", first ? "" : ", ", name, r->ks[ki]);
            bb_json_number(out, v);
            first = 0;
        }
    fputc('}', out);
}

static void print_json(FILE *out, const char *run_dir, const beat_run_result *res) {
    fprintf(out, "{\"method\": \"beat\", \"stage\": 1, \"select_on\": \"%s\", \"codebooks\": {",
            res->select_on_test ? "test" : "valid");
    int first = 1;
    for (int k = 0; k < BEAT_N_CODEBOOKS; k++) {
        if (!res->has_codebook[k]) continue;
        fprintf(out, "%s\"%s\": {\"perplexity\": ", first ? "" : ", ", beat_codebook_name(k));
        bb_json_number(out, res->usage[k].perplexity);
        fprintf(out, ", \"dead_codes\": %d, \"used\": %d}", res->usage[k].dead, res->usage[k].used);
        first = 0;
    }
    fprintf(out, "}, \"epochs_run\": %d, \"best_epoch\": %d, \"seconds_per_epoch\": ",
            res->epochs_run, res->best_epoch);
    bb_json_number(out, res->seconds_per_epoch);
    fprintf(out, ", \"eval_seconds\": ");
    bb_json_number(out, res->eval_seconds);
    fprintf(out, ", \"train_gflop\": ");
    bb_json_number(out, res->train_flops / 1e9);
    fprintf(out, ", \"gflops\": ");
    bb_json_number(out, res->train_seconds > 0 ? res->train_flops / res->train_seconds / 1e9 : 0.0);
    fprintf(out, ", \"peak_rss_mb\": ");
    bb_json_number(out, res->peak_rss_mb);
    /* training time by phase (all epochs): wall, process CPU and the main thread's CPU */
    fprintf(out, ", \"phases\": {");
    for (int ph = 0; ph < BEAT_N_PHASES; ph++) {
        fprintf(out, "%s\"%s\": {\"wall\": ", ph ? ", " : "", beat_phase_name(ph));
        bb_json_number(out, res->phases.wall[ph]);
        fprintf(out, ", \"cpu\": ");
        bb_json_number(out, res->phases.cpu[ph]);
        fprintf(out, ", \"main_cpu\": ");
        bb_json_number(out, res->phases.main_cpu[ph]);
        fputc('}', out);
    }
    fprintf(out, "}, \"run_dir\": ");
    if (run_dir)
        bb_json_string(out, run_dir);
    else
        fprintf(out, "null");
    fprintf(out, ", \"valid\": ");
    print_split_json(out, &res->valid);
    fprintf(out, ", \"test\": ");
    print_split_json(out, &res->test);
    fprintf(out, "}\n");
}

static void print_summary(FILE *out, const beat_run_result *res) {
    fprintf(out, "beat stage 1: %d epoch(s), best %d (selected on %s), %.2f s/epoch, peak RSS %.0f MB\n",
            res->epochs_run, res->best_epoch, res->select_on_test ? "TEST" : "valid",
            res->seconds_per_epoch, res->peak_rss_mb);
    for (int k = 0; k < BEAT_N_CODEBOOKS; k++)
        if (res->has_codebook[k])
            fprintf(out, "  %-10s perplexity %8.2f  used %d  dead %d\n", beat_codebook_name(k),
                    res->usage[k].perplexity, res->usage[k].used, res->usage[k].dead);
    for (int s = 0; s < 2; s++) {
        const bb_rank_result *r = s ? &res->test : &res->valid;
        for (int ki = 0; ki < r->n_ks; ki++)
            fprintf(out, "  %-5s @%-3d hr_micro %.4f  hit %.4f  recall %.4f  ndcg %.4f\n",
                    s ? "test" : "valid", r->ks[ki], r->hr_micro[ki], r->mean[ki][BB_RANK_HIT],
                    r->mean[ki][BB_RANK_RECALL], r->mean[ki][BB_RANK_NDCG]);
    }
}

/* ------------------------------------------------------------------------------------------
 * Options */

/* "k=v,k=v" through the schema; errors name the flag. */
static int apply_sets(beat_config *c, const char *sets, bb_error *err) {
    char *copy = bb_strdup(sets), *save = NULL;
    int rc = BB_OK;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == BB_OK; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            rc = bb_fail(err, "--set: expected KEY=VALUE, got \"%s\"", tok);
            break;
        }
        *eq = '\0';
        rc = bb_config_set(beat_schema, c, tok, eq + 1, "--set", err);
    }
    free(copy);
    return rc;
}

typedef struct flag_override {
    const char *flag, *key;
    int value;
} flag_override;

/* The text encoder: the stand-in, a given LM, or the cached default LM. */
typedef struct encoder_state {
    beat_text_encoder enc;
    beat_lm_ctx ctx;
    lm_bundle lm;
    int have_lm, have_enc;
    char desc[512];
} encoder_state;

static int resolve_encoder(const char *kind, const char *lm_dir, int text_dim, const char *data,
                           const char *split, uint64_t seed, int threads, encoder_state *es,
                           bb_error *err) {
    memset(es, 0, sizeof *es);
    if (strcmp(kind, "hash") == 0) {
        beat_hash_encoder(&es->enc, text_dim);
        es->have_enc = 1;
        snprintf(es->desc, sizeof es->desc, "none (hashed bag-of-words stand-in)");
        return BB_OK;
    }
    char *dir = lm_dir ? bb_strdup(lm_dir) : NULL;
    if (!dir) {
        char *cache = beat_cache_dir();
        lm_config cfg = lm_config_default();
        int made = 0;
        int rc = beat_lm_cached(cache, data, split, &cfg, seed, threads, BB_VERSION, &dir, &made, err);
        free(cache);
        if (rc != BB_OK) return BB_ERR;
        fprintf(stderr, "beat: default LM %s %s\n", made ? "pretrained into" : "reused from", dir);
    }
    int rc = lm_bundle_load(dir, &es->lm, err);
    if (rc == BB_OK) {
        es->have_lm = 1;
        lm_set_threads(es->lm.model, threads);
        es->ctx.lm = es->lm.model;
        es->ctx.tok = es->lm.tok;
        beat_lm_encoder(&es->enc, &es->ctx);
        es->have_enc = 1;
        snprintf(es->desc, sizeof es->desc, "%s%s", dir, lm_dir ? "" : " (default LM, cached)");
    }
    free(dir);
    return rc;
}

static void encoder_free(encoder_state *es) {
    if (es->have_lm) lm_bundle_free(&es->lm);
    memset(es, 0, sizeof *es);
}

static int cmd_tokenize(int argc, char **argv) {
    const char *data = NULL, *out = NULL, *lm = NULL, *split = NULL, *config = NULL;
    const char *select_on = NULL, *sets = NULL, *encoder_kind = "lm";
    uint64_t seed = 1;
    int threads = bb_num_cores(), json = 0, text_dim = 256;
    int epochs = -1, batch = -1, ksize = -1, tlen = -1, tdim = -1, patience = -1;
    const bb_opt opts[] = {
        {"--data", BB_OPT_STR, &data, "DIR", "dataset directory (train/valid/test, explanations)"},
        {"--out", BB_OPT_STR, &out, "RUNDIR", "run directory to write"},
        {"--lm", BB_OPT_STR, &lm, "DIR", "frozen LM (lm pretrain --out); default: cached default LM"},
        {"--split", BB_OPT_STR, &split, "FILE", "zero-shot split (default: made from --seed)"},
        {"--config", BB_OPT_STR, &config, "FILE", "stage-1 config JSON (harness/configs/beat/)"},
        {"--seed", BB_OPT_U64, &seed, "S", "random seed (default 1)"},
        {"--threads", BB_OPT_INT, &threads, "N", "worker threads (default: all cores)"},
        {"--epochs", BB_OPT_INT, &epochs, "N", "maximum epochs (config key epochs)"},
        {"--batch", BB_OPT_INT, &batch, "B", "interactions per step (batch)"},
        {"--codebook-size", BB_OPT_INT, &ksize, "K", "codes per codebook (codebook_size)"},
        {"--token-len", BB_OPT_INT, &tlen, "T", "micro tokens per entity (token_len)"},
        {"--token-dim", BB_OPT_INT, &tdim, "t", "chunk width (token_dim)"},
        {"--patience", BB_OPT_INT, &patience, "N", "epochs without gain before stopping"},
        {"--select-on", BB_OPT_STR, &select_on, "SPLIT",
         "valid (default) | test (the released BEAT code's behaviour; marked in the outputs)"},
        {"--set", BB_OPT_STR, &sets, "K=V,..", "any config key, e.g. no_macro=true,alpha=0.5"},
        {"--text-encoder", BB_OPT_STR, &encoder_kind, "KIND",
         "lm (default) | hash (hashed bag-of-words stand-in, not an LM)"},
        {"--text-dim", BB_OPT_INT, &text_dim, "D", "width of the hash stand-in (default 256)"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print one JSON object on stdout"},
        {0}};
    const bb_cmd_spec spec = {"beat tokenize", "--data DIR --out RUNDIR [options]",
                              "BEAT stage 1: learn the behaviour vocabulary (macro and micro VQ "
                              "tokens with semantic supervision) and write tokens, codebooks, "
                              "usage statistics and ranking metrics.",
                              0, 0, NULL};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    if (!data) return bb_cli_usage(spec.name, "--data DIR is required");
    if (!out) return bb_cli_usage(spec.name, "--out RUNDIR is required");
    if (threads < 1) return bb_cli_usage(spec.name, "--threads: expected at least 1, got %d", threads);
    if (strcmp(encoder_kind, "lm") != 0 && strcmp(encoder_kind, "hash") != 0)
        return bb_cli_usage(spec.name, "--text-encoder: expected lm or hash, got \"%s\"", encoder_kind);
    if (lm && strcmp(encoder_kind, "hash") == 0)
        return bb_cli_usage(spec.name, "--lm and --text-encoder hash exclude each other");
    if (text_dim < 1) return bb_cli_usage(spec.name, "--text-dim: expected at least 1, got %d", text_dim);

    bb_error err = {{0}};
    beat_config cfg;
    beat_config_default(&cfg);
    if (config && bb_config_load(config, beat_schema, &cfg, &err) != BB_OK) return bb_cli_fail(&err);
    const flag_override fl[] = {{"--epochs", "epochs", epochs},
                                {"--batch", "batch", batch},
                                {"--codebook-size", "codebook_size", ksize},
                                {"--token-len", "token_len", tlen},
                                {"--token-dim", "token_dim", tdim},
                                {"--patience", "patience", patience}};
    for (size_t k = 0; k < sizeof fl / sizeof fl[0]; k++) {
        if (fl[k].value == -1) continue;
        char v[32];
        snprintf(v, sizeof v, "%d", fl[k].value);
        if (bb_config_set(beat_schema, &cfg, fl[k].key, v, fl[k].flag, &err) != BB_OK)
            return bb_cli_usage(spec.name, "%s", err.msg);
    }
    if (select_on && bb_config_set(beat_schema, &cfg, "select_on", select_on, "--select-on", &err) != BB_OK)
        return bb_cli_usage(spec.name, "%s", err.msg);
    if (sets && apply_sets(&cfg, sets, &err) != BB_OK) return bb_cli_usage(spec.name, "%s", err.msg);
    const int need_text = (!cfg.no_macro && !cfg.no_macro_sup && cfg.alpha > 0) ||
                          (!cfg.no_micro && !cfg.no_micro_sup && cfg.beta > 0);

    /* the split first: the default LM is trained on its training text */
    char *split_path = split ? bb_strdup(split) : NULL;
    if (!split_path && need_text && strcmp(encoder_kind, "lm") == 0 && !lm) {
        char *cache = beat_cache_dir();
        int made = 0;
        rc = beat_split_cached(cache, data, seed, &split_path, &made, &err);
        free(cache);
        if (rc != BB_OK) return bb_cli_fail(&err);
    }
    encoder_state es;
    memset(&es, 0, sizeof es);
    if (need_text || lm) {
        if (resolve_encoder(encoder_kind, lm, text_dim, data, split_path, seed, threads, &es,
                            &err) != BB_OK) {
            free(split_path);
            return bb_cli_fail(&err);
        }
    }
    char *cfg_json = bb_config_to_json(beat_schema, &cfg);
    beat_run_opts o = {data, split_path, out, es.have_enc ? &es.enc : NULL, seed, threads,
                       BB_VERSION, cfg_json, es.have_enc ? es.desc : NULL};
    if (strcmp(cfg.select_on, "test") == 0)
        fprintf(stderr, "beat: WARNING: --select-on test picks the epoch on TEST metrics (the "
                        "released BEAT code's behaviour); the run is marked as such\n");
    beat_run_result res;
    rc = beat_run_execute(&cfg, &o, &res, &err);
    free(cfg_json);
    encoder_free(&es);
    free(split_path);
    if (rc != BB_OK) return bb_cli_fail(&err);
    print_summary(stderr, &res);
    fprintf(stderr, "run directory: %s\n", out);
    if (json) print_json(stdout, out, &res);
    beat_run_result_free(&res);
    return BB_EXIT_OK;
}

/* ------------------------------------------------------------------------------------------
 * Stage 2: beat explain, and the stage-1 schema accessors of the run driver (run_stage1.h) */

int bb_run_stage1_config_load(const char *path, beat_config *cfg, bb_error *err) {
    return bb_config_load(path, beat_schema, cfg, err);
}

char *bb_run_stage1_config_json(const beat_config *cfg) {
    return bb_config_to_json(beat_schema, cfg);
}

const bb_cfg_key *bb_run_stage1_schema(void) { return beat_schema; }

static int cmd_explain(int argc, char **argv) {
    const char *data = NULL, *tokens = NULL, *out = NULL, *lm = NULL, *config = NULL;
    const char *domain = NULL, *sets = NULL;
    uint64_t seed = 1;
    int threads = bb_num_cores(), json = 0;
    const bb_opt opts[] = {
        {"--data", BB_OPT_STR, &data, "DIR", "dataset directory (train/valid/test, explanations)"},
        {"--tokens", BB_OPT_STR, &tokens, "RUNDIR", "stage-1 run directory (beat tokenize --out)"},
        {"--out", BB_OPT_STR, &out, "RUNDIR", "run directory to write"},
        {"--lm", BB_OPT_STR, &lm, "DIR", "frozen LM (default: cached LM of the config's lm_config)"},
        {"--config", BB_OPT_STR, &config, "FILE", "run config JSON (harness/configs/run/)"},
        {"--seed", BB_OPT_U64, &seed, "S", "random seed (default 1)"},
        {"--threads", BB_OPT_INT, &threads, "N", "worker threads (default: all cores)"},
        {"--domain", BB_OPT_STR, &domain, "D", "auto | book | business (prompt wording)"},
        {"--set", BB_OPT_STR, &sets, "K=V,..", "any run config key, e.g. explain.no_sar=true"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print the metrics object on stdout"},
        {0}};
    const bb_cmd_spec spec = {"beat explain", "--data DIR --tokens RUNDIR --out RUNDIR [options]",
                              "BEAT stage 2: train the explainer (behaviour tokens through "
                              "projectors into the frozen LM's prompt, CE + SAR), generate and "
                              "score the test explanations.",
                              0, 0, NULL};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    if (!data) return bb_cli_usage(spec.name, "--data DIR is required");
    if (!tokens) return bb_cli_usage(spec.name, "--tokens RUNDIR is required (a beat tokenize run)");
    if (!out) return bb_cli_usage(spec.name, "--out RUNDIR is required");
    if (threads < 1) return bb_cli_usage(spec.name, "--threads: expected at least 1, got %d", threads);
    bb_error err = {{0}};
    bb_run_config cfg;
    bb_run_config_default(&cfg);
    if (config && bb_run_config_load(config, &cfg, &err) != BB_OK) return bb_cli_fail(&err);
    if (sets && bb_run_config_set_list(&cfg, sets, "--set", &err) != BB_OK)
        return bb_cli_usage(spec.name, "%s", err.msg);
    if (domain && bb_run_config_set(&cfg, "domain", domain, "--domain", &err) != BB_OK)
        return bb_cli_usage(spec.name, "%s", err.msg);
    snprintf(cfg.method, sizeof cfg.method, "beat");
    bb_run_opts o = {.data_dir = data, .out_dir = out, .lm_dir = lm, .tokens_dir = tokens,
                     .split_path = NULL, .seed = seed, .threads = threads, .command = "beat explain"};
    bb_run_result res;
    if (bb_run_execute(&cfg, &o, &res, &err) != BB_OK) return bb_cli_fail(&err);
    fprintf(stderr, "beat stage 2: %zu test pairs, BLEU-4 %.4f, ROUGE-L F %.4f, USR %.4f "
                    "(%d epochs, best %d)\nrun directory: %s\n",
            res.score.n, res.score.bleu[3], res.score.rougeL.fmeasure, res.score.usr,
            res.epochs_run, res.best_epoch, out);
    if (json) bb_run_print_metrics(stdout, &res);
    bb_run_result_free(&res);
    return BB_EXIT_OK;
}

int bb_cmd_beat(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        FILE *o = argc < 1 ? stderr : stdout;
        fprintf(o, "usage: beatbench beat tokenize|explain [options]\n\n"
                   "  tokenize   stage 1: behaviour tokens, codebooks, ranking metrics\n"
                   "  explain    stage 2: explanations on the frozen LM, scored\n");
        return argc < 1 ? BB_EXIT_USAGE : BB_EXIT_OK;
    }
    if (strcmp(argv[0], "tokenize") == 0) return cmd_tokenize(argc - 1, argv + 1);
    if (strcmp(argv[0], "explain") == 0) return cmd_explain(argc - 1, argv + 1);
    return bb_cli_usage("beat", "unknown subcommand \"%s\" (tokenize, explain)", argv[0]);
}
