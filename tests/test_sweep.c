/* Tests for harness/sweep*: config parsing and cells, the tables, resume after kill -9 at
 * several points (byte-identical tables), --jobs invariance, failed cells. The sweeps use the
 * ranking methods and retrieval on a small synthetic dataset, so each takes well under a second. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/sweep.h"
#include "models/base/bb_io.h"
#include "tests/testhelp.h"

static const char *small_sweep =
    "{\"name\": \"small\", \"datasets\": [\"synth\"],\n"
    " \"synth\": {\"users\": 240, \"items\": 160, \"interactions\": 4000, \"explained\": 480},\n"
    " \"methods\": [\"pop\", \"mf\", \"retrieval\"], \"seeds\": [1, 2], \"threads\": 1,\n"
    " \"rank\": {\"epochs\": 3, \"dim\": 16},\n"
    " \"run\": {\"bertscore\": false}}\n";

static char *slurp(const char *dir, const char *name) {
    char *p = bb_path_join(dir, name);
    char *text = NULL;
    bb_error e;
    if (bb_read_file(p, &text, NULL, &e) != BB_OK) text = NULL;
    free(p);
    return text;
}

/* The path lives in a small ring of buffers, as bb_test_tmp_path's one buffer is reused. */
static const char *write_config(const char *name, const char *text) {
    static char ring[4][600];
    static int next;
    char *path = ring[next++ % 4];
    snprintf(path, sizeof ring[0], "%s", bb_test_tmp_path(name));
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

static void use_tmp_cache(void) { setenv("BB_CACHE_DIR", bb_test_tmp_path("sweep-cache"), 1); }

/* Runs the sweep in this process (quiet); returns the bb_sweep_run code. */
static int run_sweep(const char *config, const char *out, int jobs, int resume, bb_sweep_summary *sum,
                     bb_error *err) {
    bb_sweep sw;
    int rc = bb_sweep_load(config, &sw, err);
    bb_sweep_opts o = {.out_dir = out, .jobs = jobs, .resume = resume, .quiet = 1};
    bb_sweep_summary local;
    if (rc == BB_OK) rc = bb_sweep_run(&sw, &o, sum ? sum : &local, err);
    bb_sweep_free(&sw);
    return rc;
}

/* Runs the sweep in a child process of its own process group with BB_SWEEP_CRASH set, so the
 * crash point kills that group only; returns 1 when the child was killed. */
static int run_sweep_killed_at(const char *config, const char *out, int jobs, const char *crash,
                               const char *counter) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        setpgid(0, 0);
        setenv("BB_SWEEP_CRASH", crash, 1);
        setenv("BB_SWEEP_CRASH_COUNTER", counter, 1);
        unlink(counter);
        bb_error err;
        int rc = run_sweep(config, out, jobs, 1, NULL, &err);
        _exit(rc == BB_OK ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static int same_tables_quiet(const char *a, const char *b, int quiet) {
    static const char *const names[] = {"results.csv", "curves.csv", "cells.csv", "failures.csv"};
    for (size_t k = 0; k < 4; k++) {
        char *x = slurp(a, names[k]), *y = slurp(b, names[k]);
        int same = x && y && strcmp(x, y) == 0;
        if (!same && !quiet) fprintf(stderr, "    %s differs between %s and %s\n", names[k], a, b);
        free(x), free(y);
        if (!same) return 0;
    }
    return 1;
}

static int same_tables(const char *a, const char *b) { return same_tables_quiet(a, b, 0); }

static void test_cells_of_a_grid(void) {
    const char *cfg = write_config(
        "grid.json",
        "{\"datasets\": [\"synth\"], \"methods\": [\"beat\", \"pop\"], \"seeds\": [3, 4],\n"
        " \"grid\": {\"stage1.codebook_size\": [16, 64], \"explain.lr\": [0.001]}}\n");
    bb_sweep sw;
    bb_error err;
    TEST_OK(bb_sweep_load(cfg, &sw, &err), &err);
    TEST_EQ_INT(sw.n_cells, 1 * 2 * 2 * 2);
    /* nesting: datasets, methods, points (first grid key slowest), seeds */
    TEST_STR_EQ(sw.cells[0].method, "beat");
    TEST_STR_EQ(sw.cells[0].variant, "stage1.codebook_size=16+explain.lr=0.001");
    TEST_EQ_INT(sw.cells[0].seed, 3);
    TEST_EQ_INT(sw.cells[1].seed, 4);
    TEST_STR_EQ(sw.cells[2].variant, "stage1.codebook_size=64+explain.lr=0.001");
    TEST_EQ_INT(sw.cells[2].stage1.codebook_size, 64);
    TEST_NEAR(sw.cells[2].run.explain.lr, 0.001, 0);
    TEST_STR_EQ(sw.cells[4].method, "pop");
    TEST_EQ_INT(sw.cells[4].kind, BB_CELL_RANK);
    TEST_OK(bb_sweep_resolve_ids(&sw, bb_test_tmp_path("grid-out"), &err), &err);
    /* beat cells differ by codebook size and seed; pop ignores stage 1: one cell per seed */
    TEST_TRUE(strcmp(sw.cells[0].id, sw.cells[2].id) != 0);
    TEST_TRUE(strcmp(sw.cells[0].id, sw.cells[1].id) != 0);
    TEST_TRUE(strcmp(sw.cells[4].id, sw.cells[6].id) == 0 && sw.cells[4].first && !sw.cells[6].first);
    bb_sweep_free(&sw);
}

static void test_variants_set_method_and_keys(void) {
    const char *cfg = write_config(
        "variants.json",
        "{\"datasets\": [\"synth\"], \"stage1\": {\"codebook_size\": 32},\n"
        " \"variants\": [{\"name\": \"full\"}, {\"name\": \"no_macro\", \"set\": {\"stage1.no_macro\": true}},\n"
        "              {\"name\": \"no_sar\", \"set\": {\"explain.no_sar\": true}},\n"
        "              {\"name\": \"id-prompt\", \"set\": {\"method\": \"id-prompt\"}}]}\n");
    bb_sweep sw;
    bb_error err;
    TEST_OK(bb_sweep_load(cfg, &sw, &err), &err);
    TEST_EQ_INT(sw.n_cells, 4);
    TEST_STR_EQ(sw.cells[0].variant, "full");
    TEST_EQ_INT(sw.cells[0].stage1.codebook_size, 32); /* the section applies to every cell */
    TEST_EQ_INT(sw.cells[0].stage1.no_macro, 0);
    TEST_EQ_INT(sw.cells[1].stage1.no_macro, 1);
    TEST_EQ_INT(sw.cells[2].run.explain.no_sar, 1);
    TEST_STR_EQ(sw.cells[3].method, "id-prompt");
    TEST_STR_EQ(sw.cells[3].run.method, "id-prompt");
    bb_sweep_free(&sw);
}

static void test_config_errors_name_the_key(void) {
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"datasets\": [\"synth\"], \"seedz\": [1]}", "key 'seedz': unknown key (did you mean 'seeds'?)"},
        {"{\"methods\": [\"pop\"]}", "key 'datasets': required"},
        {"{\"datasets\": [\"synth\"], \"grid\": {\"stage1.codebok_size\": [16]}}", "codebok_size"},
        {"{\"datasets\": [\"synth\"], \"grid\": {\"stage1.codebook_size\": [0]}}", "codebook_size"},
        {"{\"datasets\": [\"synth\"], \"methods\": [\"bert\"]}", "key 'method'"},
        {"{\"datasets\": [\"synth\"], \"grid\": {\"explain.lr\": [0.1]}, \"variants\": [{\"name\": \"a\"}]}",
         "use one of them"},
        {"{\"datasets\": [\"synth\"], \"variants\": [{\"name\": \"a,b\"}]}", "variants[0]"},
        {"{\"datasets\": [\"synth\"], \"seeds\": [-1]}", "seeds[0]"},
        {"{\"datasets\": [\"synth\"], \"rank\": {\"mask\": \"all\"}}", "mask"},
        {"[1, 2]", "not a JSON object"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        bb_sweep sw;
        bb_error err = {{0}};
        int rc = bb_sweep_parse("bad.json", cases[k].text, &sw, &err);
        bb_sweep_free(&sw);
        if (rc == BB_OK) bb_test_fail(__FILE__, __LINE__, "case %zu parsed", k);
        TEST_TRUE(rc != BB_OK);
        if (!strstr(err.msg, cases[k].want) || !strstr(err.msg, "bad.json"))
            bb_test_fail(__FILE__, __LINE__, "case %zu: message \"%s\" lacks \"%s\"", k, err.msg, cases[k].want);
        TEST_TRUE(strchr(err.msg, '\n') == NULL);
    }
}

static void test_tables_of_a_small_sweep(void) {
    use_tmp_cache();
    const char *cfg = write_config("small.json", small_sweep);
    const char *out = bb_test_tmp_path("small-out");
    bb_sweep_summary sum;
    bb_error err;
    TEST_OK(run_sweep(cfg, out, 1, 0, &sum, &err), &err);
    TEST_EQ_INT(sum.ok_cells, 6);
    TEST_EQ_INT(sum.failed_cells, 0);
    TEST_EQ_INT(sum.ran, 6);
    char *results = slurp(out, "results.csv");
    TEST_TRUE(results != NULL);
    TEST_TRUE(strncmp(results, "dataset,method,variant,seed,split,metric,value\n", 47) == 0);
    /* every ranking cell has valid and test rows; retrieval has its text metrics */
    TEST_TRUE(strstr(results, "\nsynth,mf,default,2,test,recall@20,") != NULL);
    TEST_TRUE(strstr(results, "\nsynth,pop,default,1,valid,ndcg@10,") != NULL);
    TEST_TRUE(strstr(results, "\nsynth,retrieval,default,1,test,bleu4,") != NULL);
    TEST_TRUE(strstr(results, "\nsynth,retrieval,default,2,test,rougeL_f,") != NULL);
    TEST_TRUE(strstr(results, "bertscore") == NULL);
    free(results);
    char *curves = slurp(out, "curves.csv");
    TEST_TRUE(curves && strstr(curves, "\nsynth,mf,default,1,rank,3,recall@20,") != NULL);
    free(curves);
    char *cells = slurp(out, "cells.csv");
    TEST_TRUE(cells && strstr(cells, ",synth,retrieval,default,2,ok\n") != NULL);
    free(cells);
    /* the same directory again without --resume is refused; with it, nothing reruns */
    TEST_ERR_CONTAINS(run_sweep(cfg, out, 1, 0, NULL, &err), &err, "--resume");
    TEST_OK(run_sweep(cfg, out, 1, 1, &sum, &err), &err);
    TEST_EQ_INT(sum.ran, 0);
    TEST_EQ_INT(sum.reused, 6);
}

static void test_jobs_do_not_change_results(void) {
    use_tmp_cache();
    const char *cfg = write_config("small.json", small_sweep);
    const char *one = bb_strdup(bb_test_tmp_path("jobs-1"));
    const char *two = bb_strdup(bb_test_tmp_path("jobs-2"));
    bb_error err;
    TEST_OK(run_sweep(cfg, one, 1, 0, NULL, &err), &err);
    TEST_OK(run_sweep(cfg, two, 3, 0, NULL, &err), &err);
    TEST_TRUE(same_tables(one, two));
    free((void *)one), free((void *)two);
}

/* kill -9 of the whole sweep at several points, then --resume: the same tables as a sweep that
 * was never interrupted, and only unfinished cells rerun. */
static void test_resume_after_kill_is_byte_identical(void) {
    use_tmp_cache();
    const char *cfg = write_config("small.json", small_sweep);
    char *reference = bb_strdup(bb_test_tmp_path("resume-ref"));
    bb_error err;
    TEST_OK(run_sweep(cfg, reference, 1, 0, NULL, &err), &err);
    static const struct {
        const char *crash;
        int jobs;
    } points[] = {
        {"cell-start#1", 1},          {"cell-start#4", 1},          {"cell-before-commit#2", 1},
        {"cell-before-commit#5", 2},  {"after-cell#3", 1},          {"tables-before-commit#1", 1},
        {"tables-before-commit#6", 2},
    };
    char counter[600];
    snprintf(counter, sizeof counter, "%s", bb_test_tmp_path("crash-counter"));
    for (size_t k = 0; k < sizeof points / sizeof *points; k++) {
        char name[64];
        snprintf(name, sizeof name, "resume-%zu", k);
        char *out = bb_strdup(bb_test_tmp_path(name));
        int killed = run_sweep_killed_at(cfg, out, points[k].jobs, points[k].crash, counter);
        if (killed != 1) bb_test_fail(__FILE__, __LINE__, "%s: the sweep was not killed", points[k].crash);
        TEST_TRUE(killed == 1);
        /* the kill left the tables unfinished (with 2 jobs a table write may already hold a
         * cell that finished meanwhile, so only the serial points are sure to) */
        if (points[k].jobs == 1) TEST_TRUE(!same_tables_quiet(reference, out, 1));
        bb_sweep_summary sum;
        TEST_OK(run_sweep(cfg, out, 1, 1, &sum, &err), &err);
        TEST_EQ_INT(sum.ran + sum.reused, 6);
        TEST_EQ_INT(sum.failed, 0);
        if (!same_tables(reference, out)) bb_test_fail(__FILE__, __LINE__, "after %s", points[k].crash);
        TEST_TRUE(same_tables(reference, out));
        free(out);
    }
    free(reference);
}

/* A cell that fails at run time is recorded with its reason; the others go on. */
static void test_failed_cell_is_recorded(void) {
    use_tmp_cache();
    /* a dataset whose test split names an item it does not have */
    const char *good_cfg = write_config("small.json", small_sweep);
    char src_out[600];
    snprintf(src_out, sizeof src_out, "%s", bb_test_tmp_path("fail-src"));
    bb_error err;
    TEST_OK(run_sweep(good_cfg, src_out, 1, 0, NULL, &err), &err);
    char bad_dir[600];
    snprintf(bad_dir, sizeof bad_dir, "%s", bb_test_tmp_path("broken"));
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/data/synth' '%s' && printf '0,x9\\n' >> '%s/test.csv'",
             bad_dir, src_out, bad_dir, bad_dir);
    TEST_EQ_INT(system(cmd), 0);
    char text[1024];
    snprintf(text, sizeof text,
             "{\"datasets\": [\"%s\", \"synth\"], \"methods\": [\"pop\"], \"threads\": 1,"
             " \"synth\": {\"users\": 240, \"items\": 160, \"interactions\": 4000, \"explained\": 480}}",
             bad_dir);
    const char *cfg = write_config("failing.json", text);
    const char *out = bb_test_tmp_path("fail-out");
    bb_sweep_summary sum;
    TEST_OK(run_sweep(cfg, out, 1, 0, &sum, &err), &err);
    TEST_EQ_INT(sum.failed_cells, 1);
    TEST_EQ_INT(sum.ok_cells, 1);
    char *failures = slurp(out, "failures.csv");
    TEST_TRUE(failures != NULL);
    TEST_TRUE(strstr(failures, "broken,pop,default,1,") != NULL);
    TEST_TRUE(strstr(failures, "test.csv") != NULL); /* the reason names the file */
    free(failures);
    char *results = slurp(out, "results.csv");
    TEST_TRUE(results && strstr(results, "\nbroken,") == NULL && strstr(results, "\nsynth,pop,") != NULL);
    free(results);
    char *cells = slurp(out, "cells.csv");
    TEST_TRUE(cells && strstr(cells, ",broken,pop,default,1,failed\n") != NULL);
    free(cells);
}

