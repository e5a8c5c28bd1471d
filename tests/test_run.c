/* Tests for `beatbench run` and `beatbench beat explain` (harness/cmd_run.c, run_driver.h,
 * run_config.h): the run directory (generations.csv in split order, metrics.json equal to
 * --json, manifest), byte-identical outputs for the same seed and threads, reuse of cached
 * artifacts, every method through the driver, config files and flags, exit codes, no partial
 * run directory on error, train_log.csv against the manifest, stage 2 on the stage-1
 * ablations (no_macro, no_micro, continuous), the row caps (task.max_*_rows: the subset by
 * hand, the same rows across methods, order kept, loose caps change nothing, the caches do
 * not depend on them), and the end-to-end zero-shot comparison of BEAT with ID-prompt
 * (e2e_*, run with BB_E2E=1: it trains a real small LM). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "datasets/csv_reader.h"
#include "harness/run_config.h"
#include "harness/run_driver.h"
#include "metrics/significance.h"
#include "metrics/text_score.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_explain_log.h"
#include "tests/testhelp.h"

static char cache_dir[1100];

static int run_cli(const char *args, const char *out, const char *errf) {
    const char *bin = getenv("BB_BIN");
    static char cmd[16384];
    snprintf(cmd, sizeof cmd, "BB_CACHE_DIR=%s BB_QUIET=1 %s %s > %s 2> %s", cache_dir, bin, args,
             out, errf);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *path) {
    char *text = NULL;
    bb_error err;
    if (bb_read_file(path, &text, NULL, &err) != BB_OK) return bb_strdup("");
    return text;
}

static int write_text(const char *path, const char *text) {
    bb_error err;
    return bb_write_file_atomic(path, text, strlen(text), &err);
}

static char *path_in(const char *dir, const char *name) { return bb_path_join(dir, name); }

/* A small synthetic dataset and tiny LM / stage-1 / run configs, made once per test run. */
static const char *fixture(void) {
    static char dir[1100];
    if (dir[0]) return dir;
    snprintf(cache_dir, sizeof cache_dir, "%s", bb_test_tmp_path("run_cache"));
    snprintf(dir, sizeof dir, "%s", bb_test_tmp_path("run_synth"));
    char args[2048];
    snprintf(args, sizeof args,
             "data synth --out %s --users 300 --items 200 --interactions 6000 --explained 300 --seed 2",
             dir);
    if (run_cli(args, "/dev/null", "/dev/null") != 0) {
        dir[0] = '\0';
        return dir;
    }
    char p[1300];
    snprintf(p, sizeof p, "%s/../tiny_lm.json", dir);
    write_text(p, "{\"vocab\": 400, \"context\": 128, \"d_model\": 16, \"n_layers\": 1, \"n_heads\": 2,"
                  " \"batch\": 4, \"steps\": 20, \"warmup\": 2, \"lr\": 0.003, \"eval_every\": 0,"
                  " \"eval_windows\": 4, \"checkpoint_every\": 0}\n");
    snprintf(p, sizeof p, "%s/../tiny_s1.json", dir);
    write_text(p, "{\"token_len\": 2, \"token_dim\": 8, \"codebook_size\": 16, \"batch\": 1024, "
                  "\"epochs\": 2, \"patience\": 2, \"heads\": 2}\n");
    /* the stage-1 ablations stage 2 reads, and a stage-1 config that fails inside stage 1 */
    static const char *const ablations[4][2] = {{"nomacro", "\"no_macro\": true"},
                                                {"nomicro", "\"no_micro\": true"},
                                                {"cont", "\"continuous\": true"},
                                                {"badheads", "\"heads\": 3"}};
    for (int k = 0; k < 4; k++) {
        snprintf(p, sizeof p, "%s/../tiny_s1_%s.json", dir, ablations[k][0]);
        char text[512];
        snprintf(text, sizeof text, "{\"token_len\": 2, \"token_dim\": 8, \"codebook_size\": 16, "
                                    "\"batch\": 1024, \"epochs\": 1, \"patience\": 1, %s%s}\n",
                 k == 3 ? "" : "\"heads\": 2, ", ablations[k][1]);
        write_text(p, text);
    }
    char cfg[4096];
    snprintf(cfg, sizeof cfg,
             "{\n  \"lm_config\": \"%s/../tiny_lm.json\",\n  \"stage1_config\": \"%s/../tiny_s1.json\",\n"
             "  \"explain\": {\"max_epochs\": 1, \"max_new\": 12, \"batch\": 32},\n"
             "  \"xrec\": {\"gcn_epochs\": 2, \"experts\": 2},\n"
             "  \"nrt\": {\"emb_dim\": 8, \"hidden\": 8, \"max_epochs\": 1, \"max_len\": 12},\n"
             "  \"peter\": {\"d_model\": 16, \"n_heads\": 2, \"n_layers\": 1, \"d_ff\": 32,"
             " \"max_epochs\": 1, \"max_len\": 12}\n}\n",
             dir, dir);
    snprintf(p, sizeof p, "%s/../tiny_run.json", dir);
    write_text(p, cfg);
    return dir;
}

#define SKIP_WITHOUT_BIN()                                                                  \
    do {                                                                                    \
        if (!getenv("BB_BIN")) TEST_SKIP("BB_BIN not set (run through make test)");         \
        if (getenv("BB_VALGRIND")) TEST_SKIP("trains through the CLI: slow under valgrind"); \
    } while (0)

