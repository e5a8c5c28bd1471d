/* cmd_lm — `beatbench lm pretrain | generate | encode | bench`: the frozen LM's life cycle
 * (DESIGN §6, §10; models/lm/).
 *
 *   lm pretrain --data DIR [--split FILE] [--config lm.json] --out DIR [--resume] [--seed S]
 *               [--threads N] [--stop-after N] [--json]
 *   lm generate --lm DIR --prompt TEXT [--max-new N] [--temperature T] [--top-k K]
 *               [--top-p P] [--beam W] [--seed S] [--threads N] [--json]
 *   lm encode   --lm DIR [--layer L] [--threads N] [--json] < lines
 *   lm bench    [--config lm.json] [--threads N] [--steps N] [--json]
 *
 * Config files are validated here against a schema over lm_config (models/base/bb_config.h): an
 * unknown key, a wrong type or a value out of range is one line naming file, line and key.
 * `lm bench --json` keys (DESIGN §10): tokens_per_s (training forward + backward + AdamW,
 * default config), gflops (6 x params x tokens/s / 1e9), params, peak_rss_mb.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "models/base/bb_config.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/base/bb_time.h"
#include "harness/run_stage1.h"
#include "models/lm/lm_encode.h"
#include "models/lm/lm_generate.h"
#include "models/lm/lm_io.h"
#include "models/lm/lm_train.h"

static const bb_cfg_key lm_schema[] = {
    BB_CFG_INT_KEY(lm_config, vocab, 262, 1 << 20,
                   "BPE vocabulary: 256 bytes + merges + 6 specials"),
    BB_CFG_INT_KEY(lm_config, context, 2, 8192, "sequence length"),
    BB_CFG_INT_KEY(lm_config, d_model, 4, 8192, "hidden width"),
    BB_CFG_INT_KEY(lm_config, n_layers, 1, 256, "transformer blocks"),
    BB_CFG_INT_KEY(lm_config, n_heads, 1, 256, "attention heads (divide d_model)"),
    BB_CFG_INT_KEY(lm_config, bpe_min_frequency, 1, 1000000000, "minimum pair count of a merge"),
    BB_CFG_INT_KEY(lm_config, batch, 1, 100000, "sequences per step"),
    BB_CFG_INT_KEY(lm_config, steps, 0, 1000000000, "optimizer steps (0: from epochs)"),
    BB_CFG_DOUBLE_KEY(lm_config, epochs, 0, 1e6, "passes over the training tokens when steps is 0"),
    BB_CFG_INT_KEY(lm_config, warmup, 0, 1000000000, "linear warmup steps"),
    BB_CFG_DOUBLE_KEY(lm_config, lr, 1e-9, 10, "peak learning rate"),
    BB_CFG_DOUBLE_KEY(lm_config, min_lr_ratio, 0, 1, "final learning rate / peak"),
    BB_CFG_DOUBLE_KEY(lm_config, weight_decay, 0, 10, "AdamW decoupled weight decay"),
    BB_CFG_DOUBLE_KEY(lm_config, clip, 0, 1e6, "gradient norm clip (0: off)"),
    BB_CFG_DOUBLE_KEY(lm_config, beta1, 0, 0.999999, "AdamW beta1"),
    BB_CFG_DOUBLE_KEY(lm_config, beta2, 0, 0.9999999, "AdamW beta2"),
    BB_CFG_DOUBLE_KEY(lm_config, eps, 0, 1, "AdamW epsilon"),
    BB_CFG_INT_KEY(lm_config, eval_every, 0, 1000000000, "steps between validation passes"),
    BB_CFG_INT_KEY(lm_config, eval_windows, 0, 1000000000, "validation windows per pass (0: all)"),
    BB_CFG_INT_KEY(lm_config, checkpoint_every, 0, 1000000000, "steps between checkpoints"),
    {0},
};

const bb_cfg_key *bb_run_lm_schema(void) { return lm_schema; }

static int load_config(const char *path, lm_config *cfg, bb_error *err) {
    *cfg = lm_config_default();
    if (!path) return BB_OK;
    if (bb_config_load(path, lm_schema, cfg, err) != BB_OK) return BB_ERR;
    if (lm_config_check(cfg, err) != BB_OK) return bb_fail_prefix(err, "%s", path);
    return BB_OK;
}

/* User + system CPU seconds of this process (all threads). */
static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static void json_kv(const char *key, double v, int comma) {
    printf("\"%s\": ", key);
    bb_json_number(stdout, v);
    if (comma) printf(", ");
}