static void test_cli_usage_and_errors(void) {
    char *no_out[] = {"sweep", "--config", "x.json", NULL};
    TEST_EQ_INT(bb_cli_main(3, no_out), BB_EXIT_USAGE);
    char *bad_jobs[] = {"sweep", "--config", "x.json", "--out", "y", "--jobs", "0", NULL};
    TEST_EQ_INT(bb_cli_main(7, bad_jobs), BB_EXIT_USAGE);
    const char *cfg = write_config("badkey.json", "{\"datasets\": [\"synth\"], \"treads\": 2}");
    char out[600];
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("cli-out"));
    char *bad_cfg[] = {"sweep", "--config", (char *)cfg, "--out", out, NULL};
    TEST_EQ_INT(bb_cli_main(5, bad_cfg), BB_EXIT_DATA);
    TEST_TRUE(!bb_path_exists(out)); /* nothing written for a config error */
}

/* Every shipped sweep config parses and validates (run from the repository root). */
static void test_shipped_configs_are_valid(void) {
    static const char *const configs[] = {
        "harness/configs/ci/main.json",          "harness/configs/ci/tokenization.json",
        "harness/configs/ci/real-yelp.json",     "harness/configs/sweeps/ci-codebook.json",
        "harness/configs/sweeps/codebook.json",  "harness/configs/sweeps/tokenization.json",
        "harness/configs/paper/amazon.json",     "harness/configs/paper/yelp.json",
        "harness/configs/paper/google.json",     "tests/fixtures/sweep/small.json",
    };
    for (size_t k = 0; k < sizeof configs / sizeof *configs; k++) {
        bb_sweep sw;
        bb_error err = {{0}};
        int rc = bb_sweep_load(configs[k], &sw, &err);
        if (rc != BB_OK) bb_test_fail(__FILE__, __LINE__, "%s: %s", configs[k], err.msg);
        TEST_TRUE(rc == BB_OK && sw.n_cells > 0);
        bb_sweep_free(&sw);
    }
    bb_sweep sw;
    bb_error err;
    TEST_OK(bb_sweep_load("harness/configs/sweeps/codebook.json", &sw, &err), &err);
    TEST_EQ_INT(sw.n_cells, 7 * 3);
    TEST_EQ_INT(sw.cells[6 * 3].stage1.codebook_size, 1024);
    bb_sweep_free(&sw);
    TEST_OK(bb_sweep_load("harness/configs/sweeps/tokenization.json", &sw, &err), &err);
    TEST_EQ_INT(sw.n_cells, 8 * 3);
    TEST_EQ_INT(sw.cells[6 * 3].stage1.continuous, 1);
    TEST_STR_EQ(sw.cells[7 * 3].method, "id-prompt");
    bb_sweep_free(&sw);
    char *dry[] = {"sweep", "--config", "tests/fixtures/sweep/small.json", "--dry-run", NULL};
    TEST_EQ_INT(bb_cli_main(4, dry), BB_EXIT_OK);
}