/* Records of a CSV file (header excluded), or -1. */
typedef struct csv_rows {
    int n;
    char refs[512][512];
} csv_rows;

static int on_gen_row(void *ctx, const bb_csv_record *rec, bb_error *err) {
    (void)err;
    csv_rows *r = ctx;
    if (rec->index == 0) return BB_OK;
    if (rec->n != 4 || r->n >= 512) return BB_ERR;
    snprintf(r->refs[r->n++], sizeof r->refs[0], "%s", rec->fields[2]);
    return BB_OK;
}

static int generations(const char *run, csv_rows *rows) {
    char *p = path_in(run, "generations.csv");
    bb_error err;
    rows->n = 0;
    int rc = bb_csv_read_file(p, on_gen_row, rows, &err);
    free(p);
    return rc == BB_OK ? rows->n : -1;
}

/* The test rows' explanations in split order, from the split file and explanations.csv. */
typedef struct test_refs {
    int n;
    char refs[512][512];
    int part_of[4096];
    int row;
} test_refs;

static int on_split_row(void *ctx, const bb_csv_record *rec, bb_error *err) {
    (void)err;
    test_refs *t = ctx;
    if (rec->index == 0) return BB_OK;
    t->part_of[t->row++] = strcmp(rec->fields[2], "test") == 0;
    return BB_OK;
}

static int on_ex_row(void *ctx, const bb_csv_record *rec, bb_error *err) {
    (void)err;
    test_refs *t = ctx;
    if (rec->index == 0) return BB_OK;
    if (t->part_of[t->row++]) snprintf(t->refs[t->n++], sizeof t->refs[0], "%s", rec->fields[5]);
    return BB_OK;
}

static cJSON *parse_file(const char *dir, const char *name) {
    char *p = path_in(dir, name);
    char *text = slurp(p);
    free(p);
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* train_log.csv of a run directory against its manifest: one row per epoch run and the kept
 * epoch's valid_loss equal to best_valid_loss; retrieval (no epochs): the header alone. */
static void check_run_train_log(const char *run, const cJSON *man) {
    char *p = path_in(run, "train_log.csv");
    beat_train_log log;
    bb_error err;
    TEST_OK(beat_train_log_read(p, &log, &err), &err);
    const int epochs = (int)jnum(man, "epochs_run"), best = (int)jnum(man, "best_epoch");
    TEST_EQ_INT(log.n, epochs);
    if (epochs > 0) {
        TEST_TRUE(best >= 1 && best <= log.n);
        const double want = jnum(man, "best_valid_loss");
        if (best >= 1 && best <= log.n)
            TEST_TRUE(memcmp(&log.rows[best - 1].valid_loss, &want, sizeof want) == 0);
    } else {
        char *text = slurp(p);
        TEST_STR_EQ(text, BEAT_TRAIN_LOG_HEADER);
        free(text);
    }
    beat_train_log_free(&log);
    free(p);
}

static void run_args(char *buf, size_t cap, const char *data, const char *method, const char *run,
                     const char *extra) {
    snprintf(buf, cap, "run --data %s --method %s --out %s --config %s/../tiny_run.json --threads 2 "
                       "--seed 3 %s",
             data, method, run, data, extra);
}

static void test_run_beat_run_directory_json_and_reuse(void) {
    SKIP_WITHOUT_BIN();
    const char *data = fixture();
    TEST_TRUE(data[0]);
    char run[1100], run2[1100], out[1100], errf[1100], args[8192];
    snprintf(run, sizeof run, "%s", bb_test_tmp_path("run_beat_a"));
    snprintf(run2, sizeof run2, "%s", bb_test_tmp_path("run_beat_b"));
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("run_beat.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("run_beat.err"));
    run_args(args, sizeof args, data, "beat", run, "--json");
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    char *stdout_text = slurp(out);
    cJSON *js = cJSON_Parse(stdout_text);
    TEST_TRUE(js != NULL);
    TEST_STR_EQ(jstr(js, "method"), "beat");
    TEST_NEAR(jnum(js, "seed"), 3, 0);
    static const char *const keys[] = {"bleu1", "bleu4", "bleu4_sentence_mean", "rouge1_f", "rouge2_p",
                                       "rougeL_f", "rougeLsum_r", "distinct1", "distinct2", "usr",
                                       "len_mean", "bertscore_f"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        double v = jnum(js, keys[k]);
        if (!(v >= 0)) fprintf(stderr, "    key %s: %g\n", keys[k], v);
        TEST_TRUE(v >= 0);
    }
    TEST_TRUE(strstr(jstr(js, "signature"), "tok:treebank|smooth:method1") != NULL);
    /* metrics.json is the --json object */
    char *mpath = path_in(run, "metrics.json");
    char *metrics = slurp(mpath);
    free(mpath);
    TEST_STR_EQ(metrics, stdout_text);
    /* generations.csv: the test rows' references, in split order */
    cJSON *man = parse_file(run, "manifest.json");
    TEST_TRUE(man != NULL);
    TEST_STR_EQ(jstr(man, "method"), "beat");
    TEST_STR_EQ(jstr(man, "domain"), "business");
    TEST_TRUE(strstr(jstr(man, "prompt"), "enjoy the business") != NULL);
    TEST_NEAR(jnum(man, "slots_per_side"), 3, 0);
    const cJSON *split = cJSON_GetObjectItem(man, "split");
    static test_refs tr;
    memset(&tr, 0, sizeof tr);
    bb_error err;
    TEST_OK(bb_csv_read_file(jstr(split, "path"), on_split_row, &tr, &err), &err);
    tr.row = 0;
    char *ex_path = path_in(data, "explanations.csv");
    TEST_OK(bb_csv_read_file(ex_path, on_ex_row, &tr, &err), &err);
    free(ex_path);
    static csv_rows g;
    TEST_EQ_INT(generations(run, &g), tr.n);
    TEST_TRUE(tr.n > 5);
    TEST_NEAR(jnum(js, "n"), tr.n, 0);
    for (int k = 0; k < tr.n; k++) TEST_STR_EQ(g.refs[k], tr.refs[k]);
    TEST_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(man, "stage1"), "made_now")));
    TEST_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(man, "lm"), "made_now")));
    TEST_NEAR(jnum(cJSON_GetObjectItem(man, "config"), "explain.max_epochs"), 1, 0);
    check_run_train_log(run, man);
    /* the same seed and threads again: cached LM and stage 1, the same bytes */
    run_args(args, sizeof args, data, "beat", run2, "");
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    cJSON *man2 = parse_file(run2, "manifest.json");
    TEST_TRUE(man2 != NULL);
    TEST_TRUE(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(man2, "stage1"), "made_now")));
    TEST_TRUE(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(man2, "lm"), "made_now")));
    static const char *const files[] = {"generations.csv", "metrics.json"};
    for (int f = 0; f < 2; f++) {
        char *a = path_in(run, files[f]), *b = path_in(run2, files[f]);
        char *ta = slurp(a), *tb = slurp(b);
        int same = strcmp(ta, tb) == 0 && ta[0];
        free(a), free(b), free(ta), free(tb);
        TEST_TRUE(same);
    }
    cJSON_Delete(man2);
    cJSON_Delete(man);
    cJSON_Delete(js);
    free(metrics);
    free(stdout_text);
}

