/* sweep_cell — one sweep cell end to end in its own process: the run (run_driver.h or
 * rank_run.h) into CELLS/<id>.building, then cell.json, rows.csv, curves.csv and cost.json
 * beside it, then one rename to CELLS/<id> (sweep.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "baselines/rank_run.h"
#include "datasets/csv_reader.h"
#include "harness/run_driver.h"
#include "harness/run_stage1.h"
#include "harness/sweep.h"
#include "models/base/bb_io.h"
#include "models/base/bb_json.h"
#include "models/base/bb_time.h"

#ifndef BB_VERSION
#define BB_VERSION "unknown"
#endif

void bb_sweep_crash_point(const char *name) {
    const char *want = getenv("BB_SWEEP_CRASH");
    if (!want || !*want) return;
    const char *hash = strchr(want, '#');
    const size_t len = hash ? (size_t)(hash - want) : strlen(want);
    if (strlen(name) != len || strncmp(want, name, len) != 0) return;
    if (hash) {
        /* count hits across the group's processes through a file, under its lock, so two
         * children reaching the point together are both counted */
        const char *counter = getenv("BB_SWEEP_CRASH_COUNTER");
        long nth = strtol(hash + 1, NULL, 10), seen = 0;
        int fd = counter ? open(counter, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
        if (fd >= 0 && flock(fd, LOCK_EX) == 0) {
            char buf[32] = {0};
            ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
            seen = (n > 0 ? strtol(buf, NULL, 10) : 0) + 1;
            int n_text = snprintf(buf, sizeof buf, "%ld\n", seen);
            if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n_text, 0) != n_text) seen = -1;
            flock(fd, LOCK_UN);
        }
        if (fd >= 0) close(fd);
        if (seen != nth) return;
    }
    fflush(NULL);
    kill(0, SIGKILL); /* the whole process group, as a lost machine */
    raise(SIGKILL);
}

/* ------------------------------------------------------------------------------------------
 * Rows */

typedef struct {
    char *buf;
    size_t len;
    FILE *fp;
} mem_text;

static void mem_open(mem_text *m) {
    m->buf = NULL, m->len = 0;
    m->fp = open_memstream(&m->buf, &m->len);
    if (!m->fp) abort();
}

static void mem_close(mem_text *m) { fclose(m->fp); }

/* Every finite-checked numeric key of the metrics object as test rows. */
static int rows_from_metrics_json(const char *json, FILE *rows, bb_error *err) {
    cJSON *root = cJSON_Parse(json);
    if (!root) return bb_fail(err, "sweep: cannot parse the run's metrics");
    int rc = BB_OK;
    for (const cJSON *it = root->child; it && rc == BB_OK; it = it->next) {
        if (!cJSON_IsNumber(it) || strcmp(it->string, "seed") == 0) continue;
        if (!isfinite(it->valuedouble)) {
            rc = bb_fail(err, "metric %s is not finite (%g)", it->string, it->valuedouble);
            break;
        }
        fprintf(rows, "test,%s,%.17g\n", it->string, it->valuedouble);
    }
    cJSON_Delete(root);
    return rc;
}

/* A finite number from a CSV field, else an error naming file, line and field. */
static int csv_number(const char *path, const bb_csv_record *rec, size_t col, const char *field,
                      double *out, int finite, bb_error *err) {
    char *end = NULL;
    *out = strtod(rec->fields[col], &end);
    if (end == rec->fields[col] || *end != '\0' || (finite && !isfinite(*out)))
        return bb_fail(err, "%s:%zu: field '%s': expected a %snumber, got \"%s\"", path, rec->line, field,
                       finite ? "finite " : "", rec->fields[col]);
    return BB_OK;
}

typedef struct {
    const char *path, *stage;
    int best_epoch;
    FILE *rows, *curves;
} rank_csv_ctx;