/* reproduce --dry-run: datasets found by their files, the paper config per name (yelp's with
 * domain auto otherwise), --quick merged over every section, the ablations' grid/variants. */
static void test_reproduce_composes_sweeps(void) {
    char root[600], out[600], cmd[4096];
    snprintf(root, sizeof root, "%s", bb_test_tmp_path("repro-root"));
    snprintf(out, sizeof out, "%s", bb_test_tmp_path("repro-out"));
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/amazon' '%s/toy' '%s/notdata' && for d in amazon toy; do for f in train valid test "
             "explanations; do : > '%s/'$d/$f.csv; done; done && : > '%s/notdata/train.csv'",
             root, root, root, root, root);
    TEST_EQ_INT(system(cmd), 0);
    char *argv[] = {"reproduce", "--data-root", root, "--quick", "--out", out, "--dry-run", NULL};
    TEST_EQ_INT(bb_cli_main(7, argv), BB_EXIT_OK);
    char path[700];
    bb_sweep sw;
    bb_error err;
    snprintf(path, sizeof path, "%s/amazon/main.json", out);
    TEST_OK(bb_sweep_load(path, &sw, &err), &err);
    TEST_EQ_INT(sw.n_cells, 9); /* every method, one seed under --quick */
    TEST_STR_EQ(sw.cells[0].run.domain, "book");
    TEST_EQ_INT(sw.cells[0].lm.d_model, 64);       /* quick.json over the paper's LM file */
    TEST_EQ_INT(sw.cells[0].lm.n_layers, 2);
    TEST_EQ_INT(sw.cells[0].stage1.epochs, 3);     /* quick over harness/configs/beat/default.json */
    TEST_EQ_INT(sw.cells[0].stage1.codebook_size, 512);
    TEST_EQ_INT(sw.cells[0].run.task.max_test_rows, 150);
    TEST_EQ_INT(sw.cells[8].rank.epochs, 10);
    bb_sweep_free(&sw);
    snprintf(path, sizeof path, "%s/toy/tokenization.json", out);
    TEST_OK(bb_sweep_load(path, &sw, &err), &err);
    TEST_EQ_INT(sw.n_cells, 8);
    TEST_STR_EQ(sw.cells[0].run.domain, "auto");
    TEST_STR_EQ(sw.cells[7].method, "id-prompt");
    bb_sweep_free(&sw);
    snprintf(path, sizeof path, "%s/toy/codebook.json", out);
    TEST_OK(bb_sweep_load(path, &sw, &err), &err);
    TEST_EQ_INT(sw.n_cells, 7);
    TEST_EQ_INT(sw.cells[0].stage1.codebook_size, 16);
    bb_sweep_free(&sw);
    snprintf(path, sizeof path, "%s/notdata", out);
    TEST_TRUE(!bb_path_exists(path));
    char *none[] = {"reproduce", "--data-root", out, "--dry-run", NULL};
    TEST_EQ_INT(bb_cli_main(4, none), BB_EXIT_DATA); /* no dataset directory there */
}

const bb_test bb_suite_sweep[] = {
    {"reproduce_composes_sweeps", test_reproduce_composes_sweeps},
    {"shipped_configs_are_valid", test_shipped_configs_are_valid},
    {"cells_of_a_grid", test_cells_of_a_grid},
    {"variants_set_method_and_keys", test_variants_set_method_and_keys},
    {"config_errors_name_the_key", test_config_errors_name_the_key},
    {"tables_of_a_small_sweep", test_tables_of_a_small_sweep},
    {"jobs_do_not_change_results", test_jobs_do_not_change_results},
    {"resume_after_kill_is_byte_identical", test_resume_after_kill_is_byte_identical},
    {"failed_cell_is_recorded", test_failed_cell_is_recorded},
    {"cli_usage_and_errors", test_cli_usage_and_errors},
    {NULL, NULL},
};