static void test_run_every_method(void) {
    SKIP_WITHOUT_BIN();
    const char *data = fixture();
    TEST_TRUE(data[0]);
    static const char *const methods[] = {"id-prompt", "xrec", "retrieval", "nrt", "peter"};
    char run[1100], out[1100], errf[1100], args[8192];
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("run_m.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("run_m.err"));
    static csv_rows g;
    int n_test = -1;
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        snprintf(run, sizeof run, "%s/run_%s", bb_test_tmpdir(), methods[m]);
        run_args(args, sizeof args, data, methods[m], run, "--json");
        int rc = run_cli(args, out, errf);
        if (rc != 0) {
            char *e = slurp(errf);
            fprintf(stderr, "    %s: exit %d: %s\n", methods[m], rc, e);
            free(e);
        }
        TEST_EQ_INT(rc, 0);
        cJSON *js = parse_file(run, "metrics.json");
        TEST_TRUE(js != NULL);
        TEST_STR_EQ(jstr(js, "method"), methods[m]);
        int n = generations(run, &g);
        TEST_NEAR(jnum(js, "n"), n, 0);
        if (n_test < 0) n_test = n;
        TEST_EQ_INT(n, n_test); /* every method answers the same test rows */
        cJSON *man = parse_file(run, "manifest.json");
        if (m < 2) TEST_NEAR(jnum(man, "slots_per_side"), 3, 0); /* 1 + stage-1 token_len */
        if (m == 1) TEST_TRUE(cJSON_GetObjectItem(man, "lightgcn") != NULL);
        check_run_train_log(run, man);
        cJSON_Delete(man);
        cJSON_Delete(js);
    }
}

static int no_partial_left(const char *parent, const char *name) {
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "ls -a %s | grep -q '^%s'", parent, name);
    return system(cmd) != 0;
}

