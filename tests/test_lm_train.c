/* Tests for pretraining, the LM directory and the `lm` command (models/lm/lm_train.h,
 * lm_io.h, lm_corpus.h, harness/cmd_lm.c) on a small synthetic dataset: the corpus keeps
 * test text out, the schedule and evaluation windows are hand-checked, a stopped and
 * resumed run equals an uninterrupted one bit for bit, save -> load gives identical
 * logits, corrupt or mismatched files are errors, and the CLI runs end to end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/commands.h"
#include "models/base/bb_io.h"
#include "models/lm/lm_corpus.h"
#include "models/lm/lm_io.h"
#include "models/lm/lm_train.h"
#include "tests/testhelp.h"

static int run_cli(int argc, const char **argv) { return bb_cli_main(argc, (char **)argv); }

/* A small synthetic dataset, made once per test run. */
static const char *synth_dir(void) {
    static char dir[1024];
    if (!dir[0]) {
        setenv("BB_QUIET", "1", 1);
        snprintf(dir, sizeof dir, "%s", bb_test_tmp_path("lm_synth"));
        const char *argv[] = {"data",    "synth", "--out",          dir,    "--users",     "200",
                              "--items", "120",   "--interactions", "2000", "--explained", "240",
                              "--seed",  "3"};
        if (run_cli(14, argv) != 0) dir[0] = '\0';
    }
    return dir[0] ? dir : NULL;
}

static lm_config tiny_config(void) {
    lm_config c = lm_config_default();
    c.vocab = 320, c.context = 16, c.d_model = 16, c.n_layers = 1, c.n_heads = 2;
    c.batch = 4, c.steps = 6, c.warmup = 1, c.lr = 3e-3;
    c.eval_every = 0, c.eval_windows = 4, c.checkpoint_every = 0;
    return c;
}

