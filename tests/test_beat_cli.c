/* Tests for `beatbench beat tokenize | explain` (harness/cmd_beat.c, models/beat/beat_run.h,
 * beat_lm_cache.h): the run directory and --json, byte-identical outputs for the same seed
 * and threads, ablation switches, --select-on test marking, exit codes and no partial run
 * directory, the frozen LM path (--lm) and the cache of the default split and LM. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "models/base/bb_io.h"
#include "models/beat/beat_lm_cache.h"
#include "models/lm/lm_config.h"
#include "tests/testhelp.h"

static int run_cli(const char *args, const char *out, const char *errf) {
    const char *bin = getenv("BB_BIN");
    static char cmd[16384];
    snprintf(cmd, sizeof cmd, "BB_QUIET=1 %s %s > %s 2> %s", bin, args, out, errf);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *path) {
    char *text = NULL;
    bb_error err;
    if (bb_read_file(path, &text, NULL, &err) != BB_OK) return bb_strdup("");
    return text;
}

static int count_lines(const char *text) {
    int n = 0;
    for (const char *p = text; *p; p++) n += *p == '\n';
    return n;
}

/* A small synthetic dataset (made once per test run) and a small config file. */
static const char *fixture(void) {
    static char dir[1100];
    if (dir[0]) return dir;
    snprintf(dir, sizeof dir, "%s", bb_test_tmp_path("beat_synth"));
    char args[2048];
    snprintf(args, sizeof args,
             "data synth --out %s --users 300 --items 200 --interactions 6000 --explained 300",
             dir);
    if (run_cli(args, "/dev/null", "/dev/null") != 0) dir[0] = '\0';
    char cfg[1200];
    snprintf(cfg, sizeof cfg, "%s/../beat_small.json", dir);
    const char *json = "{\"token_len\": 4, \"token_dim\": 8, \"codebook_size\": 16, "
                       "\"batch\": 1024, \"epochs\": 2, \"patience\": 2, \"heads\": 2}\n";
    bb_error err;
    if (bb_write_file_atomic(cfg, json, strlen(json), &err) != BB_OK) dir[0] = '\0';
    return dir;
}

#define SKIP_WITHOUT_BIN()                                                                  \
    do {                                                                                    \
        if (!getenv("BB_BIN")) TEST_SKIP("BB_BIN not set (run through make test)");         \
        if (getenv("BB_VALGRIND")) TEST_SKIP("trains through the CLI: slow under valgrind"); \
    } while (0)

static void common_args(char *buf, size_t cap, const char *data, const char *run,
                        const char *extra) {
    snprintf(buf, cap,
             "beat tokenize --data %s --out %s --config %s/../beat_small.json --text-encoder hash "
             "--text-dim 16 --threads 2 --seed 3 %s",
             data, run, data, extra);
}