static void test_run_errors_leave_nothing(void) {
    SKIP_WITHOUT_BIN();
    const char *data = fixture();
    TEST_TRUE(data[0]);
    char run[1100], out[1100], errf[1100], args[8192], bad[1100];
    snprintf(run, sizeof run, "%s", bb_test_tmp_path("run_bad"));
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("run_bad.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("run_bad.err"));
    /* usage errors */
    snprintf(args, sizeof args, "run --data %s --out %s", data, run);
    TEST_EQ_INT(run_cli(args, out, errf), 2); /* no method */
    run_args(args, sizeof args, data, "gpt", run, "");
    TEST_EQ_INT(run_cli(args, out, errf), 2);
    run_args(args, sizeof args, data, "beat", run, "--threads 0");
    TEST_EQ_INT(run_cli(args, out, errf), 2);
    run_args(args, sizeof args, data, "beat", run, "--set explain.lrr=1");
    TEST_EQ_INT(run_cli(args, out, errf), 2);
    char *e = slurp(errf);
    int says = strstr(e, "did you mean 'explain.lr'") != NULL;
    free(e);
    TEST_TRUE(says);
    /* a config file error names file, line and key */
    char cfgp[1300];
    snprintf(cfgp, sizeof cfgp, "%s/../bad_run.json", data);
    write_text(cfgp, "{\"method\": \"beat\",\n \"explain\": {\"batch\": 0}}\n");
    snprintf(args, sizeof args, "run --data %s --out %s --config %s", data, run, cfgp);
    TEST_EQ_INT(run_cli(args, out, errf), 1);
    e = slurp(errf);
    says = strstr(e, "bad_run.json:2: key 'explain.batch'") != NULL;
    free(e);
    TEST_TRUE(says);
    /* an LM config out of range, named with its file and key (the `lm pretrain` schema) */
    char lmp[1300];
    snprintf(lmp, sizeof lmp, "%s/../bad_lm.json", data);
    write_text(lmp, "{\"d_model\": 64,\n \"n_layers\": 0}\n");
    snprintf(args, sizeof args, "run --data %s --method beat --out %s --set lm_config=%s", data, run, lmp);
    TEST_EQ_INT(run_cli(args, out, errf), 1);
    e = slurp(errf);
    says = strstr(e, "bad_lm.json:2: key 'n_layers'") != NULL;
    if (!says) fprintf(stderr, "    stderr: %s\n", e);
    free(e);
    TEST_TRUE(says);
    TEST_TRUE(!bb_path_exists(run));
    /* an explained pair whose uid is beyond the dataset's users */
    snprintf(bad, sizeof bad, "%s", bb_test_tmp_path("run_bad_data"));
    snprintf(args, sizeof args, "cp -r %s %s && sed -i '2s/^[0-9]*,/99999,/' %s/explanations.csv", data,
             bad, bad);
    TEST_EQ_INT(system(args), 0);
    snprintf(args, sizeof args, "run --data %s --method retrieval --out %s", bad, run);
    TEST_EQ_INT(run_cli(args, out, errf), 1);
    e = slurp(errf);
    says = strstr(e, "explanations.csv:2: field 'uid'") != NULL;
    if (!says) fprintf(stderr, "    stderr: %s\n", e);
    free(e);
    TEST_TRUE(says);
    TEST_TRUE(!bb_path_exists(run));
    /* a failure after the run directory was staged: stage 1 rejects its config */
    char extra[1300];
    snprintf(extra, sizeof extra, "--set stage1_config=%s/../tiny_s1_badheads.json", data);
    run_args(args, sizeof args, data, "beat", run, extra);
    TEST_EQ_INT(run_cli(args, out, errf), 1);
    e = slurp(errf);
    says = strstr(e, "key 'heads': 3 must divide the text width d = 16") != NULL;
    if (!says) fprintf(stderr, "    stderr: %s\n", e);
    free(e);
    TEST_TRUE(says);
    TEST_TRUE(!bb_path_exists(run));
    TEST_TRUE(no_partial_left(bb_test_tmpdir(), "run_bad.partial"));
    /* a missing dataset */
    snprintf(args, sizeof args, "run --data %s/nowhere --method retrieval --out %s", data, run);
    TEST_EQ_INT(run_cli(args, out, errf), 1);
    TEST_TRUE(!bb_path_exists(run));
}

static void test_run_config_defaults_and_domain(void) {
    bb_run_config def, file;
    bb_run_config_default(&def);
    memset(&file, 0, sizeof file);
    bb_error err;
    TEST_OK(bb_run_config_load("harness/configs/run/default.json", &file, &err), &err);
    /* every key of ours is in the file with its default (peter/nrt/retrieval defaults live in
     * harness/configs/baselines/) */
    char *a = bb_run_config_json(&def), *b = bb_run_config_json(&file);
    cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
    int checked = 0;
    for (const cJSON *k = ja->child; k; k = k->next) {
        if (!strncmp(k->string, "peter.", 6) || !strncmp(k->string, "nrt.", 4) ||
            !strncmp(k->string, "retrieval.", 10))
            continue;
        const cJSON *v = cJSON_GetObjectItem(jb, k->string);
        char *x = cJSON_PrintUnformatted(k), *y = cJSON_PrintUnformatted(v);
        if (strcmp(x, y) != 0) fprintf(stderr, "    %s: default %s, file %s\n", k->string, x, y);
        TEST_STR_EQ(x, y);
        free(x), free(y);
        checked++;
    }
    TEST_TRUE(checked >= 25);
    cJSON_Delete(ja), cJSON_Delete(jb);
    free(a), free(b);
    /* the demo configs load */
    bb_run_config demo = def;
    TEST_OK(bb_run_config_load("harness/configs/run/demo.json", &demo, &err), &err);
    TEST_OK(bb_run_config_check(&demo, &err), &err);
    /* domain */
    TEST_STR_EQ(bb_run_config_domain(&def, "../shared/datasets/amazon"), "book");
    TEST_STR_EQ(bb_run_config_domain(&def, "data/Amazon-Books/"), "book");
    TEST_STR_EQ(bb_run_config_domain(&def, "amazon/yelp"), "business");
    TEST_STR_EQ(bb_run_config_domain(&def, "google"), "business");
    TEST_OK(bb_run_config_set(&def, "domain", "book", "--domain", &err), &err);
    TEST_STR_EQ(bb_run_config_domain(&def, "yelp"), "book");
    TEST_ERR_CONTAINS(bb_run_config_set(&def, "domain", "books", "--domain", &err), &err, "domain");
    TEST_OK(bb_run_config_set_list(&def, "explain.no_sar=true,xrec.experts=4", "--set", &err), &err);
    TEST_EQ_INT(def.explain.no_sar, 1);
    TEST_EQ_INT(def.xrec.experts, 4);
    TEST_ERR_CONTAINS(bb_run_config_set_list(&def, "xrec.experts=17", "--set", &err), &err, "xrec.experts");
}

static void test_beat_explain_cli(void) {
    SKIP_WITHOUT_BIN();
    const char *data = fixture();
    TEST_TRUE(data[0]);
    char lm[1100], s1[1100], run[1100], out[1100], errf[1100], args[8192];
    snprintf(lm, sizeof lm, "%s", bb_test_tmp_path("explain_lm"));
    snprintf(s1, sizeof s1, "%s", bb_test_tmp_path("explain_s1"));
    snprintf(run, sizeof run, "%s", bb_test_tmp_path("explain_run"));
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("explain.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("explain.err"));
    snprintf(args, sizeof args, "lm pretrain --data %s --out %s --config %s/../tiny_lm.json --threads 2 --seed 4",
             data, lm, data);
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    snprintf(args, sizeof args, "beat tokenize --data %s --out %s --lm %s --config %s/../tiny_s1.json "
                                "--threads 2 --seed 4", data, s1, lm, data);
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    snprintf(args, sizeof args, "beat explain --data %s --out %s --lm %s", data, run, lm);
    TEST_EQ_INT(run_cli(args, out, errf), 2); /* no --tokens */
    snprintf(args, sizeof args, "beat explain --data %s --tokens %s --lm %s --out %s --threads 2 --seed 4 "
                                "--set explain.max_epochs=1,explain.max_new=8 --domain book --json",
             data, s1, lm, run);
    int rc = run_cli(args, out, errf);
    if (rc != 0) {
        char *e = slurp(errf);
        fprintf(stderr, "    %s\n", e);
        free(e);
    }
    TEST_EQ_INT(rc, 0);
    cJSON *man = parse_file(run, "manifest.json");
    TEST_TRUE(man != NULL);
    TEST_STR_EQ(jstr(man, "command"), "beat explain");
    TEST_STR_EQ(jstr(man, "domain"), "book");
    char want[1200];
    snprintf(want, sizeof want, "%s/split.csv", s1);
    TEST_STR_EQ(jstr(cJSON_GetObjectItem(man, "split"), "path"), want);
    TEST_STR_EQ(jstr(cJSON_GetObjectItem(man, "stage1"), "dir"), s1);
    cJSON_Delete(man);
    snprintf(args, sizeof args, "beat explain --data %s --tokens %s/nowhere --lm %s --out %s", data, s1, lm, run);
    TEST_EQ_INT(run_cli(args, out, errf), 1);
}

/* ------------------------------------------------------------------------------------------
 * Stage 2 on the stage-1 ablations (the tokenization study) */

static void test_run_beat_on_stage1_ablations(void) {
    SKIP_WITHOUT_BIN();
    const char *data = fixture();
    TEST_TRUE(data[0]);
    static const char *const names[3] = {"nomacro", "nomicro", "cont"};
    static const int slots[3] = {2, 1, 3}; /* T = 2: micro only, macro only, macro + micro */
    char run[1100], out[1100], errf[1100], args[8192], extra[1300];
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("run_abl.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("run_abl.err"));
    static csv_rows g;
    for (int k = 0; k < 3; k++) {
        snprintf(run, sizeof run, "%s/run_abl_%s", bb_test_tmpdir(), names[k]);
        snprintf(extra, sizeof extra, "--set stage1_config=%s/../tiny_s1_%s.json", data, names[k]);
        run_args(args, sizeof args, data, "beat", run, extra);
        int rc = run_cli(args, out, errf);
        if (rc != 0) {
            char *e = slurp(errf);
            fprintf(stderr, "    %s: exit %d: %s\n", names[k], rc, e);
            free(e);
        }
        TEST_EQ_INT(rc, 0);
        cJSON *man = parse_file(run, "manifest.json");
        TEST_TRUE(man != NULL);
        TEST_NEAR(jnum(man, "slots_per_side"), slots[k], 0);
        const cJSON *split = cJSON_GetObjectItem(man, "split");
        TEST_EQ_INT(generations(run, &g), (int)jnum(split, "test"));
        TEST_TRUE(g.n > 5);
        check_run_train_log(run, man);
        TEST_TRUE(jnum(man, "epochs_run") >= 1);
        char *cont = path_in(jstr(cJSON_GetObjectItem(man, "stage1"), "dir"), "continuous.safetensors");
        TEST_EQ_INT(bb_path_exists(cont), k == 2);
        if (k == 2) { /* a cached continuous stage 1 without its vectors (older code) is remade */
            remove(cont);
            snprintf(run, sizeof run, "%s/run_abl_cont_again", bb_test_tmpdir());
            run_args(args, sizeof args, data, "beat", run, extra);
            TEST_EQ_INT(run_cli(args, out, errf), 0);
            cJSON *again = parse_file(run, "manifest.json");
            TEST_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(again, "stage1"), "made_now")));
            TEST_TRUE(bb_path_exists(cont));
            cJSON_Delete(again);
        }
        free(cont);
        cJSON_Delete(man);
    }
    /* id-prompt with slots 0 follows BEAT's slot count under the same stage-1 config */
    snprintf(run, sizeof run, "%s/run_abl_idprompt", bb_test_tmpdir());
    snprintf(extra, sizeof extra, "--set stage1_config=%s/../tiny_s1_nomicro.json", data);
    run_args(args, sizeof args, data, "id-prompt", run, extra);
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    cJSON *man = parse_file(run, "manifest.json");
    TEST_NEAR(jnum(man, "slots_per_side"), 1, 0);
    cJSON_Delete(man);
}