static int files_equal(const char *a, const char *b) {
    char *x, *y;
    size_t nx, ny;
    bb_error err;
    if (bb_read_file(a, &x, &nx, &err) != BB_OK) return 0;
    if (bb_read_file(b, &y, &ny, &err) != BB_OK) {
        free(x);
        return 0;
    }
    int same = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

static void test_schedule_and_eval_windows(void) {
    lm_config c = lm_config_default();
    c.lr = 1.0, c.warmup = 4, c.min_lr_ratio = 0.1;
    TEST_NEAR(lm_config_lr(&c, 0, 14), 0.25, 1e-12); /* warmup: (step + 1) / warmup */
    TEST_NEAR(lm_config_lr(&c, 3, 14), 1.0, 1e-12);
    TEST_NEAR(lm_config_lr(&c, 4, 14), 1.0, 1e-12);  /* cosine starts at the peak ... */
    TEST_NEAR(lm_config_lr(&c, 13, 14), 0.1, 1e-12); /* ... and ends at lr * min_lr_ratio */
    TEST_NEAR(lm_config_lr(&c, 8, 14), 0.1 + 0.45 * (1 + cos(M_PI * 4.0 / 9.0)), 1e-12);
    /* Windows of T + 1 = 5 over 10 tokens: targets 1..4, 5..8, 9: every token but the first. */
    lm_arch a = {.vocab = 5, .context = 4, .d_model = 4, .n_layers = 1, .n_heads = 1};
    lm_model *lm = lm_create(&a, 1);
    int32_t stream[10] = {0, 1, 2, 3, 4, 0, 1, 2, 3, 0};
    double logp[5], ce;
    double h = lm_unigram(stream, 10, 5, logp);
    lm_loss l = lm_eval_stream(lm, stream, 10, 4, 2, 0, logp, &ce);
    lm_free(lm);
    TEST_EQ_INT(l.count, 9);
    /* Add-one smoothing: counts 3,2,2,2,1 over 10 tokens and 5 types -> (c + 1) / 15. */
    TEST_NEAR(logp[0], log(4.0 / 15.0), 1e-12);
    TEST_NEAR(
        h, -(4.0 / 15 * log(4.0 / 15) + 3 * (3.0 / 15) * log(3.0 / 15) + 2.0 / 15 * log(2.0 / 15)),
        1e-12);
    /* Targets 1,2,3,4,0,1,2,3,0: two 0s, two each of 1..3, one 4. */
    double want = -(2 * log(4.0 / 15) + 6 * log(3.0 / 15) + log(2.0 / 15)) / 9.0;
    TEST_NEAR(ce, want, 1e-12);
}

static void test_corpus_keeps_test_text_out(void) {
    const char *dir = synth_dir();
    TEST_TRUE(dir != NULL);
    lm_corpus c;
    bb_error err;
    TEST_OK(lm_corpus_build(dir, NULL, 5, &c, &err), &err);
    int leaked = 0, test_rows = 0, train_expl = 0;
    for (size_t r = 0; r < c.ex.n; r++) {
        const char *e = c.ex.rows[r].explanation;
        int in_train = 0;
        for (size_t i = 0; i < c.n_train && !in_train; i++)
            in_train = c.train_len[i] == strlen(e) && memcmp(c.train[i], e, c.train_len[i]) == 0;
        if (c.split.part[r] == BB_SPLIT_TEST) test_rows++, leaked += in_train;
        if (c.split.part[r] == BB_SPLIT_TRAIN) train_expl += in_train;
    }
    size_t n_valid = c.n_valid, n_train_rows = c.split.n_train;
    lm_corpus_free(&c);
    TEST_TRUE(test_rows > 0);
    TEST_EQ_INT(leaked, 0);
    TEST_EQ_INT(train_expl, n_train_rows); /* every train explanation is training text */
    TEST_TRUE(n_valid > 0);
}

static void test_resume_is_bit_identical(void) {
    const char *dir = synth_dir();
    TEST_TRUE(dir != NULL);
    lm_corpus c;
    bb_error err;
    TEST_OK(lm_corpus_build(dir, NULL, 5, &c, &err), &err);
    lm_config cfg = tiny_config();
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s", bb_test_tmp_path("lm_full"));
    snprintf(b, sizeof b, "%s", bb_test_tmp_path("lm_resumed"));
    lm_train_opts o = {.out_dir = a, .seed = 5, .threads = 2};
    lm_train_result r1, r2, r3, r4;
    TEST_OK(lm_pretrain(&c, &cfg, &o, &r1, &err), &err);
    o.out_dir = b;
    o.stop_after = 3;
    TEST_OK(lm_pretrain(&c, &cfg, &o, &r2, &err), &err);
    o.resume = 1;
    o.stop_after = 0;
    TEST_OK(lm_pretrain(&c, &cfg, &o, &r3, &err), &err);
    /* A resume under another config is refused, naming the key. */
    lm_config other = cfg;
    other.lr = 1e-2;
    int rc = lm_pretrain(&c, &other, &o, &r4, &err);
    lm_corpus_free(&c);
    TEST_TRUE(r1.finished && !r2.finished && r3.finished);
    TEST_EQ_INT(r2.steps_done, 3);
    TEST_EQ_INT(r3.start_step, 3);
    TEST_TRUE(r1.valid_loss < r1.unigram_valid_ce + 2.0 && isfinite(r1.valid_loss));
    char pa[1100], pb[1100];
    snprintf(pa, sizeof pa, "%s/model.safetensors", a);
    snprintf(pb, sizeof pb, "%s/model.safetensors", b);
    TEST_TRUE(files_equal(pa, pb));
    snprintf(pa, sizeof pa, "%s/checkpoint/optimizer.safetensors", a);
    snprintf(pb, sizeof pb, "%s/checkpoint/optimizer.safetensors", b);
    TEST_TRUE(files_equal(pa, pb));
    TEST_TRUE(rc == BB_ERR && strstr(err.msg, "key 'lr' differs"));
}

static void test_save_load_identical_logits(void) {
    const char *dir = bb_test_tmp_path("lm_saved");
    char d[1024];
    snprintf(d, sizeof d, "%s", dir);
    const char *texts[] = {"the food was fresh", "quick friendly service"};
    lm_bundle b = {tiny_config(), NULL, NULL};
    bb_error err;
    TEST_OK(lm_bpe_train(texts, NULL, 2, 300, 1, &b.tok, &err), &err);
    lm_arch arch = lm_config_arch(&b.cfg, b.tok->vocab_size);
    b.model = lm_create(&arch, 17);
    TEST_OK(lm_bundle_save(d, &b, NULL, &err), &err);
    lm_bundle back;
    TEST_OK(lm_bundle_load(d, &back, &err), &err);
    int32_t ids[6] = {1, 40, 200, 7, 7, lm_bpe_special(b.tok, LM_EOS)};
    lm_input in = {.B = 1, .T = 6, .ids = ids};
    size_t n = 6 * (size_t)b.tok->vocab_size;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    lm_logits(b.model, &in, x);
    lm_logits(back.model, &in, y);
    int same = memcmp(x, y, n * sizeof(float)) == 0;
    int same_vocab = back.tok->vocab_size == b.tok->vocab_size;
    free(x), free(y);
    lm_bundle_free(&back);
    lm_bundle_free(&b);
    TEST_TRUE(same);
    TEST_TRUE(same_vocab);
}

/* Rewrites part of a file of the saved LM directory. */
static void patch_file(const char *dir, const char *name, long offset, const char *bytes,
                       long truncate_to) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text;
    size_t len;
    bb_error err;
    if (bb_read_file(path, &text, &len, &err) != BB_OK) return;
    if (truncate_to >= 0 && (size_t)truncate_to < len) len = (size_t)truncate_to;
    if (bytes) memcpy(text + offset, bytes, strlen(bytes));
    bb_write_file_atomic(path, text, len, &err);
    free(text);
}