static void test_tokenize_run_directory_and_json(void) {
    SKIP_WITHOUT_BIN();
    const char *data = fixture();
    TEST_TRUE(data[0]);
    char run[1100], out[1100], errf[1100], args[8192];
    snprintf(run, sizeof run, "%s", bb_test_tmp_path("beat_run_a"));
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("beat_a.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("beat_a.err"));
    common_args(args, sizeof args, data, run, "--json");
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    char *json = slurp(out);
    cJSON *root = cJSON_Parse(json);
    free(json);
    TEST_TRUE(root != NULL);
    cJSON *cbs = cJSON_GetObjectItem(root, "codebooks");
    cJSON *um = cbs ? cJSON_GetObjectItem(cbs, "user_macro") : NULL;
    cJSON *valid = cJSON_GetObjectItem(root, "valid"), *test = cJSON_GetObjectItem(root, "test");
    int ok = um && cJSON_IsNumber(cJSON_GetObjectItem(um, "perplexity")) &&
             cJSON_IsNumber(cJSON_GetObjectItem(um, "dead_codes")) &&
             cJSON_GetObjectItem(cbs, "item_micro") && valid && test &&
             cJSON_IsNumber(cJSON_GetObjectItem(valid, "hr_micro@20")) &&
             cJSON_IsNumber(cJSON_GetObjectItem(test, "ndcg@50")) &&
             cJSON_IsNumber(cJSON_GetObjectItem(test, "hit@10")) &&
             cJSON_IsNumber(cJSON_GetObjectItem(test, "recall@10")) &&
             strcmp(cJSON_GetObjectItem(root, "select_on")->valuestring, "valid") == 0;
    double ppl = um ? cJSON_GetObjectItem(um, "perplexity")->valuedouble : 0;
    double dead = um ? cJSON_GetObjectItem(um, "dead_codes")->valuedouble : -1;
    cJSON_Delete(root);
    TEST_TRUE(ok);
    TEST_TRUE(ppl >= 1.0 && ppl <= 16.0);
    TEST_TRUE(dead >= 0 && dead <= 15);
    /* the run directory */
    const char *files[] = {"tokens.csv", "codebooks.safetensors", "usage.csv", "codebook_stats.csv",
                           "metrics.csv", "train_log.csv", "split.csv", "manifest.json", NULL};
    for (int k = 0; files[k]; k++) {
        char *p = bb_path_join(run, files[k]);
        int exists = bb_path_exists(p);
        free(p);
        if (!exists) bb_test_fail(__FILE__, __LINE__, "missing %s", files[k]);
        if (!exists) return;
    }
    char *p = bb_path_join(run, "tokens.csv");
    char *tokens = slurp(p);
    free(p);
    int lines = count_lines(tokens);
    const char *header = "kind,id,macro,micro_1,micro_2,micro_3,micro_4\n";
    int header_ok = strncmp(tokens, header, strlen(header)) == 0;
    int row_ok = strstr(tokens, "\nuser,0,") && strstr(tokens, "\nitem,199,");
    free(tokens);
    TEST_TRUE(header_ok);
    TEST_TRUE(row_ok);
    TEST_EQ_INT(lines, 1 + 300 + 200);
    p = bb_path_join(run, "usage.csv");
    char *usage = slurp(p);
    free(p);
    TEST_EQ_INT(count_lines(usage), 1 + 4 * 16);
    free(usage);
    /* a rerun with the same seed and threads writes the same bytes */
    char run2[1100];
    snprintf(run2, sizeof run2, "%s", bb_test_tmp_path("beat_run_b"));
    common_args(args, sizeof args, data, run2, "");
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    const char *same[] = {"tokens.csv", "usage.csv", "metrics.csv", "codebooks.safetensors", NULL};
    for (int k = 0; same[k]; k++) {
        char *a = bb_path_join(run, same[k]), *b = bb_path_join(run2, same[k]);
        char *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        bb_error err;
        int ok2 = bb_read_file(a, &x, &nx, &err) == BB_OK && bb_read_file(b, &y, &ny, &err) == BB_OK &&
                  nx == ny && memcmp(x, y, nx) == 0;
        free(a), free(b), free(x), free(y);
        if (!ok2) bb_test_fail(__FILE__, __LINE__, "%s differs between identical runs", same[k]);
        if (!ok2) return;
    }
}

static void test_select_on_test_is_marked(void) {
    SKIP_WITHOUT_BIN();
    const char *data = fixture();
    char run[1100], out[1100], errf[1100], args[8192];
    snprintf(run, sizeof run, "%s", bb_test_tmp_path("beat_run_sot"));
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("beat_sot.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("beat_sot.err"));
    common_args(args, sizeof args, data, run, "--select-on test --json");
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    char *json = slurp(out), *err_text = slurp(errf);
    char *mp = bb_path_join(run, "manifest.json");
    char *manifest = slurp(mp);
    free(mp);
    cJSON *m = cJSON_Parse(manifest);
    cJSON *sel = m ? cJSON_GetObjectItem(m, "selection") : NULL;
    int ok = strstr(json, "\"select_on\": \"test\"") && strstr(err_text, "WARNING") && sel &&
             strcmp(cJSON_GetObjectItem(sel, "split")->valuestring, "test") == 0 &&
             cJSON_GetObjectItem(sel, "warning");
    cJSON_Delete(m);
    /* test metrics are in metrics.csv for every epoch */
    char *metp = bb_path_join(run, "metrics.csv");
    char *metrics = slurp(metp);
    free(metp);
    int every_epoch = strstr(metrics, "\n1,test,") && strstr(metrics, "\n2,test,");
    free(json), free(err_text), free(manifest), free(metrics);
    TEST_TRUE(ok);
    TEST_TRUE(every_epoch);
}

static void test_ablation_switches(void) {
    SKIP_WITHOUT_BIN();
    const char *data = fixture();
    char run[1100], out[1100], errf[1100], args[8192];
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("beat_abl.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("beat_abl.err"));
    /* no macro tokens: the macro column is empty, no macro codebooks */
    snprintf(run, sizeof run, "%s", bb_test_tmp_path("beat_run_nomacro"));
    common_args(args, sizeof args, data, run, "--set no_macro=true --epochs 1 --json");
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    char *json = slurp(out);
    char *tp = bb_path_join(run, "tokens.csv");
    char *tokens = slurp(tp);
    free(tp);
    int ok = !strstr(json, "user_macro") && strstr(json, "user_micro") && strstr(tokens, "\nuser,0,,");
    free(json), free(tokens);
    TEST_TRUE(ok);
    /* continuous: no codebooks at all, empty token fields */
    snprintf(run, sizeof run, "%s", bb_test_tmp_path("beat_run_cont"));
    common_args(args, sizeof args, data, run, "--set continuous=true --epochs 1 --json");
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    json = slurp(out);
    tp = bb_path_join(run, "tokens.csv");
    tokens = slurp(tp);
    free(tp);
    ok = strstr(json, "\"codebooks\": {}") && strstr(tokens, "\nitem,3,,,,,\n");
    free(json), free(tokens);
    TEST_TRUE(ok);
    /* codebook size and token length from flags win over the config file */
    snprintf(run, sizeof run, "%s", bb_test_tmp_path("beat_run_k8"));
    common_args(args, sizeof args, data, run, "--codebook-size 8 --token-len 2 --epochs 1");
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    tp = bb_path_join(run, "usage.csv");
    char *usage = slurp(tp);
    free(tp);
    tp = bb_path_join(run, "tokens.csv");
    tokens = slurp(tp);
    free(tp);
    ok = count_lines(usage) == 1 + 4 * 8 && strncmp(tokens, "kind,id,macro,micro_1,micro_2\n", 30) == 0;
    free(usage), free(tokens);
    TEST_TRUE(ok);
}

static void test_exit_codes_and_no_partial_run(void) {
    if (!getenv("BB_BIN")) TEST_SKIP("BB_BIN not set (run through make test)");
    const char *data = fixture();
    char run[1100], out[1100], errf[1100], args[8192];
    snprintf(run, sizeof run, "%s", bb_test_tmp_path("beat_run_bad"));
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("beat_bad.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("beat_bad.err"));
    TEST_EQ_INT(run_cli("beat explain --data x", out, errf), 2);
    char *e = slurp(errf);
    int says = strstr(e, "--tokens RUNDIR is required") != NULL; /* usage error names the flag */
    free(e);
    TEST_TRUE(says);
    TEST_EQ_INT(run_cli("beat", out, errf), 2);
    TEST_EQ_INT(run_cli("beat frobnicate", out, errf), 2);
    TEST_EQ_INT(run_cli("beat tokenize --out x", out, errf), 2);         /* no --data */
    TEST_EQ_INT(run_cli("beat tokenize --data x --out y --threads 0", out, errf), 2);
    snprintf(args, sizeof args, "beat tokenize --data %s --out %s --set lr=-1", data, run);
    TEST_EQ_INT(run_cli(args, out, errf), 2); /* a flag value out of range */
    snprintf(args, sizeof args, "beat tokenize --data %s --out %s --set nonsense=1", data, run);
    TEST_EQ_INT(run_cli(args, out, errf), 2);
    e = slurp(errf);
    says = strstr(e, "unknown key") != NULL;
    free(e);
    TEST_TRUE(says);
    /* data and config errors: exit 1, one line, nothing left behind */
    snprintf(args, sizeof args, "beat tokenize --data %s/nope --out %s --text-encoder hash", data, run);
    TEST_EQ_INT(run_cli(args, out, errf), 1);
    e = slurp(errf);
    int one_line = strncmp(e, "beatbench: ", 11) == 0 && count_lines(e) == 1;
    free(e);
    TEST_TRUE(one_line);
    common_args(args, sizeof args, data, run, "--set no_macro=true,no_micro=true");
    TEST_EQ_INT(run_cli(args, out, errf), 1);
    TEST_TRUE(!bb_path_exists(run));
}

/* The frozen LM path: a tiny LM pretrained by `lm pretrain`, then `beat tokenize --lm`. */
static void test_tokenize_with_pretrained_lm(void) {
    SKIP_WITHOUT_BIN();
    const char *data = fixture();
    char lm[1100], run[1100], out[1100], errf[1100], args[8192], cfg[1100];
    snprintf(lm, sizeof lm, "%s", bb_test_tmp_path("beat_tiny_lm"));
    snprintf(run, sizeof run, "%s", bb_test_tmp_path("beat_run_lm"));
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("beat_lm.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("beat_lm.err"));
    snprintf(cfg, sizeof cfg, "%s", bb_test_tmp_path("lm_tiny.json"));
    const char *json = "{\"vocab\": 400, \"context\": 32, \"d_model\": 16, \"n_layers\": 1, "
                       "\"n_heads\": 2, \"batch\": 4, \"steps\": 6, \"warmup\": 1, \"eval_every\": 3, "
                       "\"eval_windows\": 4, \"checkpoint_every\": 3}\n";
    bb_error err;
    TEST_OK(bb_write_file_atomic(cfg, json, strlen(json), &err), &err);
    snprintf(args, sizeof args, "lm pretrain --data %s --config %s --out %s --threads 1 --seed 3",
             data, cfg, lm);
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    snprintf(args, sizeof args,
             "beat tokenize --data %s --out %s --config %s/../beat_small.json --lm %s "
             "--threads 2 --seed 3 --epochs 1",
             data, run, data, lm);
    int rc = run_cli(args, out, errf);
    if (rc != 0) {
        char *e = slurp(errf);
        bb_test_fail(__FILE__, __LINE__, "beat tokenize --lm: exit %d: %s", rc, e);
        free(e);
        return;
    }
    char *mp = bb_path_join(run, "manifest.json");
    char *manifest = slurp(mp);
    free(mp);
    cJSON *m = cJSON_Parse(manifest);
    cJSON *text = m ? cJSON_GetObjectItem(m, "text") : NULL;
    cJSON *enc = text ? cJSON_GetObjectItem(text, "encoder") : NULL;
    cJSON *d = text ? cJSON_GetObjectItem(text, "d") : NULL;
    int ok = enc && strncmp(enc->valuestring, "lm (d_model 16", 14) == 0 && d && d->valueint == 16;
    cJSON_Delete(m);
    free(manifest);
    TEST_TRUE(ok);
}

/* The cache: the default split and LM are made once and then reused. */
static void test_cache_makes_then_reuses(void) {
    if (getenv("BB_VALGRIND")) TEST_SKIP("pretrains an LM: slow under valgrind");
    if (!getenv("BB_BIN")) TEST_SKIP("BB_BIN not set (the fixture is made through the CLI)");
    const char *data = fixture();
    char cache[1100];
    snprintf(cache, sizeof cache, "%s", bb_test_tmp_path("beat_cache"));
    bb_error err;
    char *split = NULL, *split2 = NULL, *lm = NULL, *lm2 = NULL;
    int made = -1;
    TEST_OK(beat_split_cached(cache, data, 5, &split, &made, &err), &err);
    TEST_EQ_INT(made, 1);
    TEST_OK(beat_split_cached(cache, data, 5, &split2, &made, &err), &err);
    TEST_EQ_INT(made, 0);
    TEST_STR_EQ(split, split2);
    lm_config cfg = lm_config_default();
    cfg.vocab = 300, cfg.context = 16, cfg.d_model = 8, cfg.n_layers = 1, cfg.n_heads = 2;
    cfg.batch = 2, cfg.steps = 3, cfg.warmup = 1, cfg.eval_every = 0, cfg.eval_windows = 2;
    cfg.checkpoint_every = 0;
    int rc = beat_lm_cached(cache, data, split, &cfg, 5, 1, "test", &lm, &made, &err);
    if (rc != BB_OK) bb_test_fail(__FILE__, __LINE__, "%s", err.msg);
    if (rc != BB_OK) return;
    TEST_EQ_INT(made, 1);
    TEST_OK(beat_lm_cached(cache, data, split, &cfg, 5, 1, "test", &lm2, &made, &err), &err);
    TEST_EQ_INT(made, 0);
    TEST_STR_EQ(lm, lm2);
    free(lm2);
    /* another setting is another key */
    cfg.steps = 4;
    TEST_OK(beat_lm_cached(cache, data, split, &cfg, 5, 1, "test", &lm2, &made, &err), &err);
    TEST_EQ_INT(made, 1);
    TEST_TRUE(strcmp(lm, lm2) != 0);
    free(split), free(split2), free(lm), free(lm2);
}

const bb_test bb_suite_beat_cli[] = {
    {"tokenize_run_directory_and_json", test_tokenize_run_directory_and_json},
    {"select_on_test_is_marked", test_select_on_test_is_marked},
    {"ablation_switches", test_ablation_switches},
    {"exit_codes_and_no_partial_run", test_exit_codes_and_no_partial_run},
    {"tokenize_with_pretrained_lm", test_tokenize_with_pretrained_lm},
    {"cache_makes_then_reuses", test_cache_makes_then_reuses},
    {NULL, NULL},
};