/* ------------------------------------------------------------------------------------------
 * Row caps (task.max_*_rows) */

static void test_row_caps_subset(void) {
    enum { N = 30 };
    bb_explanations ex;
    bb_split sp;
    memset(&ex, 0, sizeof ex), memset(&sp, 0, sizeof sp);
    ex.n = sp.n = N;
    ex.rows = bb_calloc(N, sizeof *ex.rows);
    sp.part = bb_malloc(N);
    sp.uid = bb_malloc(N * sizeof *sp.uid);
    sp.iid = bb_malloc(N * sizeof *sp.iid);
    for (int r = 0; r < N; r++) {
        char text[32];
        snprintf(text, sizeof text, "row %d", r);
        ex.rows[r] = (bb_explanation){r % 7, r % 4, bb_strdup("t"), bb_strdup("u"), bb_strdup("i"),
                                      bb_strdup(text), (uint32_t)r + 2};
        /* 6 valid (r % 5 == 0), 6 test (r % 5 == 1, users 1, 6, 4, 2, 0, 5), 18 train */
        sp.part[r] = r % 5 == 0 ? BB_SPLIT_VALID : r % 5 == 1 ? BB_SPLIT_TEST : BB_SPLIT_TRAIN;
        sp.uid[r] = r % 7, sp.iid[r] = r % 4;
    }
    sp.n_train = 18, sp.n_valid = 6, sp.n_test = 6;
    bb_explanations a, b;
    bb_split sa, sb;
    bb_error err;
    const int caps[3] = {5, 0, 4};
    TEST_EQ_INT(bb_run_cap_rows(&ex, &sp, caps, 3, &a, &sa, &err), 1);
    TEST_EQ_INT(sa.n, 15);
    TEST_EQ_INT(a.n, 15);
    TEST_EQ_INT(sa.n_train, 5);
    TEST_EQ_INT(sa.n_valid, 6);
    TEST_EQ_INT(sa.n_test, 4);
    int prev = -1, users[7] = {0}, test_users[7] = {0}, n_users = 0, n_test_users = 0;
    for (size_t k = 0; k < sa.n; k++) {
        const int r = (int)a.rows[k].line - 2; /* the original row */
        TEST_TRUE(r > prev); /* split order kept */
        prev = r;
        TEST_EQ_INT(sa.part[k], sp.part[r]);
        TEST_EQ_INT(sa.uid[k], sp.uid[r]);
        TEST_EQ_INT(a.rows[k].iid, ex.rows[r].iid);
        TEST_STR_EQ(a.rows[k].explanation, ex.rows[r].explanation);
        TEST_TRUE(a.rows[k].explanation != ex.rows[r].explanation); /* a copy */
        n_users += !users[sa.uid[k]]++;
        if (sa.part[k] == BB_SPLIT_TEST) n_test_users += !test_users[sa.uid[k]]++;
    }
    TEST_EQ_INT(sa.n_users, n_users);
    TEST_EQ_INT(sa.n_test_users, n_test_users);
    /* the same seed: the same rows; another seed: other train rows */
    TEST_EQ_INT(bb_run_cap_rows(&ex, &sp, caps, 3, &b, &sb, &err), 1);
    int same = sb.n == sa.n;
    for (size_t k = 0; same && k < sa.n; k++) same = a.rows[k].line == b.rows[k].line;
    TEST_TRUE(same);
    bb_explanations_free(&b), bb_split_free(&sb);
    TEST_EQ_INT(bb_run_cap_rows(&ex, &sp, caps, 4, &b, &sb, &err), 1);
    same = sb.n == sa.n;
    for (size_t k = 0; same && k < sa.n; k++) same = a.rows[k].line == b.rows[k].line;
    TEST_TRUE(!same);
    bb_explanations_free(&b), bb_split_free(&sb);
    /* caps at or above a part's size, or 0, keep everything: nothing is copied */
    const int loose[3] = {18, 100, 0};
    b.n = 777;
    TEST_EQ_INT(bb_run_cap_rows(&ex, &sp, loose, 3, &b, &sb, &err), 0);
    TEST_EQ_INT(b.n, 777); /* untouched */
    bb_explanations_free(&a), bb_split_free(&sa);
    /* a split of another table */
    sp.n = 29;
    TEST_EQ_INT(bb_run_cap_rows(&ex, &sp, caps, 3, &a, &sa, &err), -1);
    TEST_TRUE(strstr(err.msg, "29 rows but the explanations 30") != NULL);
    sp.n = N;
    bb_explanations_free(&ex), bb_split_free(&sp);
}