/* ====================================== pretrain ===================================== */

static int cmd_pretrain(int argc, char **argv) {
    const char *data = NULL, *split = NULL, *config = NULL, *out = NULL;
    uint64_t seed = 1;
    int threads = bb_num_cores(), resume = 0, stop_after = 0, json = 0;
    const bb_opt opts[] = {
        {"--data", BB_OPT_STR, &data, "DIR", "dataset directory (explanations.csv)"},
        {"--split", BB_OPT_STR, &split, "FILE",
         "zero-shot split file (default: make one from --seed)"},
        {"--config", BB_OPT_STR, &config, "FILE",
         "LM config JSON (default: harness/configs/lm/default.json values)"},
        {"--out", BB_OPT_STR, &out, "DIR", "LM directory to write"},
        {"--resume", BB_OPT_FLAG, &resume, NULL,
         "continue from DIR/checkpoint (bit-identical with the same --threads)"},
        {"--seed", BB_OPT_U64, &seed, "S", "random seed (default 1)"},
        {"--threads", BB_OPT_INT, &threads, "N", "worker threads (default: all cores)"},
        {"--stop-after", BB_OPT_INT, &stop_after, "N",
         "checkpoint and stop after N steps (resume later)"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print one JSON object on stdout"},
        {0}};
    const bb_cmd_spec spec = {"lm pretrain",
                              "--data DIR --out DIR [options]",
                              "Pretrain the LM (BPE tokenizer + GPT-style decoder) on the training "
                              "text of a split: titles, summaries and train explanations.",
                              0,
                              0,
                              NULL};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    if (!data) return bb_cli_usage(spec.name, "--data DIR is required");
    if (!out) return bb_cli_usage(spec.name, "--out DIR is required");
    if (threads < 1)
        return bb_cli_usage(spec.name, "--threads: expected at least 1, got %d", threads);
    if (stop_after < 0) return bb_cli_usage(spec.name, "--stop-after: expected N >= 0");
    bb_error err = {{0}};
    lm_config cfg;
    /* Resuming without --config takes the checkpoint's config. */
    char *saved = bb_path_join(out, "checkpoint/config.json");
    const char *cfg_path = config ? config : (resume && bb_path_exists(saved) ? saved : NULL);
    rc = load_config(cfg_path, &cfg, &err);
    free(saved);
    if (rc != BB_OK) return bb_cli_fail(&err);
    lm_corpus corpus;
    if (lm_corpus_build(data, split, seed, &corpus, &err) != BB_OK) return bb_cli_fail(&err);
    fprintf(stderr,
            "lm pretrain: %zu training texts (%zu bytes), %zu validation texts; "
            "%zu test-only texts kept out\n",
            corpus.n_train, corpus.train_bytes, corpus.n_valid, corpus.leakage.test_only_texts);
    /* Without --split, the split made from --seed is kept beside the LM for later stages. */
    char *split_out = NULL;
    if (!split) {
        split_out = bb_path_join(out, "split.csv");
        if (bb_mkdir_p(out, &err) != BB_OK ||
            bb_split_write(&corpus.split, split_out, &err) != BB_OK) {
            free(split_out);
            lm_corpus_free(&corpus);
            return bb_cli_fail(&err);
        }
    }
    lm_train_opts o = {.out_dir = out,
                       .seed = seed,
                       .threads = threads,
                       .resume = resume,
                       .stop_after = stop_after,
                       .data_dir = data,
                       .split_path = split ? split : split_out,
                       .code_version = BB_VERSION};
    lm_train_result r;
    rc = lm_pretrain(&corpus, &cfg, &o, &r, &err);
    lm_corpus_free(&corpus);
    free(split_out);
    if (rc != BB_OK) return bb_cli_fail(&err);
    fprintf(stderr,
            "lm pretrain: %s %ld/%ld steps, vocab %d, %lld params, %.0f tokens/s\n"
            "  train loss %.4f, valid loss %.4f nats/token (unigram: entropy %.4f, valid %.4f)\n",
            r.finished ? "finished" : "stopped at", r.steps_done, r.steps_total, r.vocab,
            (long long)r.params, r.tokens_per_s, r.train_loss, r.valid_loss, r.unigram_entropy,
            r.unigram_valid_ce);
    if (json) {
        printf("{\"out\": ");
        bb_json_string(stdout, out);
        printf(", \"finished\": %s, ", r.finished ? "true" : "false");
        json_kv("steps_done", (double)r.steps_done, 1);
        json_kv("steps_total", (double)r.steps_total, 1);
        json_kv("vocab", r.vocab, 1);
        json_kv("params", (double)r.params, 1);
        json_kv("train_tokens", (double)r.train_tokens, 1);
        json_kv("valid_tokens", (double)r.valid_tokens, 1);
        json_kv("train_loss", r.train_loss, 1);
        json_kv("valid_loss", r.valid_loss, 1);
        json_kv("unigram_entropy", r.unigram_entropy, 1);
        json_kv("unigram_valid_ce", r.unigram_valid_ce, 1);
        json_kv("seconds", r.seconds, 1);
        json_kv("tokens_per_s", r.tokens_per_s, 1);
        json_kv("peak_rss_mb", bb_peak_rss_mb(), 0);
        printf("}\n");
    }
    return BB_EXIT_OK;
}

/* ====================================== generate ===================================== */

static int cmd_generate(int argc, char **argv) {
    const char *dir = NULL, *prompt = NULL;
    int max_new = 128, top_k = 0, beam = 1, threads = bb_num_cores(), json = 0;
    double temperature = 0.0, top_p = 1.0;
    uint64_t seed = 1;
    const bb_opt opts[] = {
        {"--lm", BB_OPT_STR, &dir, "DIR", "LM directory (lm pretrain --out)"},
        {"--prompt", BB_OPT_STR, &prompt, "TEXT",
         "prompt; <bos> <U> <I> <EXPLAIN> ... are special tokens"},
        {"--max-new", BB_OPT_INT, &max_new, "N", "new tokens at most (default 128)"},
        {"--temperature", BB_OPT_DOUBLE, &temperature, "T",
         "sampling temperature; 0 = greedy (default)"},
        {"--top-k", BB_OPT_INT, &top_k, "K", "sample from the K most likely tokens (0 = all)"},
        {"--top-p", BB_OPT_DOUBLE, &top_p, "P", "nucleus: smallest set with mass P (default 1)"},
        {"--beam", BB_OPT_INT, &beam, "W", "beam search of width W (default 1: off)"},
        {"--seed", BB_OPT_U64, &seed, "S", "sampling seed (default 1)"},
        {"--threads", BB_OPT_INT, &threads, "N", "worker threads (default: all cores)"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print one JSON object on stdout"},
        {0}};
    const bb_cmd_spec spec = {"lm generate",
                              "--lm DIR --prompt TEXT [options]",
                              "Continue a prompt with the LM; stops at <eos> or --max-new.",
                              0,
                              0,
                              NULL};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    if (!dir) return bb_cli_usage(spec.name, "--lm DIR is required");
    if (!prompt) return bb_cli_usage(spec.name, "--prompt TEXT is required");
    if (max_new < 1) return bb_cli_usage(spec.name, "--max-new: expected at least 1");
    if (temperature < 0 || top_k < 0 || !(top_p > 0 && top_p <= 1) || beam < 1 || beam > 64)
        return bb_cli_usage(
            spec.name,
            "need --temperature >= 0, --top-k >= 0, --top-p in (0, 1], --beam in [1, 64]");
    bb_error err = {{0}};
    lm_bundle b;
    if (lm_bundle_load(dir, &b, &err) != BB_OK) return bb_cli_fail(&err);
    lm_set_threads(b.model, threads);
    lm_ids ids = {0}, out = {0};
    int32_t bos = lm_bpe_special(b.tok, LM_BOS);
    lm_bpe_encode_special(b.tok, prompt, strlen(prompt), &ids);
    if (!ids.n || ids.v[0] != bos) {
        lm_ids with_bos = {0};
        lm_ids_push(&with_bos, bos);
        for (size_t i = 0; i < ids.n; i++) lm_ids_push(&with_bos, ids.v[i]);
        lm_ids_free(&ids);
        ids = with_bos;
    }
    lm_gen_opts g = lm_gen_defaults();
    g.max_new = max_new;
    g.temperature = (float)temperature;
    g.top_k = top_k;
    g.top_p = (float)top_p;
    g.beam = beam;
    g.seed = seed;
    lm_prompt p = {.ids = ids.v, .n = (int)ids.n};
    rc = lm_generate(b.model, b.tok, &p, &g, &out, &err);
    if (rc == BB_OK) {
        char *text = lm_bpe_decode(b.tok, out.v, out.n, 0, NULL);
        if (json) {
            printf("{\"prompt\": ");
            bb_json_string(stdout, prompt);
            printf(", \"text\": ");
            bb_json_string(stdout, text);
            printf(", ");
            json_kv("prompt_tokens", (double)ids.n, 1);
            json_kv("tokens", (double)out.n, 0);
            printf("}\n");
        } else {
            printf("%s\n", text);
        }
        free(text);
    }
    lm_ids_free(&ids);
    lm_ids_free(&out);
    lm_bundle_free(&b);
    return rc == BB_OK ? BB_EXIT_OK : bb_cli_fail(&err);
}

/* ======================================= encode ====================================== */

static int cmd_encode(int argc, char **argv) {
    const char *dir = NULL;
    int layer = -1, threads = bb_num_cores(), json = 0;
    const bb_opt opts[] = {
        {"--lm", BB_OPT_STR, &dir, "DIR", "LM directory (lm pretrain --out)"},
        {"--layer", BB_OPT_INT, &layer, "L",
         "hidden layer: 0 embeddings .. n_layers final LayerNorm (default)"},
        {"--threads", BB_OPT_INT, &threads, "N", "worker threads (default: all cores)"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print {dim, layer, vectors} as JSON instead of CSV"},
        {0}};
    const bb_cmd_spec spec = {"lm encode",
                              "--lm DIR [--layer L] < lines",
                              "Sentence vectors of stdin lines: the mean hidden state over each "
                              "line's tokens; one CSV row of floats per line (no header).",
                              0,
                              0,
                              NULL};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    if (!dir) return bb_cli_usage(spec.name, "--lm DIR is required");
    bb_error err = {{0}};
    lm_bundle b;
    if (lm_bundle_load(dir, &b, &err) != BB_OK) return bb_cli_fail(&err);
    int L = b.model->arch.n_layers, C = b.model->arch.d_model;
    if (layer < 0) layer = L;
    if (layer > L) {
        lm_bundle_free(&b);
        return bb_cli_usage(spec.name, "--layer: expected 0..%d, got %d", L, layer);
    }
    lm_set_threads(b.model, threads);
    size_t n = 0, cap = 0;
    char **lines = NULL, *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    while ((got = getline(&line, &line_cap, stdin)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            lines = bb_realloc(lines, cap * sizeof *lines);
        }
        lines[n++] = bb_strdup(line);
    }
    free(line);
    float *vecs = bb_malloc((n ? n : 1) * (size_t)C * sizeof *vecs);
    lm_sentence_vectors(b.model, b.tok, (const char *const *)lines, NULL, n, layer, vecs);
    if (json) printf("{\"dim\": %d, \"layer\": %d, \"vectors\": [", C, layer);
    for (size_t i = 0; i < n; i++) {
        if (json) printf("%s[", i ? ", " : "");
        for (int c = 0; c < C; c++) {
            if (json) {
                if (c) printf(", ");
                bb_json_number(stdout, vecs[i * (size_t)C + c]);
            } else {
                printf(c ? ",%.9g" : "%.9g", vecs[i * (size_t)C + c]);
            }
        }
        printf(json ? "]" : "\n");
    }
    if (json) printf("]}\n");
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(lines);
    free(vecs);
    lm_bundle_free(&b);
    return BB_EXIT_OK;
}

/* ======================================= bench ======================================= */

static int cmd_bench(int argc, char **argv) {
    const char *config = NULL;
    int threads = bb_num_cores(), steps = 5, json = 0;
    const bb_opt opts[] = {
        {"--config", BB_OPT_STR, &config, "FILE", "LM config JSON (default: the default config)"},
        {"--threads", BB_OPT_INT, &threads, "N", "worker threads (default: all cores)"},
        {"--steps", BB_OPT_INT, &steps, "N",
         "timed training steps after one warm-up step (default 5)"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print one JSON object on stdout"},
        {0}};
    const bb_cmd_spec spec = {
        "lm bench",
        "[--config FILE] [--threads N] [--steps N]",
        "Training throughput of the LM (forward + backward + AdamW) on "
        "random tokens: tokens/s and GFLOP/s counted as 6 x params x tokens/s.",
        0,
        0,
        NULL};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    if (threads < 1 || steps < 1)
        return bb_cli_usage(spec.name, "--threads and --steps must be at least 1");
    bb_error err = {{0}};
    lm_config cfg;
    if (load_config(config, &cfg, &err) != BB_OK) return bb_cli_fail(&err);
    lm_arch arch = lm_config_arch(&cfg, cfg.vocab);
    lm_model *lm = lm_create(&arch, 1);
    lm_set_threads(lm, threads);
    int B = cfg.batch, T = cfg.context;
    size_t n = (size_t)B * T;
    int32_t *ids = bb_malloc(n * sizeof *ids), *tg = bb_malloc(n * sizeof *tg);
    bb_rng rng;
    bb_rng_seed(&rng, 1, "lm/bench");
    for (size_t i = 0; i < n; i++) {
        ids[i] = (int32_t)bb_rng_below(&rng, (uint64_t)cfg.vocab);
        tg[i] = (int32_t)bb_rng_below(&rng, (uint64_t)cfg.vocab);
    }
    lm_input in = {.B = B, .T = T, .ids = ids};
    nn_adam opt = nn_adamw_default((float)cfg.lr, (float)cfg.weight_decay);
    double *times = bb_malloc((size_t)steps * sizeof *times), total = 0.0, cpu0 = 0.0;
    for (int s = 0; s <= steps; s++) {
        double t0 = bb_now(); /* step 0 warms up: allocation and page faults */
        if (s == 1) cpu0 = cpu_seconds();
        nn_params_zero_grad(lm->params);
        lm_forward_backward(lm, &in, tg, NULL, LM_TRAIN, NULL);
        if (cfg.clip > 0) nn_params_clip_grad_norm(lm->params, cfg.clip);
        lm_adam_step(lm, &opt);
        if (s > 0) total += times[s - 1] = bb_now() - t0;
    }
    /* The median step: robust to other work briefly taking a core on a shared machine. */
    for (int i = 1; i < steps; i++)
        for (int j = i; j > 0 && times[j - 1] > times[j]; j--) {
            double t = times[j];
            times[j] = times[j - 1];
            times[j - 1] = t;
        }
    double median = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
    double tps = (double)n / median, mean_tps = (double)steps * (double)n / total;
    /* Tokens per CPU-second times the threads: what dedicated cores would give; on a shared
     * machine it moves much less than wall-clock figures (time slices are not counted). */
    double cpu_tps = (double)steps * (double)n / (cpu_seconds() - cpu0) * threads;
    double params = (double)lm_num_params(lm), gflops = 6.0 * params * tps / 1e9;
    fprintf(stderr,
            "lm bench: %d threads, batch %d x %d, %.0f params: %.0f tokens/s (median step; mean "
            "%.0f), %.1f GFLOP/s\n",
            threads, B, T, params, tps, mean_tps, gflops);
    if (json) {
        printf("{");
        json_kv("tokens_per_s", tps, 1);
        json_kv("gflops", gflops, 1);
        json_kv("params", params, 1);
        json_kv("peak_rss_mb", bb_peak_rss_mb(), 1);
        json_kv("tokens_per_s_mean", mean_tps, 1);
        json_kv("tokens_per_s_cpu_time", cpu_tps, 1);
        json_kv("threads", threads, 1);
        json_kv("batch", B, 1);
        json_kv("context", T, 1);
        json_kv("steps", steps, 1);
        json_kv("seconds", total, 0);
        printf("}\n");
    }
    free(times);
    free(ids);
    free(tg);
    lm_free(lm);
    return BB_EXIT_OK;
}

/* ===================================================================================== */

static void lm_help(FILE *out) {
    fprintf(out, "usage: beatbench lm pretrain|generate|encode|bench [options]\n\n"
                 "The frozen LM's life cycle:\n"
                 "  pretrain   train tokenizer and model on a split's training text\n"
                 "  generate   continue a prompt (greedy, sampling, beam search)\n"
                 "  encode     sentence vectors of stdin lines (CSV or JSON)\n"
                 "  bench      training throughput (tokens/s, GFLOP/s)\n"
                 "Run `beatbench lm SUBCOMMAND --help` for options.\n");
}

int bb_cmd_lm(int argc, char **argv) {
    if (argc < 1) {
        lm_help(stderr);
        return BB_EXIT_USAGE;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        lm_help(stdout);
        return BB_EXIT_OK;
    }
    if (strcmp(argv[0], "pretrain") == 0) return cmd_pretrain(argc - 1, argv + 1);
    if (strcmp(argv[0], "generate") == 0) return cmd_generate(argc - 1, argv + 1);
    if (strcmp(argv[0], "encode") == 0) return cmd_encode(argc - 1, argv + 1);
    if (strcmp(argv[0], "bench") == 0) return cmd_bench(argc - 1, argv + 1);
    return bb_cli_usage("lm", "unknown subcommand \"%s\" (pretrain, generate, encode, bench)",
                        argv[0]);
}
