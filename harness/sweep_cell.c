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

/* metrics.csv (epoch,split,metric,k,value): valid and test rows of the kept epoch as rows,
 * valid rows of every epoch as curve points of stage. */
static int rows_from_rank_csv(const char *path, int best_epoch, const char *stage, FILE *rows,
                              FILE *curves, bb_error *err) {
    FILE *fp = fopen(path, "r");
    if (!fp) return bb_fail(err, "%s: cannot open: %s", path, strerror(errno));
    char line[512];
    int rc = BB_OK, lineno = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        if (lineno == 1) continue;
        int epoch, k;
        char split[16], metric[32];
        double value;
        if (sscanf(line, "%d,%15[^,],%31[^,],%d,%lf", &epoch, split, metric, &k, &value) != 5) {
            rc = bb_fail(err, "%s:%d: expected epoch,split,metric,k,value", path, lineno);
            break;
        }
        if (!isfinite(value)) {
            rc = bb_fail(err, "%s:%d: %s %s@%d is not finite", path, lineno, split, metric, k);
            break;
        }
        if (epoch == best_epoch) fprintf(rows, "%s,%s@%d,%.17g\n", split, metric, k, value);
        if (curves && strcmp(split, "valid") == 0)
            fprintf(curves, "%s,%d,%s@%d,%.17g\n", stage, epoch, metric, k, value);
    }
    fclose(fp);
    return rc;
}

/* A CSV whose first column is the epoch: every other column is a curve metric. */
static int curves_from_log(const char *path, const char *stage, FILE *curves, bb_error *err) {
    FILE *fp = fopen(path, "r");
    if (!fp) return BB_OK; /* methods without epochs have no log */
    char header[1024], line[1024];
    int rc = BB_OK;
    if (!fgets(header, sizeof header, fp)) {
        fclose(fp);
        return BB_OK;
    }
    header[strcspn(header, "\r\n")] = '\0';
    char *names[32];
    int n_names = 0;
    for (char *save = NULL, *t = strtok_r(header, ",", &save); t && n_names < 32; t = strtok_r(NULL, ",", &save))
        names[n_names++] = t;
    int lineno = 1;
    while (rc == BB_OK && fgets(line, sizeof line, fp)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *save = NULL, *t = strtok_r(line, ",", &save);
        if (!t) continue;
        long epoch = strtol(t, NULL, 10);
        for (int col = 1; col < n_names && (t = strtok_r(NULL, ",", &save)); col++) {
            if (strcmp(names[col], "seconds") == 0) continue; /* timings are not deterministic */
            char *end = NULL;
            double v = strtod(t, &end);
            if (end == t) {
                rc = bb_fail(err, "%s:%d: field '%s': expected a number", path, lineno, names[col]);
                break;
            }
            fprintf(curves, "%s,%ld,%s,%.17g\n", stage, epoch, names[col], v);
        }
    }
    fclose(fp);
    return rc;
}

/* codebook_stats.csv (codebook,tokens,used,dead_codes,perplexity) as tokens rows. */
static int rows_from_codebooks(const char *path, FILE *rows, bb_error *err) {
    FILE *fp = fopen(path, "r");
    if (!fp) return BB_OK; /* continuous: no codebooks */
    char line[256];
    int lineno = 0, rc = BB_OK;
    while (fgets(line, sizeof line, fp)) {
        if (++lineno == 1) continue;
        char name[32];
        long tokens, used, dead;
        double perplexity;
        if (sscanf(line, "%31[^,],%ld,%ld,%ld,%lf", name, &tokens, &used, &dead, &perplexity) != 5) {
            rc = bb_fail(err, "%s:%d: expected codebook,tokens,used,dead_codes,perplexity", path, lineno);
            break;
        }
        fprintf(rows, "tokens,perplexity/%s,%.17g\ntokens,dead_codes/%s,%ld\ntokens,used/%s,%ld\n",
                name, perplexity, name, dead, name, used);
    }
    fclose(fp);
    return rc;
}

/* The stage-1 run of a beat cell: its ranking rows, codebook rows and training curve. */
static int rows_from_stage1(const char *run_dir, FILE *rows, FILE *curves, bb_error *err) {
    char *manifest_path = bb_path_join(run_dir, "manifest.json");
    char *text = NULL;
    int rc = bb_read_file(manifest_path, &text, NULL, err);
    free(manifest_path);
    if (rc != BB_OK) return BB_ERR;
    cJSON *m = cJSON_Parse(text);
    free(text);
    const cJSON *s1 = cJSON_GetObjectItemCaseSensitive(m, "stage1");
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(s1, "dir");
    if (!cJSON_IsString(dir)) {
        cJSON_Delete(m);
        return bb_fail(err, "%s: manifest.json names no stage-1 directory", run_dir);
    }
    char *s1dir = bb_strdup(dir->valuestring);
    cJSON_Delete(m);
    char *p = bb_path_join(s1dir, "manifest.json");
    rc = bb_read_file(p, &text, NULL, err);
    free(p);
    int best = -1;
    if (rc == BB_OK) {
        m = cJSON_Parse(text);
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
    free(s1dir);
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
    bb_run_result_free(&res);
    int rc = rows_from_metrics_json(m.buf, rows, err);
    free(m.buf);
    if (rc == BB_OK && strcmp(c->method, "beat") == 0) rc = rows_from_stage1(dir, rows, curves, err);
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