/* uid,iid,reference of each generations.csv row. */
static int on_gen_key(void *ctx, const bb_csv_record *rec, bb_error *err) {
    (void)err;
    csv_rows *r = ctx;
    if (rec->index == 0) return BB_OK;
    if (rec->n != 4 || r->n >= 512) return BB_ERR;
    snprintf(r->refs[r->n++], sizeof r->refs[0], "%s,%s,%s", rec->fields[0], rec->fields[1], rec->fields[2]);
    return BB_OK;
}

static int gen_keys(const char *run, csv_rows *rows) {
    char *p = path_in(run, "generations.csv");
    bb_error err;
    rows->n = 0;
    int rc = bb_csv_read_file(p, on_gen_key, rows, &err);
    free(p);
    return rc == BB_OK ? rows->n : -1;
}

static char *file_text(const char *dir, const char *name) {
    char *p = path_in(dir, name);
    char *t = slurp(p);
    free(p);
    return t;
}

static void test_run_row_caps_same_rows(void) {
    SKIP_WITHOUT_BIN();
    const char *data = fixture();
    TEST_TRUE(data[0]);
    char run[1100], out[1100], errf[1100], args[8192];
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("run_caps.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("run_caps.err"));
    const char *caps = "--set task.max_train_rows=40,task.max_valid_rows=5,task.max_test_rows=7";
    static csv_rows full, capped[2];
    /* the full test rows (retrieval, no caps) */
    snprintf(run, sizeof run, "%s/run_caps_full", bb_test_tmpdir());
    run_args(args, sizeof args, data, "retrieval", run, "");
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    TEST_TRUE(gen_keys(run, &full) > 7);
    char *full_gen = file_text(run, "generations.csv");
    /* two methods, one seed, the same caps: the same 7 test rows, in split order */
    static const char *const methods[2] = {"retrieval", "nrt"};
    for (int m = 0; m < 2; m++) {
        snprintf(run, sizeof run, "%s/run_caps_%s", bb_test_tmpdir(), methods[m]);
        run_args(args, sizeof args, data, methods[m], run, caps);
        TEST_EQ_INT(run_cli(args, out, errf), 0);
        TEST_EQ_INT(gen_keys(run, &capped[m]), 7);
        cJSON *man = parse_file(run, "manifest.json");
        const cJSON *rows = cJSON_GetObjectItem(man, "task_rows");
        const cJSON *used = cJSON_GetObjectItem(rows, "used"), *cap = cJSON_GetObjectItem(rows, "caps");
        TEST_NEAR(jnum(used, "train"), 40, 0);
        TEST_NEAR(jnum(used, "valid"), 5, 0);
        TEST_NEAR(jnum(used, "test"), 7, 0);
        TEST_NEAR(jnum(cap, "train"), 40, 0);
        TEST_NEAR(jnum(cap, "test"), 7, 0);
        TEST_TRUE(jnum(cJSON_GetObjectItem(man, "split"), "train") > 40); /* the full split's */
        check_run_train_log(run, man);
        cJSON_Delete(man);
    }
    int j = 0;
    for (int k = 0; k < 7; k++) {
        TEST_STR_EQ(capped[0].refs[k], capped[1].refs[k]);
        while (j < full.n && strcmp(full.refs[j], capped[0].refs[k]) != 0) j++;
        TEST_TRUE(j < full.n); /* found after the previous one: a subsequence of the full rows */
        j++;
    }
    /* caps larger than the parts keep everything: the same bytes as no caps */
    snprintf(run, sizeof run, "%s/run_caps_loose", bb_test_tmpdir());
    run_args(args, sizeof args, data, "retrieval", run,
             "--set task.max_train_rows=100000,task.max_valid_rows=100000,task.max_test_rows=100000");
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    char *loose_gen = file_text(run, "generations.csv");
    TEST_STR_EQ(loose_gen, full_gen);
    free(loose_gen), free(full_gen);
    /* the LM and stage 1 do not depend on the caps: a capped beat run reuses both */
    char run_a[1100], run_b[1100];
    snprintf(run_a, sizeof run_a, "%s/run_caps_beat_full", bb_test_tmpdir());
    snprintf(run_b, sizeof run_b, "%s/run_caps_beat", bb_test_tmpdir());
    run_args(args, sizeof args, data, "beat", run_a, "");
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    run_args(args, sizeof args, data, "beat", run_b, caps);
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    cJSON *ma = parse_file(run_a, "manifest.json"), *mb = parse_file(run_b, "manifest.json");
    TEST_STR_EQ(jstr(cJSON_GetObjectItem(mb, "stage1"), "key"), jstr(cJSON_GetObjectItem(ma, "stage1"), "key"));
    TEST_STR_EQ(jstr(cJSON_GetObjectItem(mb, "lm"), "hash"), jstr(cJSON_GetObjectItem(ma, "lm"), "hash"));
    TEST_TRUE(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(mb, "stage1"), "made_now")));
    static csv_rows beat_rows;
    TEST_EQ_INT(gen_keys(run_b, &beat_rows), 7);
    for (int k = 0; k < 7; k++) TEST_STR_EQ(beat_rows.refs[k], capped[0].refs[k]);
    cJSON_Delete(ma), cJSON_Delete(mb);
    /* a negative cap is a config error naming the key */
    snprintf(run, sizeof run, "%s/run_caps_bad", bb_test_tmpdir());
    run_args(args, sizeof args, data, "retrieval", run, "--set task.max_test_rows=-1");
    TEST_EQ_INT(run_cli(args, out, errf), 2);
    char *e = slurp(errf);
    TEST_TRUE(strstr(e, "task.max_test_rows") != NULL);
    free(e);
}