static int on_rank_row(void *vctx, const bb_csv_record *rec, bb_error *err) {
    static const char *const header[] = {"epoch", "split", "metric", "k", "value"};
    const rank_csv_ctx *c = vctx;
    if (rec->index == 0) return bb_csv_expect_header(c->path, rec, header, 5, err);
    if (rec->n != 5) return bb_fail(err, "%s:%zu: expected 5 fields, got %zu", c->path, rec->line, rec->n);
    int epoch, k;
    if (bb_csv_parse_id(rec->fields[0], rec->lens[0], &epoch) != BB_OK)
        return bb_csv_fail_id(err, c->path, rec->line, "epoch", rec->fields[0], rec->lens[0]);
    if (bb_csv_parse_id(rec->fields[3], rec->lens[3], &k) != BB_OK)
        return bb_csv_fail_id(err, c->path, rec->line, "k", rec->fields[3], rec->lens[3]);
    double value;
    if (csv_number(c->path, rec, 4, "value", &value, 1, err) != BB_OK) return BB_ERR;
    const char *split = rec->fields[1], *metric = rec->fields[2];
    if (epoch == c->best_epoch) fprintf(c->rows, "%s,%s@%d,%.17g\n", split, metric, k, value);
    if (c->curves && strcmp(split, "valid") == 0)
        fprintf(c->curves, "%s,%d,%s@%d,%.17g\n", c->stage, epoch, metric, k, value);
    return BB_OK;
}

/* metrics.csv (epoch,split,metric,k,value): valid and test rows of the kept epoch as rows,
 * valid rows of every epoch as curve points of stage (curves may be NULL). */
static int rows_from_rank_csv(const char *path, int best_epoch, const char *stage, FILE *rows,
                              FILE *curves, bb_error *err) {
    rank_csv_ctx c = {path, stage, best_epoch, rows, curves};
    return bb_csv_read_file(path, on_rank_row, &c, err);
}

typedef struct {
    const char *path, *stage;
    FILE *curves;
    char **names; /* the header's column names (owned) */
    size_t n_names;
} log_ctx;

static int on_log_row(void *vctx, const bb_csv_record *rec, bb_error *err) {
    log_ctx *c = vctx;
    if (rec->index == 0) {
        c->n_names = rec->n;
        c->names = bb_calloc(rec->n, sizeof *c->names);
        for (size_t k = 0; k < rec->n; k++) c->names[k] = bb_strdup(rec->fields[k]);
        return BB_OK;
    }
    if (rec->n != c->n_names)
        return bb_fail(err, "%s:%zu: expected %zu fields, got %zu", c->path, rec->line, c->n_names, rec->n);
    int epoch;
    if (bb_csv_parse_id(rec->fields[0], rec->lens[0], &epoch) != BB_OK)
        return bb_csv_fail_id(err, c->path, rec->line, c->names[0], rec->fields[0], rec->lens[0]);
    for (size_t col = 1; col < rec->n; col++) {
        if (strcmp(c->names[col], "seconds") == 0) continue; /* timings are not deterministic */
        double v; /* "nan": an epoch without a valid loss */
        if (csv_number(c->path, rec, col, c->names[col], &v, 0, err) != BB_OK) return BB_ERR;
        fprintf(c->curves, "%s,%d,%s,%.17g\n", c->stage, epoch, c->names[col], v);
    }
    return BB_OK;
}

/* A train_log.csv whose first column is the epoch: every other column is a curve metric. */
static int curves_from_log(const char *path, const char *stage, FILE *curves, bb_error *err) {
    if (!bb_path_exists(path)) return BB_OK; /* methods without epochs have no log */
    log_ctx c = {path, stage, curves, NULL, 0};
    int rc = bb_csv_read_file(path, on_log_row, &c, err);
    for (size_t k = 0; k < c.n_names; k++) free(c.names[k]);
    free(c.names);
    return rc;
}

typedef struct {
    const char *path;
    FILE *rows;
} codebook_ctx;

static int on_codebook_row(void *vctx, const bb_csv_record *rec, bb_error *err) {
    static const char *const header[] = {"codebook", "tokens", "used", "dead_codes", "perplexity"};
    const codebook_ctx *c = vctx;
    if (rec->index == 0) return bb_csv_expect_header(c->path, rec, header, 5, err);
    if (rec->n != 5) return bb_fail(err, "%s:%zu: expected 5 fields, got %zu", c->path, rec->line, rec->n);
    int used, dead;
    if (bb_csv_parse_id(rec->fields[2], rec->lens[2], &used) != BB_OK)
        return bb_csv_fail_id(err, c->path, rec->line, "used", rec->fields[2], rec->lens[2]);
    if (bb_csv_parse_id(rec->fields[3], rec->lens[3], &dead) != BB_OK)
        return bb_csv_fail_id(err, c->path, rec->line, "dead_codes", rec->fields[3], rec->lens[3]);
    double perplexity;
    if (csv_number(c->path, rec, 4, "perplexity", &perplexity, 1, err) != BB_OK) return BB_ERR;
    const char *name = rec->fields[0];
    fprintf(c->rows, "tokens,perplexity/%s,%.17g\ntokens,dead_codes/%s,%d\ntokens,used/%s,%d\n", name,
            perplexity, name, dead, name, used);
    return BB_OK;
}

