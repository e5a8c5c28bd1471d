/* cmd_data — `beatbench data synth | stats | split` (DESIGN §2, §10).
 *
 *   data synth --out DIR [--users --items --groups --aspects --interactions --explained --seed]
 *   data stats DIR [--json]
 *   data split DIR [--zero-shot-users F] [--seed S] --out FILE [--json]
 *
 * Results: human text on stdout (stats) or stderr (synth, split); with --json one object on
 * stdout. Data errors exit 1 with "beatbench: FILE:LINE: message", usage errors exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "datasets/stats.h"
#include "datasets/synth.h"
#include "datasets/train_text.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "models/base/bb_io.h"
#include "models/base/bb_time.h"

/* ------------------------------------------------------------------------------------ */
/* shared: loading a dataset directory                                                  */

static void note_duplicates(const bb_dataset *ds) {
    if (ds->duplicates_dropped)
        fprintf(stderr,
                "beatbench: note: %s: dropped %zu duplicate pair%s (%zu within a split, %zu "
                "already in an earlier split); see datasets/FORMAT.md\n",
                ds->dir, ds->duplicates_dropped, ds->duplicates_dropped == 1 ? "" : "s",
                ds->duplicates_within_split, ds->duplicates_across_splits);
}

/* Loads DIR/explanations.csv when present (*have = 1) and checks its ids against ds. */
static int load_explanations_of(const char *dir, const bb_dataset *ds, bb_explanations *ex,
                                int *have, bb_error *err) {
    char *path = bb_path_join(dir, "explanations.csv");
    *have = bb_path_exists(path);
    int rc = BB_OK;
    if (*have) {
        rc = bb_explanations_load(path, ex, err);
        if (rc == BB_OK && ds) rc = bb_explanations_check_ids(ex, ds->n_users, ds->n_items, err);
        if (rc != BB_OK && ex->rows) bb_explanations_free(ex);
    }
    free(path);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* data stats                                                                           */

static void json_key_number(const char *key, double v, int comma) {
    printf("\"%s\": ", key);
    bb_json_number(stdout, v);
    if (comma) printf(", ");
}

static void json_degree(const char *key, const bb_degree_summary *d) {
    printf("\"%s\": {", key);
    json_key_number("min", d->min, 1);
    json_key_number("median", d->median, 1);
    json_key_number("p90", d->p90, 1);
    json_key_number("max", d->max, 1);
    json_key_number("mean", d->mean, 0);
    printf("}, ");
}

static void print_stats_json(const char *dir, const bb_data_stats *st) {
    printf("{\"dir\": ");
    bb_json_string(stdout, dir);
    printf(", ");
    json_key_number("users", st->n_users, 1);
    json_key_number("items", st->n_items, 1);
    json_key_number("train", (double)st->n_train, 1);
    json_key_number("valid", (double)st->n_valid, 1);
    json_key_number("test", (double)st->n_test, 1);
    json_key_number("density", st->density, 1);
    json_key_number("train_density", st->train_density, 1);
    json_degree("user_train_degree", &st->user_degree);
    json_degree("item_train_degree", &st->item_degree);
    json_key_number("cold_users", st->cold_users, 1);
    json_key_number("cold_items", st->cold_items, 1);
    json_key_number("cold_test_rows", (double)st->cold_test_rows, 1);
    json_key_number("users_without_rows", st->users_without_rows, 1);
    json_key_number("items_without_rows", st->items_without_rows, 1);
    json_key_number("duplicates_dropped", (double)st->duplicates_dropped, 1);
    json_key_number("duplicates_within_split", (double)st->duplicates_within_split, 1);
    json_key_number("duplicates_across_splits", (double)st->duplicates_across_splits, 1);
    printf("\"explained\": ");
    if (!st->has_explanations) {
        printf("null}\n");
        return;
    }
    printf("{");
    json_key_number("pairs", (double)st->explained_pairs, 1);
    json_key_number("users", (double)st->explained_users, 1);
    json_key_number("items", (double)st->explained_items, 1);
    json_key_number("in_train", (double)st->explained_in_train, 1);
    json_key_number("in_valid", (double)st->explained_in_valid, 1);
    json_key_number("in_test", (double)st->explained_in_test, 1);
    json_key_number("in_none", (double)st->explained_in_none, 1);
    json_key_number("cold_users", (double)st->explained_cold_users, 1);
    json_key_number("cold_items", (double)st->explained_cold_items, 1);
    json_key_number("duplicate_pairs", (double)st->explained_duplicate_pairs, 0);
    printf("}}\n");
}

static void print_degree(FILE *out, const char *who, const bb_degree_summary *d) {
    fprintf(out, "  %-6s train degree  min %g  median %g  p90 %g  max %g  mean %.2f\n", who,
            d->min, d->median, d->p90, d->max, d->mean);
}

static void print_stats_text(FILE *out, const char *dir, const bb_data_stats *st) {
    fprintf(out, "%s\n", dir);
    fprintf(out, "  users %d  items %d\n", st->n_users, st->n_items);
    fprintf(out, "  interactions  train %zu  valid %zu  test %zu\n", st->n_train, st->n_valid,
            st->n_test);
    fprintf(out, "  density %.6g (train %.6g)\n", st->density, st->train_density);
    print_degree(out, "user", &st->user_degree);
    print_degree(out, "item", &st->item_degree);
    fprintf(out, "  cold start (in valid/test, not in train)  users %d  items %d  test rows %zu\n",
            st->cold_users, st->cold_items, st->cold_test_rows);
    if (st->users_without_rows || st->items_without_rows)
        fprintf(out, "  ids without any row  users %d  items %d\n", st->users_without_rows,
                st->items_without_rows);
    fprintf(out, "  duplicates dropped %zu (within a split %zu, across splits %zu)\n",
            st->duplicates_dropped, st->duplicates_within_split, st->duplicates_across_splits);
    if (!st->has_explanations) {
        fprintf(out, "  explained pairs: none (no explanations.csv)\n");
        return;
    }
    fprintf(out, "  explained pairs %zu  users %zu  items %zu  duplicate pairs %zu\n",
            st->explained_pairs, st->explained_users, st->explained_items,
            st->explained_duplicate_pairs);
    fprintf(out, "    lying in  train %zu  valid %zu  test %zu  none %zu\n",
            st->explained_in_train, st->explained_in_valid, st->explained_in_test,
            st->explained_in_none);
    fprintf(out, "    without train rows  users %zu  items %zu\n", st->explained_cold_users,
            st->explained_cold_items);
}

static int cmd_stats(int argc, char **argv) {
    int json = 0;
    const bb_opt opts[] = {{"--json", BB_OPT_FLAG, &json, NULL, "print one JSON object on stdout"},
                           {0}};
    const bb_cmd_spec spec = {"data stats", "DIR [--json]",
                              "Counts, density, train degree quantiles, cold-start entities, "
                              "duplicates and explained pairs of a dataset directory.",
                              1, 1, "DIR  dataset directory (train.csv valid.csv test.csv "
                                    "[explanations.csv])"};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    const char *dir = pos.values[0];
    bb_error err = {{0}};
    bb_dataset ds;
    if (bb_dataset_load(dir, &ds, &err) != BB_OK) return bb_cli_fail(&err);
    note_duplicates(&ds);
    bb_explanations ex = {0};
    int have_ex = 0;
    if (load_explanations_of(dir, &ds, &ex, &have_ex, &err) != BB_OK) {
        bb_dataset_free(&ds);
        return bb_cli_fail(&err);
    }
    bb_data_stats st;
    bb_data_stats_compute(&ds, have_ex ? &ex : NULL, &st);
    if (json)
        print_stats_json(dir, &st);
    else
        print_stats_text(stdout, dir, &st);
    if (have_ex) bb_explanations_free(&ex);
    bb_dataset_free(&ds);
    return BB_EXIT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* data split                                                                           */

static int cmd_split(int argc, char **argv) {
    double share = BB_SPLIT_DEFAULT_ZERO_SHOT;
    uint64_t seed = 1;
    const char *out = NULL;
    int json = 0;
    const bb_opt opts[] = {
        {"--zero-shot-users", BB_OPT_DOUBLE, &share, "F",
         "share of explained users held out as zero-shot test users (default 0.1)"},
        {"--seed", BB_OPT_U64, &seed, "S", "random seed (default 1)"},
        {"--out", BB_OPT_STR, &out, "FILE", "split file to write (uid,iid,split)"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print one JSON object on stdout"},
        {0}};
    const bb_cmd_spec spec = {"data split", "DIR --out FILE [--zero-shot-users F] [--seed S]",
                              "Zero-shot split of the explained pairs: test users' pairs all go "
                              "to test, the rest 90/10 to train/valid; fails (exit 1) if a test "
                              "explanation appears in a training text source.",
                              1, 1, "DIR  dataset directory with explanations.csv"};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    if (!out) return bb_cli_usage(spec.name, "--out FILE is required");
    if (!(share >= 0.0 && share <= 1.0))
        return bb_cli_usage(spec.name, "--zero-shot-users: expected a share in [0, 1], got %g",
                            share);
    const char *dir = pos.values[0];
    bb_error err = {{0}};
    bb_dataset ds = {0};
    int have_ds = 0, have_ex = 0;
    char *train_path = bb_path_join(dir, "train.csv");
    if (bb_path_exists(train_path)) {
        if (bb_dataset_load(dir, &ds, &err) != BB_OK) {
            free(train_path);
            return bb_cli_fail(&err);
        }
        have_ds = 1;
    }
    free(train_path);
    bb_explanations ex = {0};
    rc = load_explanations_of(dir, have_ds ? &ds : NULL, &ex, &have_ex, &err);
    if (have_ds) bb_dataset_free(&ds);
    if (rc != BB_OK) return bb_cli_fail(&err);
    if (!have_ex) {
        bb_fail(&err, "%s/explanations.csv: cannot open: no explained pairs to split", dir);
        return bb_cli_fail(&err);
    }
    bb_split split;
    bb_leakage_report leak;
    if (bb_split_make(&ex, share, seed, &split, &err) != BB_OK) {
        bb_explanations_free(&ex);
        return bb_cli_fail(&err);
    }
    /* nothing is written when a test explanation would leak into training */
    rc = bb_leakage_check(&ex, &split, &leak, &err);
    if (rc == BB_OK) rc = bb_split_write(&split, out, &err);
    bb_explanations_free(&ex);
    if (rc != BB_OK) {
        bb_split_free(&split);
        return bb_cli_fail(&err);
    }
    fprintf(stderr,
            "wrote %s: %zu explained pairs of %zu users; %zu zero-shot test users; train %zu  "
            "valid %zu  test %zu; leakage check passed (%zu test texts kept out of training, "
            "%zu titles/summaries of test pairs shared by string with train pairs)\n",
            out, split.n, split.n_users, split.n_test_users, split.n_train, split.n_valid,
            split.n_test, leak.test_only_texts, leak.shared_texts);
    if (json) {
        printf("{\"out\": ");
        bb_json_string(stdout, out);
        printf(", \"seed\": %llu, ", (unsigned long long)seed);
        json_key_number("zero_shot_users", share, 1);
        json_key_number("pairs", (double)split.n, 1);
        json_key_number("users", (double)split.n_users, 1);
        json_key_number("test_users", (double)split.n_test_users, 1);
        json_key_number("train", (double)split.n_train, 1);
        json_key_number("valid", (double)split.n_valid, 1);
        json_key_number("test", (double)split.n_test, 1);
        json_key_number("leaked", (double)leak.leaked, 1);
        json_key_number("test_only_texts", (double)leak.test_only_texts, 1);
        json_key_number("shared_texts", (double)leak.shared_texts, 0);
        printf("}\n");
    }
    bb_split_free(&split);
    return BB_EXIT_OK;
}

/* ------------------------------------------------------------------------------------ */
/* data synth                                                                           */

static int cmd_synth(int argc, char **argv) {
    bb_synth_config cfg;
    bb_synth_default_config(&cfg);
    const char *out = NULL;
    int json = 0;
    const bb_opt opts[] = {
        {"--out", BB_OPT_STR, &out, "DIR", "dataset directory to write (replaced atomically)"},
        {"--users", BB_OPT_INT, &cfg.users, "N", "users (default 2000)"},
        {"--items", BB_OPT_INT, &cfg.items, "N", "items (default 1500)"},
        {"--groups", BB_OPT_INT, &cfg.groups, "G", "macro interest groups (default 8)"},
        {"--aspects", BB_OPT_INT, &cfg.aspects, "A", "micro aspects, at most 96 (default 40)"},
        {"--interactions", BB_OPT_INT, &cfg.interactions, "N", "interactions (default 60000)"},
        {"--explained", BB_OPT_INT, &cfg.explained, "N", "explained pairs (default 1500)"},
        {"--seed", BB_OPT_U64, &cfg.seed, "S", "random seed (default 1)"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print one JSON object on stdout"},
        {0}};
    const bb_cmd_spec spec = {"data synth", "--out DIR [options]",
                              "Write a synthetic dataset with planted groups and aspects "
                              "(train/valid/test.csv, explanations.csv, planted_users.csv, "
                              "planted_items.csv, aspects.csv).",
                              0, 0, NULL};
    int rc = bb_opts_parse(&spec, opts, argc, argv, NULL);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    if (!out) return bb_cli_usage(spec.name, "--out DIR is required");
    bb_error err = {{0}};
    if (bb_synth_check_config(&cfg, &err) != BB_OK) return bb_cli_usage(spec.name, "%s", err.msg);
    double t0 = bb_now();
    bb_synth s;
    if (bb_synth_generate(&cfg, &s, &err) != BB_OK) return bb_cli_fail(&err);
    rc = bb_synth_write(&s, out, &err);
    double seconds = bb_now() - t0;
    double same = (double)s.same_group_interactions /
                  (double)(s.data.train.n + s.data.valid.n + s.data.test.n);
    if (rc == BB_OK) {
        fprintf(stderr,
                "wrote %s: %d users, %d items, train %zu  valid %zu  test %zu, %zu explained "
                "pairs; %.1f%% of interactions inside the user's group; %.3f s\n",
                out, cfg.users, cfg.items, s.data.train.n, s.data.valid.n, s.data.test.n,
                s.expl.n, 100.0 * same, seconds);
        if (json) {
            printf("{\"out\": ");
            bb_json_string(stdout, out);
            printf(", \"seed\": %llu, ", (unsigned long long)cfg.seed);
            json_key_number("users", cfg.users, 1);
            json_key_number("items", cfg.items, 1);
            json_key_number("groups", cfg.groups, 1);
            json_key_number("aspects", cfg.aspects, 1);
            json_key_number("train", (double)s.data.train.n, 1);
            json_key_number("valid", (double)s.data.valid.n, 1);
            json_key_number("test", (double)s.data.test.n, 1);
            json_key_number("explained", (double)s.expl.n, 1);
            json_key_number("same_group_share", same, 1);
            json_key_number("seconds", seconds, 0);
            printf("}\n");
        }
    }
    bb_synth_free(&s);
    return rc == BB_OK ? BB_EXIT_OK : bb_cli_fail(&err);
}

/* ------------------------------------------------------------------------------------ */
/* dispatch                                                                             */

static void data_help(FILE *out) {
    fprintf(out,
            "usage: beatbench data SUBCOMMAND [options]   (beatbench data SUBCOMMAND --help)\n\n"
            "subcommands:\n"
            "  synth   write a synthetic dataset with planted truth\n"
            "  stats   counts, density, degree quantiles, explained pairs\n"
            "  split   zero-shot split of the explained pairs, with a leakage check\n");
}

int bb_cmd_data(int argc, char **argv) {
    if (argc < 1) {
        data_help(stderr);
        return BB_EXIT_USAGE;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        data_help(stdout);
        return BB_EXIT_OK;
    }
    if (strcmp(argv[0], "synth") == 0) return cmd_synth(argc - 1, argv + 1);
    if (strcmp(argv[0], "stats") == 0) return cmd_stats(argc - 1, argv + 1);
    if (strcmp(argv[0], "split") == 0) return cmd_split(argc - 1, argv + 1);
    return bb_cli_usage("data", "unknown subcommand \"%s\" (synth, stats, split)", argv[0]);
}