/* ------------------------------------------------------------------------------------------
 * End to end on the default synthetic dataset (BB_E2E=1; about 4 minutes on 2 cores) */

typedef struct gen_pairs {
    char **refs, **cands;
    size_t *ref_lens, *cand_lens;
    int n;
} gen_pairs;

static int on_pair(void *ctx, const bb_csv_record *rec, bb_error *err) {
    (void)err;
    gen_pairs *g = ctx;
    if (rec->index == 0) return BB_OK;
    g->refs = bb_realloc(g->refs, (size_t)(g->n + 1) * sizeof *g->refs);
    g->cands = bb_realloc(g->cands, (size_t)(g->n + 1) * sizeof *g->cands);
    g->ref_lens = bb_realloc(g->ref_lens, (size_t)(g->n + 1) * sizeof *g->ref_lens);
    g->cand_lens = bb_realloc(g->cand_lens, (size_t)(g->n + 1) * sizeof *g->cand_lens);
    g->refs[g->n] = bb_strdup(rec->fields[2]);
    g->cands[g->n] = bb_strdup(rec->fields[3]);
    g->ref_lens[g->n] = strlen(rec->fields[2]);
    g->cand_lens[g->n] = strlen(rec->fields[3]);
    g->n++;
    return BB_OK;
}