/* codebook_stats.csv (codebook,tokens,used,dead_codes,perplexity) as tokens rows. */
static int rows_from_codebooks(const char *path, FILE *rows, bb_error *err) {
    if (!bb_path_exists(path)) return BB_OK; /* continuous: no codebooks */
    codebook_ctx c = {path, rows};
    return bb_csv_read_file(path, on_codebook_row, &c, err);
}

/* The stage-1 run of a beat cell (s1dir): its ranking rows, codebook rows and training curve. */
static int rows_from_stage1(const char *s1dir, FILE *rows, FILE *curves, bb_error *err) {
    char *p = bb_path_join(s1dir, "manifest.json");
    char *text = NULL;
    int rc = bb_read_file(p, &text, NULL, err);
    free(p);
    int best = -1;
    if (rc == BB_OK) {
        cJSON *m = cJSON_Parse(text);
        free(text);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "result"), "best_epoch");
        if (cJSON_IsNumber(b)) best = (int)b->valuedouble;
        cJSON_Delete(m);
        if (best < 0) rc = bb_fail(err, "%s/manifest.json: field 'result.best_epoch': missing", s1dir);
    }
    if (rc == BB_OK) {
        p = bb_path_join(s1dir, "metrics.csv");
        rc = rows_from_rank_csv(p, best, "stage1", rows, NULL, err);
        free(p);
    }
    if (rc == BB_OK) {
        p = bb_path_join(s1dir, "codebook_stats.csv");
        rc = rows_from_codebooks(p, rows, err);
        free(p);
    }
    if (rc == BB_OK) {
        p = bb_path_join(s1dir, "train_log.csv");
        rc = curves_from_log(p, "stage1", curves, err);
        free(p);
    }
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * The cell */

static int run_explain(const bb_sweep *sw, const bb_sweep_cell *c, const char *dir, FILE *rows,
                       FILE *curves, bb_error *err) {
    bb_run_opts o = {.data_dir = sw->data_dirs[c->dataset_index], .out_dir = dir, .seed = c->seed,
                     .threads = sw->threads, .command = "sweep", .stage1_config = &c->stage1,
                     .lm_config = &c->lm};
    bb_run_result res;
    if (bb_run_execute(&c->run, &o, &res, err) != BB_OK) return BB_ERR;
    mem_text m;
    mem_open(&m);
    bb_run_print_metrics(m.fp, &res);
    mem_close(&m);
    int rc = rows_from_metrics_json(m.buf, rows, err);
    free(m.buf);
    if (rc == BB_OK && res.stage1_dir) rc = rows_from_stage1(res.stage1_dir, rows, curves, err);
    bb_run_result_free(&res);
    if (rc == BB_OK) {
        char *p = bb_path_join(dir, "train_log.csv");
        rc = curves_from_log(p, "stage2", curves, err);
        free(p);
    }
    return rc;
}

static int run_rank(const bb_sweep *sw, const bb_sweep_cell *c, const char *dir, FILE *rows,
                    FILE *curves, bb_error *err) {
    rank_run_config rc_cfg;
    bb_sweep_rank_config(c, &rc_cfg);
    rc_cfg.data_dir = sw->data_dirs[c->dataset_index];
    rc_cfg.out_dir = dir;
    rc_cfg.threads = sw->threads;
    rc_cfg.version = BB_VERSION;
    rank_run_result res;
    if (rank_run_execute(&rc_cfg, &res, err) != BB_OK) return BB_ERR;
    const int best = res.best_epoch;
    rank_run_result_free(&res);
    char *p = bb_path_join(dir, "metrics.csv");
    int rc = rows_from_rank_csv(p, best, "rank", rows, curves, err);
    free(p);
    return rc;
}

static char *cell_json(const bb_sweep *sw, const bb_sweep_cell *c) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "cell", c->id);
    cJSON_AddStringToObject(root, "dataset", c->dataset);
    cJSON_AddStringToObject(root, "data_dir", sw->data_dirs[c->dataset_index]);
    cJSON_AddStringToObject(root, "method", c->method);
    cJSON_AddStringToObject(root, "variant", c->variant);
    cJSON_AddNumberToObject(root, "seed", (double)c->seed);
    cJSON_AddNumberToObject(root, "threads", sw->threads);
    cJSON *ov = cJSON_Parse(c->overrides_json);
    cJSON_AddItemToObject(root, "overrides", ov ? ov : cJSON_CreateObject());
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    size_t n = strlen(s);
    char *r = bb_malloc(n + 2);
    memcpy(r, s, n);
    r[n] = '\n', r[n + 1] = '\0';
    cJSON_free(s);
    return r;
}

