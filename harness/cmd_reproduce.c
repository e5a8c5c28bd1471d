/* cmd_reproduce — `beatbench reproduce`: the paper's tables and ablations for every dataset
 * found under a data root (DESIGN §9, issue #8 item 5).
 *
 *   reproduce --data-root DIR [--seeds N] [--quick] [--out DIR] [--jobs N]
 *             [--datasets a,b] [--only main,tokenization,codebook] [--dry-run]
 *
 * A dataset is a subdirectory of DIR holding train.csv, valid.csv, test.csv and
 * explanations.csv (datasets/FORMAT.md). For each one, three sweeps (harness/sweep.h) are
 * composed and run, in this order, into OUT/<dataset>/<kind>/ with their reports:
 *   main          harness/configs/paper/<dataset>.json (yelp.json with domain auto for a name
 *                 without its own file): every method, text and ranking metrics
 *   tokenization  the paper config's settings + the variants of harness/configs/sweeps/tokenization.json
 *   codebook      the paper config's settings + the grid of harness/configs/sweeps/codebook.json
 * with seeds 1..N. --quick applies harness/configs/paper/quick.json over every section (a
 * smaller LM, fewer epochs, capped rows) and defaults --seeds to 1. Every sweep runs with
 * --resume semantics, so an interrupted reproduce continues where it stopped; the shared
 * cache makes one LM per dataset x seed and reuses stage 1 across the three sweeps where the
 * stage-1 settings agree. OUT/README.md states the protocol, the deviations from the paper,
 * the settings and the measured times. Exit 0 when every sweep ran (failed cells are listed in
 * each sweep's failures.csv and counted in the README), 1 on a data or config error.
 * --dry-run writes OUT/<dataset>/<kind>.json (the composed sweep configs), checks them and
 * prints dataset,kind,cells lines; nothing runs.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "datasets/csv_reader.h"
#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/sweep.h"
#include "models/base/bb_io.h"
#include "models/base/bb_time.h"

#define PAPER_DIR "harness/configs/paper"
#define MAX_DATASETS 64

static const char *const sweep_kinds[] = {"main", "tokenization", "codebook"};
enum { N_KINDS = 3 };

static const char *const data_files[] = {"train.csv", "valid.csv", "test.csv", "explanations.csv"};

static int is_dataset_dir(const char *dir) {
    for (size_t k = 0; k < 4; k++) {
        char *p = bb_path_join(dir, data_files[k]);
        int ok = bb_path_exists(p);
        free(p);
        if (!ok) return 0;
    }
    return 1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int in_list(const char *list, const char *name) {
    if (!list) return 1;
    const size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        const size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* The dataset subdirectories of root, sorted by name. */
static int find_datasets(const char *root, const char *only, char ***names, size_t *n, bb_error *err) {
    DIR *d = opendir(root);
    if (!d) return bb_fail(err, "%s: cannot open the data root", root);
    *names = bb_calloc(MAX_DATASETS, sizeof **names);
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && *n < MAX_DATASETS) {
        if (e->d_name[0] == '.' || !in_list(only, e->d_name)) continue;
        char *dir = bb_path_join(root, e->d_name);
        if (is_dataset_dir(dir)) (*names)[(*n)++] = bb_strdup(e->d_name);
        free(dir);
    }
    closedir(d);
    qsort(*names, *n, sizeof **names, cmp_str);
    if (*n == 0)
        return bb_fail(err, "%s: no dataset directory (with train.csv, valid.csv, test.csv, explanations.csv)%s",
                       root, only ? " among --datasets" : "");
    return BB_OK;
}

static cJSON *read_json(const char *path, bb_error *err) {
    char *text = NULL;
    if (bb_read_file(path, &text, NULL, err) != BB_OK) return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        bb_fail(err, "%s: not a JSON object", path);
        return NULL;
    }
    return j;
}