static void gen_pairs_free(gen_pairs *g) {
    for (int k = 0; k < g->n; k++) free(g->refs[k]), free(g->cands[k]);
    free(g->refs), free(g->cands), free(g->ref_lens), free(g->cand_lens);
    memset(g, 0, sizeof *g);
}

static void test_e2e_beat_beats_id_prompt_zero_shot(void) {
    if (!getenv("BB_E2E")) TEST_SKIP("set BB_E2E=1 (trains a real small LM; about 4 minutes on 2 cores)");
    SKIP_WITHOUT_BIN();
    snprintf(cache_dir, sizeof cache_dir, "%s", bb_test_tmp_path("e2e_cache"));
    char data[1100], lm[1100], out[1100], errf[1100], args[8192];
    snprintf(data, sizeof data, "%s", bb_test_tmp_path("e2e_synth"));
    snprintf(lm, sizeof lm, "%s", bb_test_tmp_path("e2e_lm"));
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("e2e.out"));
    snprintf(errf, sizeof errf, "%s", bb_test_tmp_path("e2e.err"));
    snprintf(args, sizeof args, "data synth --out %s --seed 1", data);
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    snprintf(args, sizeof args, "lm pretrain --data %s --out %s --config harness/configs/run/demo_lm.json "
                                "--threads 2 --seed 1", data, lm);
    TEST_EQ_INT(run_cli(args, out, errf), 0);
    static const char *const methods[2] = {"beat", "id-prompt"};
    gen_pairs g[2];
    text_score_result s[2];
    memset(g, 0, sizeof g);
    bb_error err;
    for (int m = 0; m < 2; m++) {
        char run[1200];
        snprintf(run, sizeof run, "%s/e2e_%s", bb_test_tmpdir(), methods[m]);
        snprintf(args, sizeof args, "run --data %s --method %s --lm %s --config harness/configs/run/demo.json "
                                    "--out %s --threads 2 --seed 1", data, methods[m], lm, run);
        TEST_EQ_INT(run_cli(args, out, errf), 0);
        char *p = path_in(run, "generations.csv");
        TEST_OK(bb_csv_read_file(p, on_pair, &g[m], &err), &err);
        free(p);
        text_score_options opt = text_score_defaults();
        TEST_OK(text_score_compute((const char *const *)g[m].refs, g[m].ref_lens,
                                   (const char *const *)g[m].cands, g[m].cand_lens, (size_t)g[m].n,
                                   &opt, &s[m], &err), &err);
    }
    TEST_EQ_INT(g[0].n, g[1].n);
    for (int k = 0; k < g[0].n; k++) TEST_STR_EQ(g[0].refs[k], g[1].refs[k]);
    signif_bootstrap bleu, rouge;
    TEST_OK(signif_bootstrap_bleu(s[0].pair_bleu_stats, s[1].pair_bleu_stats, (size_t)g[0].n,
                                  BLEU_SMOOTH_METHOD1, 1000, 1, &bleu, &err), &err);
    TEST_OK(signif_bootstrap_mean(s[0].pair_rougeL_f, s[1].pair_rougeL_f, (size_t)g[0].n, 1000, 1,
                                  &rouge, &err), &err);
    fprintf(stderr,
            "    zero-shot test pairs %d\n"
            "    BEAT      BLEU-4 %.4f  ROUGE-L F %.4f  Distinct-2 %.4f  USR %.4f\n"
            "    ID-prompt BLEU-4 %.4f  ROUGE-L F %.4f  Distinct-2 %.4f  USR %.4f\n"
            "    paired bootstrap (1000): BLEU-4 diff %.4f [%.4f, %.4f] p %.4g; ROUGE-L diff %.4f "
            "[%.4f, %.4f] p %.4g\n",
            g[0].n, s[0].bleu[3], s[0].rougeL.fmeasure, s[0].distinct2, s[0].usr, s[1].bleu[3],
            s[1].rougeL.fmeasure, s[1].distinct2, s[1].usr, bleu.observed, bleu.ci_low, bleu.ci_high,
            bleu.p_value, rouge.observed, rouge.ci_low, rouge.ci_high, rouge.p_value);
    TEST_TRUE(bleu.observed > 0 && bleu.p_value < 0.05);
    TEST_TRUE(rouge.observed > 0 && rouge.p_value < 0.05);
    TEST_TRUE(s[0].usr > 0.2);       /* not one sentence for everyone */
    TEST_TRUE(s[0].distinct2 > 0.1); /* nor a handful of phrases */
    for (int m = 0; m < 2; m++) {
        text_score_result_free(&s[m]);
        gen_pairs_free(&g[m]);
    }
}

const bb_test bb_suite_run[] = {
    {"run_config_defaults_and_domain", test_run_config_defaults_and_domain},
    {"beat_run_directory_json_and_reuse", test_run_beat_run_directory_json_and_reuse},
    {"every_method", test_run_every_method},
    {"errors_leave_nothing", test_run_errors_leave_nothing},
    {"beat_explain_cli", test_beat_explain_cli},
    {"beat_on_stage1_ablations", test_run_beat_on_stage1_ablations},
    {"row_caps_subset", test_row_caps_subset},
    {"row_caps_same_rows", test_run_row_caps_same_rows},
    {"e2e_beat_beats_id_prompt_zero_shot", test_e2e_beat_beats_id_prompt_zero_shot},
    {NULL, NULL},
};