static void test_corrupt_files_are_errors(void) {
    const char *texts[] = {"the food was fresh", "quick friendly service"};
    lm_bundle b = {tiny_config(), NULL, NULL}, back;
    bb_error err;
    TEST_OK(lm_bpe_train(texts, NULL, 2, 300, 1, &b.tok, &err), &err);
    lm_arch arch = lm_config_arch(&b.cfg, b.tok->vocab_size);
    b.model = lm_create(&arch, 17);
    char d[1024];
    snprintf(d, sizeof d, "%s", bb_test_tmp_path("lm_corrupt"));
    /* Truncated weights. */
    TEST_OK(lm_bundle_save(d, &b, NULL, &err), &err);
    patch_file(d, "model.safetensors", 0, NULL, 1000);
    TEST_ERR_CONTAINS(lm_bundle_load(d, &back, &err), &err, "model.safetensors");
    /* A header length pointing past the end of the file. */
    TEST_OK(lm_bundle_save(d, &b, NULL, &err), &err);
    patch_file(d, "model.safetensors", 0, "\xff\xff\xff\x7f", -1);
    TEST_ERR_CONTAINS(lm_bundle_load(d, &back, &err), &err, "model.safetensors");
    /* A config that does not match the weights (d_model 16 -> 32). */
    TEST_OK(lm_bundle_save(d, &b, NULL, &err), &err);
    char cfg_path[1100];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", d);
    char *cfg_text;
    size_t len;
    TEST_OK(bb_read_file(cfg_path, &cfg_text, &len, &err), &err);
    char *p = strstr(cfg_text, "\"d_model\": 16");
    TEST_TRUE(p != NULL);
    memcpy(p, "\"d_model\": 32", 13);
    TEST_OK(bb_write_file_atomic(cfg_path, cfg_text, len, &err), &err);
    free(cfg_text);
    TEST_ERR_CONTAINS(lm_bundle_load(d, &back, &err), &err,
                      "metadata 'd_model' is 16 but the model has 32");
    /* A tokenizer of another size than the config says. */
    TEST_OK(lm_bundle_save(d, &b, NULL, &err), &err);
    lm_bpe *small;
    TEST_OK(lm_bpe_train(texts, NULL, 2, 270, 1, &small, &err), &err);
    char tok_path[1100];
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", d);
    TEST_OK(lm_bpe_save(small, tok_path, &err), &err);
    lm_bpe_free(small);
    TEST_ERR_CONTAINS(lm_bundle_load(d, &back, &err), &err, "key 'vocab'");
    lm_bundle_free(&b);
}