/* A section as an object: a file name is read (relative to the working directory). */
static cJSON *section_object(const cJSON *root, const char *key, bb_error *err) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!s) return cJSON_CreateObject();
    if (cJSON_IsString(s)) return read_json(s->valuestring, err);
    return cJSON_Duplicate(s, 1);
}

/* Deep merge: every member of over replaces or extends base (objects merge recursively). */
static void merge_into(cJSON *base, const cJSON *over) {
    for (const cJSON *it = over->child; it; it = it->next) {
        if (it->string[0] == '_') continue; /* comments */
        cJSON *have = cJSON_GetObjectItemCaseSensitive(base, it->string);
        if (have && cJSON_IsObject(have) && cJSON_IsObject(it)) {
            merge_into(have, it);
            continue;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(base, it->string);
        cJSON_AddItemToObject(base, it->string, cJSON_Duplicate(it, 1));
    }
}

typedef struct {
    const char *out, *data_root;
    int seeds, quick, jobs;
} repro_opts;

/* The sweep config of one dataset and kind, as JSON text (malloc'd). */
static char *compose(const char *dataset, const char *kind, const repro_opts *o, bb_error *err) {
    char path[512];
    snprintf(path, sizeof path, PAPER_DIR "/%s.json", dataset);
    const int own = bb_path_exists(path);
    if (!own) snprintf(path, sizeof path, PAPER_DIR "/yelp.json");
    cJSON *paper = read_json(path, err);
    if (!paper) return NULL;
    cJSON *quick = o->quick ? read_json(PAPER_DIR "/quick.json", err) : NULL;
    cJSON *ablation = NULL;
    if (strcmp(kind, "main") != 0) {
        char apath[512];
        snprintf(apath, sizeof apath, "harness/configs/sweeps/%s.json", kind);
        ablation = read_json(apath, err);
    }
    if ((o->quick && !quick) || (strcmp(kind, "main") != 0 && !ablation)) {
        cJSON_Delete(paper), cJSON_Delete(quick), cJSON_Delete(ablation);
        return NULL;
    }
    cJSON *cfg = cJSON_CreateObject();
    char name[160];
    snprintf(name, sizeof name, "%s-%s%s", dataset, kind, o->quick ? "-quick" : "");
    cJSON_AddStringToObject(cfg, "name", name);
    cJSON *datasets = cJSON_AddArrayToObject(cfg, "datasets");
    char *dir = bb_path_join(o->data_root, dataset);
    cJSON_AddItemToArray(datasets, cJSON_CreateString(dir));
    free(dir);
    const cJSON *methods = cJSON_GetObjectItemCaseSensitive(ablation ? ablation : paper, "methods");
    if (methods) cJSON_AddItemToObject(cfg, "methods", cJSON_Duplicate(methods, 1));
    cJSON *seeds = cJSON_AddArrayToObject(cfg, "seeds");
    for (int s = 1; s <= o->seeds; s++) cJSON_AddItemToArray(seeds, cJSON_CreateNumber(s));
    const cJSON *threads = cJSON_GetObjectItemCaseSensitive(paper, "threads");
    if (threads) cJSON_AddItemToObject(cfg, "threads", cJSON_Duplicate(threads, 1));
    static const char *const sections[] = {"run", "stage1", "lm", "rank"};
    int rc = BB_OK;
    for (size_t k = 0; k < 4 && rc == BB_OK; k++) {
        cJSON *sec = section_object(paper, sections[k], err);
        if (!sec) {
            rc = BB_ERR;
            break;
        }
        const cJSON *q = quick ? cJSON_GetObjectItemCaseSensitive(quick, sections[k]) : NULL;
        if (q && cJSON_IsObject(q)) merge_into(sec, q);
        if (!own && strcmp(sections[k], "run") == 0) { /* a dataset without its own paper file */
            cJSON_DeleteItemFromObjectCaseSensitive(sec, "domain");
            cJSON_AddStringToObject(sec, "domain", "auto");
        }
        cJSON_AddItemToObject(cfg, sections[k], sec);
    }
    if (ablation) {
        const cJSON *grid = cJSON_GetObjectItemCaseSensitive(ablation, "grid");
        const cJSON *variants = cJSON_GetObjectItemCaseSensitive(ablation, "variants");
        if (grid) cJSON_AddItemToObject(cfg, "grid", cJSON_Duplicate(grid, 1));
        if (variants) cJSON_AddItemToObject(cfg, "variants", cJSON_Duplicate(variants, 1));
    }
    cJSON_AddTrueToObject(cfg, "report");
    char *text = NULL;
    if (rc == BB_OK) {
        char *printed = cJSON_Print(cfg);
        text = bb_malloc(strlen(printed) + 2);
        sprintf(text, "%s\n", printed);
        cJSON_free(printed);
    }
    cJSON_Delete(cfg), cJSON_Delete(paper), cJSON_Delete(quick), cJSON_Delete(ablation);
    return text;
}

typedef struct {
    char dataset[64];
    const char *kind;
    double seconds;      /* this invocation's wall time */
    double cell_seconds; /* every run directory's own time (costs.csv), whenever it ran */
    size_t cells, ok, failed;
    int ran;
} sweep_record;

typedef struct {
    const char *path;
    char (*seen)[17]; /* cell ids counted so far */
    size_t n_seen;
    double sum;
} cost_ctx;

static int on_cost_row(void *vctx, const bb_csv_record *rec, bb_error *err) {
    static const char *const header[] = {"dataset", "method", "variant", "seed", "cell", "seconds", "peak_rss_mb"};
    cost_ctx *c = vctx;
    if (rec->index == 0) return bb_csv_expect_header(c->path, rec, header, 7, err);
    if (rec->n != 7) return bb_fail(err, "%s:%zu: expected 7 fields, got %zu", c->path, rec->line, rec->n);
    for (size_t k = 0; k < c->n_seen; k++)
        if (strcmp(c->seen[k], rec->fields[4]) == 0) return BB_OK; /* a cell shared by several rows */
    c->seen = bb_realloc(c->seen, (c->n_seen + 1) * sizeof *c->seen);
    snprintf(c->seen[c->n_seen++], sizeof *c->seen, "%s", rec->fields[4]);
    const double v = strtod(rec->fields[5], NULL);
    if (v > 0) c->sum += v; /* -1: unknown */
    return BB_OK;
}

/* The sum of the seconds column of DIR/costs.csv over distinct cells; 0 when unreadable (the
 * README is a summary: a sweep without costs has cost nothing yet). */
static double cell_seconds(const char *sweep_dir) {
    char *path = bb_path_join(sweep_dir, "costs.csv");
    cost_ctx c = {path, NULL, 0, 0};
    bb_error e;
    const int rc = bb_path_exists(path) ? bb_csv_read_file(path, on_cost_row, &c, &e) : BB_ERR;
    free(c.seen);
    free(path);
    return rc == BB_OK ? c.sum : 0;
}

static void write_readme(const repro_opts *o, const sweep_record *rec, size_t n, double total, bb_error *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp) abort();
    fprintf(fp, "# beatbench reproduce%s\n\n", o->quick ? " (quick)" : "");
    fprintf(fp, "Written by `beatbench reproduce --data-root %s --seeds %d%s` (%s). Each sweep directory "
                "holds `results.csv` (tidy: dataset,method,variant,seed,split,metric,value), its cells' run "
                "directories and a `report/` with the tables (CSV, Markdown) and figures.\n\n",
            o->data_root, o->seeds, o->quick ? " --quick" : "", BB_VERSION);
    fprintf(fp, "| dataset | sweep | cells | ok | failed | cell time | wall time now | report |\n"
                "|:--|:--|--:|--:|--:|--:|--:|:--|\n");
    double cells_total = 0;
    for (size_t k = 0; k < n; k++) {
        const sweep_record *r = &rec[k];
        cells_total += r->cell_seconds;
        if (!r->ran)
            fprintf(fp, "| %s | %s | %zu | – | – | – | not run | – |\n", r->dataset, r->kind, r->cells);
        else
            fprintf(fp, "| %s | %s | %zu | %zu | %zu | %.1f min | %.1f min | [report](%s/%s/report/report.md) |\n",
                    r->dataset, r->kind, r->cells, r->ok, r->failed, r->cell_seconds / 60.0, r->seconds / 60.0,
                    r->dataset, r->kind);
    }
    fprintf(fp, "\n*cell time*: the sum of the sweep's cells' own wall times (`costs.csv`), whenever they "
                "ran; *wall time now*: this invocation, in which cells finished earlier are reused. All "
                "cells: %.1f min; this invocation: %.1f min.\n\n",
            cells_total / 60.0, total / 60.0);
    fputs("## Protocol\n\n"
          "- Data: each dataset directory's train/valid/test interactions and its explanations.csv "
          "(datasets/FORMAT.md). Explanation methods are evaluated zero-shot: the default split of "
          "each seed holds out 10% of the explained users (every pair of those users is a test pair); "
          "nothing of theirs reaches LM pretraining, vocabularies, idf tables or supervision.\n"
          "- Seeds 1..S are matched: for one seed every method sees the same split, the same LM and the "
          "same stage-1 tokens; tables show mean ± sample std over seeds; significance of BEAT against "
          "each method: paired t-test over seeds (`*`) and paired bootstrap over test pairs (`†`), p < 0.05.\n"
          "- Text metrics on the generated test explanations: BLEU-1..4 (treebank tokens, lower case, "
          "nltk method1 smoothing), ROUGE-1/2/L F (rouge_score tokenizer, no stemming), "
          "BERTScore-style F (greedy cosine over the frozen LM's last-layer token vectors; not BERTScore), "
          "Distinct-2, USR.\n"
          "- Ranking: full ranking over all items, training items masked (SELFRec protocol), epoch "
          "selected on valid, test evaluated once; BEAT's row scores users and items with its stage-1 "
          "behaviour vectors rec(u)·rec(i).\n"
          "- Ablations: tokenization variants (full, no_macro, no_micro, no_sar, no_macro_sup, "
          "no_micro_sup, continuous, ID-prompt) and codebook size K ∈ {16..1024} with everything else at "
          "the paper defaults.\n\n",
          fp);
    fputs("## Deviations from the paper\n\n"
          "- The frozen LM is the harness's own GPT-style decoder pretrained on each dataset's training "
          "explanations (harness/configs/lm/default.json: d 256, 4 layers, vocabulary 4096), not "
          "LLaMA-2-7B; absolute text scores are therefore not comparable to the paper's, only the "
          "ordering of methods under the same LM. Stage-2 hyper-parameters (lr 3e-3, batch 16, "
          "early stopping on valid CE) are tuned for this LM.\n"
          "- XRec-style, ID-prompt and BEAT share one soft-prompt explainer and the SAR term by default "
          "(no_sar gives PEPLER's objective); XRec's LLM adapter is a LightGCN + mixture-of-experts into "
          "the same slots.\n"
          "- NRT predicts the interaction (the explanation data has no ratings) instead of a rating.\n"
          "- BERTScore-style uses the harness LM's vectors instead of RoBERTa-large, with no baseline "
          "rescaling.\n"
          "- Model selection is on valid everywhere (the released BEAT code selects stage 1 on test; "
          "`beat tokenize --select-on test` reproduces that for fidelity studies).\n",
          fp);
    if (o->quick)
        fputs("- --quick (harness/configs/paper/quick.json): a smaller LM (d 64, 2 layers, vocabulary "
              "1024, 600 steps), at most 3 stage-1 epochs, 2 stage-2 epochs, training rows capped at "
              "1000 and test pairs at 150 per dataset (a fixed random subset per seed, the same for "
              "every method), 40 generated tokens at most, 10 ranking epochs, one seed. Quick numbers "
              "check that the pipeline runs end to end; they are not the paper's numbers.\n",
              fp);
    fclose(fp);
    char *readme = bb_path_join(o->out, "README.md");
    if (bb_write_file_atomic(readme, buf, len, err) != BB_OK)
        fprintf(stderr, "beatbench: reproduce: %s\n", err->msg);
    free(readme);
    free(buf);
}