/* CELLS/<id>.building, where a cell is assembled before its one rename. */
static char *building_path(const char *final_dir) {
    char *b = bb_malloc(strlen(final_dir) + 16);
    sprintf(b, "%s.building", final_dir);
    return b;
}

/* cell.json into building, then building -> final_dir by one rename: the moment the cell
 * becomes visible. building is removed on error. */
static int commit_cell(const bb_sweep *sw, const bb_sweep_cell *c, const char *building,
                       const char *final_dir, bb_error *err) {
    char *j = cell_json(sw, c);
    int rc = bb_write_in_dir(building, "cell.json", j, strlen(j), err);
    free(j);
    bb_sweep_crash_point("cell-before-commit");
    if (rc == BB_OK && rename(building, final_dir) != 0)
        rc = bb_fail(err, "%s: cannot rename into place: %s", final_dir, strerror(errno));
    if (rc != BB_OK) bb_remove_tree(building);
    return rc;
}

int bb_sweep_record_failure(const bb_sweep *sw, const bb_sweep_cell *c, const char *cells_dir,
                            const char *reason, bb_error *err) {
    char *final_dir = bb_path_join(cells_dir, c->id);
    char *building = building_path(final_dir);
    bb_remove_tree(building);
    int rc = bb_mkdir_p(building, err);
    if (rc == BB_OK) { /* one line */
        const size_t n = strlen(reason);
        char *line = bb_malloc(n + 2);
        for (size_t k = 0; k < n; k++) line[k] = reason[k] == '\n' || reason[k] == '\r' ? ' ' : reason[k];
        line[n] = '\n', line[n + 1] = '\0';
        rc = bb_write_in_dir(building, "failed.txt", line, n + 1, err);
        free(line);
    }
    if (rc == BB_OK) rc = commit_cell(sw, c, building, final_dir, err);
    else bb_remove_tree(building);
    free(building);
    free(final_dir);
    return rc;
}

int bb_sweep_run_cell(const bb_sweep *sw, const bb_sweep_cell *c, const char *cells_dir, bb_error *err) {
    const double t0 = bb_now();
    char *final_dir = bb_path_join(cells_dir, c->id);
    char *building = building_path(final_dir);
    bb_remove_tree(building);
    mem_text rows, curves;
    mem_open(&rows);
    mem_open(&curves);
    fputs("split,metric,value\n", rows.fp);
    fputs("stage,epoch,metric,value\n", curves.fp);
    bb_error cell_err = {{0}};
    bb_sweep_crash_point("cell-start");
    int ok = (c->kind == BB_CELL_RANK ? run_rank(sw, c, building, rows.fp, curves.fp, &cell_err)
                                      : run_explain(sw, c, building, rows.fp, curves.fp, &cell_err)) == BB_OK;
    mem_close(&rows);
    mem_close(&curves);
    int rc = BB_OK;
    if (ok) {
        rc = bb_write_in_dir(building, "rows.csv", rows.buf, rows.len, err);
        if (rc == BB_OK) rc = bb_write_in_dir(building, "curves.csv", curves.buf, curves.len, err);
        if (rc == BB_OK) {
            char cost[160];
            int n = snprintf(cost, sizeof cost, "{\"seconds\": %.6f, \"peak_rss_mb\": %.3f, \"mpi_rank\": %d}\n",
                             bb_now() - t0, bb_peak_rss_mb(), sw->mpi_rank);
            rc = bb_write_in_dir(building, "cost.json", cost, (size_t)n, err);
        }
        if (rc == BB_OK) rc = commit_cell(sw, c, building, final_dir, err);
        else bb_remove_tree(building);
    } else { /* a failed cell keeps only its reason */
        rc = bb_sweep_record_failure(sw, c, cells_dir, cell_err.msg, err);
        if (rc == BB_OK) {
            *err = cell_err;
            rc = BB_ERR;
        }
    }
    free(rows.buf);
    free(curves.buf);
    free(building);
    free(final_dir);
    return rc;
}