static void test_cli_end_to_end(void) {
    const char *dir = synth_dir();
    TEST_TRUE(dir != NULL);
    char out[1024], cfg[1024], bad[1024];
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("lm_cli"));
    snprintf(cfg, sizeof cfg, "%s", bb_test_tmp_path("tiny.json"));
    snprintf(bad, sizeof bad, "%s", bb_test_tmp_path("bad.json"));
    bb_error err;
    const char *tiny = "{\"vocab\": 300, \"context\": 16, \"d_model\": 16, \"n_layers\": 1,\n"
                       " \"n_heads\": 2, \"batch\": 2, \"steps\": 3, \"warmup\": 1}\n";
    TEST_OK(bb_write_file_atomic(cfg, tiny, strlen(tiny), &err), &err);
    const char *bad_text = "{\"d_model\": 16,\n \"n_head\": 2}\n";
    TEST_OK(bb_write_file_atomic(bad, bad_text, strlen(bad_text), &err), &err);
    const char *pre[] = {"lm", "pretrain", "--data", dir,         "--config",
                         cfg,  "--out",    out,      "--threads", "2"};
    TEST_EQ_INT(run_cli(10, pre), 0);
    char split[1100];
    snprintf(split, sizeof split, "%s/split.csv", out);
    TEST_TRUE(bb_path_exists(split));
    /* The kept split gives the same corpus: resuming a finished run is accepted. */
    const char *again[] = {"lm",    "pretrain", "--data",   dir,         "--split", split,
                           "--out", out,        "--resume", "--threads", "2"};
    TEST_EQ_INT(run_cli(11, again), 0);
    const char *badcfg[] = {"lm", "pretrain", "--data", dir, "--config", bad, "--out", out};
    TEST_EQ_INT(run_cli(8, badcfg), 1);
    const char *bench[] = {"lm", "bench", "--config", cfg, "--steps", "1"};
    TEST_EQ_INT(run_cli(6, bench), 0);
    const char *nodata[] = {"lm", "pretrain", "--out", out};
    TEST_EQ_INT(run_cli(4, nodata), 2);
    const char *unknown[] = {"lm", "train"};
    TEST_EQ_INT(run_cli(2, unknown), 2);
    const char *layer[] = {"lm", "encode", "--lm", out, "--layer", "7"};
    TEST_EQ_INT(run_cli(6, layer), 2);
    /* lm encode reads stdin: run the binary (make test sets BB_BIN). */
    const char *bin = getenv("BB_BIN");
    if (!bin) return;
    char cmd[3000], buf[65536];
    snprintf(cmd, sizeof cmd, "printf 'fresh food\\nquick service\\n\\n' | %s lm encode --lm %s",
             bin, out);
    FILE *fp = popen(cmd, "r");
    TEST_TRUE(fp != NULL);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    TEST_EQ_INT(pclose(fp), 0);
    int lines = 0, commas = 0;
    for (size_t i = 0; i < n; i++) lines += buf[i] == '\n', commas += buf[i] == ',';
    TEST_EQ_INT(lines, 3);       /* one row per input line, the empty one included */
    TEST_EQ_INT(commas, 3 * 15); /* d_model 16 values per row */
    /* lm generate prints one JSON object (its text may hold partial UTF-8: keep it here). */
    snprintf(cmd, sizeof cmd, "%s lm generate --lm %s --prompt 'The user' --max-new 3 --json", bin,
             out);
    fp = popen(cmd, "r");
    TEST_TRUE(fp != NULL);
    n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    TEST_EQ_INT(pclose(fp), 0);
    TEST_TRUE(strstr(buf, "\"prompt_tokens\": ") && strstr(buf, "\"tokens\": "));
}

const bb_test bb_suite_lm_train[] = {
    {"schedule_and_eval_windows", test_schedule_and_eval_windows},
    {"corpus_keeps_test_text_out", test_corpus_keeps_test_text_out},
    {"resume_is_bit_identical", test_resume_is_bit_identical},
    {"save_load_identical_logits", test_save_load_identical_logits},
    {"corrupt_files_are_errors", test_corrupt_files_are_errors},
    {"cli_end_to_end", test_cli_end_to_end},
    {NULL, NULL},
};