int bb_cmd_reproduce(int argc, char **argv) {
    const char *root = NULL, *out = "results/reproduce", *only_datasets = NULL, *only_kinds = NULL;
    int seeds = 0, quick = 0, jobs = 1, dry_run = 0;
    const bb_opt opts[] = {
        {"--data-root", BB_OPT_STR, &root, "DIR", "directory of dataset directories (e.g. ../shared/datasets)"},
        {"--seeds", BB_OPT_INT, &seeds, "N", "matched seeds 1..N (default 3; 1 with --quick)"},
        {"--quick", BB_OPT_FLAG, &quick, NULL, "reduced sizes and epochs (harness/configs/paper/quick.json)"},
        {"--out", BB_OPT_STR, &out, "DIR", "output directory (default results/reproduce)"},
        {"--jobs", BB_OPT_INT, &jobs, "N", "cells at once in each sweep (default 1)"},
        {"--datasets", BB_OPT_STR, &only_datasets, "A,B", "only these datasets"},
        {"--only", BB_OPT_STR, &only_kinds, "K,K", "only these sweeps: main, tokenization, codebook"},
        {"--dry-run", BB_OPT_FLAG, &dry_run, NULL, "write and check the sweep configs; run nothing"},
        {0}};
    const bb_cmd_spec spec = {"reproduce", "--data-root DIR [--seeds N] [--quick]",
                              "For every dataset under DIR: the main table (every method, text and "
                              "ranking metrics), the tokenization ablation and the codebook-size "
                              "ablation, as resumable sweeps with reports, and a README with the "
                              "protocol and the deviations from the paper.",
                              0, 0, NULL};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    if (!root) return bb_cli_usage(spec.name, "--data-root DIR is required");
    if (seeds == 0) seeds = quick ? 1 : 3;
    if (seeds < 1 || seeds > 1000) return bb_cli_usage(spec.name, "--seeds: expected 1..1000, got %d", seeds);
    if (jobs < 1) return bb_cli_usage(spec.name, "--jobs: expected at least 1, got %d", jobs);
    if (only_kinds) { /* every listed name must be a kind */
        size_t listed = 1, known = 0;
        for (const char *p = only_kinds; *p; p++) listed += *p == ',';
        for (int k = 0; k < N_KINDS; k++) known += (size_t)in_list(only_kinds, sweep_kinds[k]);
        if (known != listed)
            return bb_cli_usage(spec.name, "--only: expected a list of main, tokenization, codebook, got \"%s\"",
                                only_kinds);
    }
    const repro_opts o = {out, root, seeds, quick, jobs};
    bb_error err = {{0}};
    char **names = NULL;
    size_t n_names = 0;
    if (find_datasets(root, only_datasets, &names, &n_names, &err) != BB_OK) {
        for (size_t k = 0; k < n_names; k++) free(names[k]);
        free(names);
        return bb_cli_fail(&err);
    }
    /* compose and validate every sweep before running any */
    char **texts = bb_calloc(n_names * N_KINDS, sizeof *texts);
    sweep_record *rec = bb_calloc(n_names * N_KINDS, sizeof *rec);
    int code = BB_EXIT_OK;
    for (size_t d = 0; d < n_names && code == BB_EXIT_OK; d++)
        for (int k = 0; k < N_KINDS && code == BB_EXIT_OK; k++) {
            sweep_record *r = &rec[d * N_KINDS + (size_t)k];
            snprintf(r->dataset, sizeof r->dataset, "%s", names[d]);
            r->kind = sweep_kinds[k];
            if (!in_list(only_kinds, sweep_kinds[k])) continue;
            char *text = compose(names[d], sweep_kinds[k], &o, &err);
            bb_sweep sw;
            if (!text || bb_sweep_parse(sweep_kinds[k], text, &sw, &err) != BB_OK) code = bb_cli_fail(&err);
            if (text) r->cells = sw.n_cells, bb_sweep_free(&sw);
            texts[d * N_KINDS + (size_t)k] = text;
        }
    for (size_t i = 0; dry_run && i < n_names * N_KINDS && code == BB_EXIT_OK; i++) {
        if (!texts[i]) continue;
        char *ds_dir = bb_path_join(out, rec[i].dataset);
        char cfg_name[96];
        snprintf(cfg_name, sizeof cfg_name, "%s.json", rec[i].kind);
        if (bb_mkdir_p(ds_dir, &err) != BB_OK ||
            bb_write_in_dir(ds_dir, cfg_name, texts[i], strlen(texts[i]), &err) != BB_OK)
            code = bb_cli_fail(&err);
        else
            printf("%s,%s,%zu\n", rec[i].dataset, rec[i].kind, rec[i].cells);
        free(ds_dir);
    }
    const double t_start = bb_now();
    for (size_t i = 0; !dry_run && i < n_names * N_KINDS && code == BB_EXIT_OK; i++) {
        if (!texts[i]) continue;
        sweep_record *r = &rec[i];
        char *ds_dir = bb_path_join(out, r->dataset);
        char *sweep_dir = bb_path_join(ds_dir, r->kind);
        char cfg_name[96];
        snprintf(cfg_name, sizeof cfg_name, "%s.json", r->kind);
        fprintf(stderr, "reproduce: %s %s (%zu cells) -> %s\n", r->dataset, r->kind, r->cells, sweep_dir);
        bb_sweep sw;
        const double t0 = bb_now();
        int ok = bb_mkdir_p(ds_dir, &err) == BB_OK &&
                 bb_write_in_dir(ds_dir, cfg_name, texts[i], strlen(texts[i]), &err) == BB_OK;
        char *cfg_path = bb_path_join(ds_dir, cfg_name);
        if (ok) ok = bb_sweep_parse(cfg_path, texts[i], &sw, &err) == BB_OK;
        if (ok) {
            bb_sweep_opts so = {.out_dir = sweep_dir, .jobs = jobs, .resume = 1, .quiet = 0};
            bb_sweep_summary sum;
            ok = bb_sweep_run(&sw, &so, &sum, &err) == BB_OK;
            r->ok = sum.ok_cells, r->failed = sum.failed_cells;
            bb_sweep_free(&sw);
        }
        r->seconds = bb_now() - t0;
        r->cell_seconds = cell_seconds(sweep_dir);
        r->ran = ok;
        if (!ok) code = bb_cli_fail(&err);
        free(cfg_path), free(sweep_dir), free(ds_dir);
        write_readme(&o, rec, n_names * N_KINDS, bb_now() - t_start, &err);
    }
    if (code == BB_EXIT_OK && !dry_run) {
        write_readme(&o, rec, n_names * N_KINDS, bb_now() - t_start, &err);
        fprintf(stderr, "reproduce: done in %.1f min; %s/README.md\n", (bb_now() - t_start) / 60.0, out);
    }
    for (size_t i = 0; i < n_names * N_KINDS; i++) free(texts[i]);
    for (size_t k = 0; k < n_names; k++) free(names[k]);
    free(texts), free(rec), free(names);
    return code;
}
