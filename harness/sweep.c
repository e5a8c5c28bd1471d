/* sweep — the scheduler: child processes per cell (--jobs), MPI ranks, resume, and the tables
 * rebuilt from the finished cells (sweep.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#ifdef BB_WITH_MPI
#include <mpi.h>
#endif

#include "datasets/csv_reader.h"
#include "harness/commands.h"
#include "harness/sweep.h"
#include "models/base/bb_io.h"
#include "models/base/bb_time.h"

static void mpi_rank_size(int *rank, int *size) {
    *rank = 0, *size = 1;
#ifdef BB_WITH_MPI
    int init = 0;
    MPI_Initialized(&init);
    if (init) {
        MPI_Comm_rank(MPI_COMM_WORLD, rank);
        MPI_Comm_size(MPI_COMM_WORLD, size);
    }
#endif
}

static void mpi_barrier(void) {
#ifdef BB_WITH_MPI
    int init = 0;
    MPI_Initialized(&init);
    if (init) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

/* ------------------------------------------------------------------------------------------
 * Tables */

static void cell_labels(FILE *fp, const bb_sweep_cell *c) {
    fprintf(fp, "%s,%s,%s,%llu,", c->dataset, c->method, c->variant, (unsigned long long)c->seed);
}

typedef enum { CELL_PENDING, CELL_OK, CELL_FAILED } cell_status;

static cell_status status_of(const char *cells_dir, const char *id) {
    char *dir = bb_path_join(cells_dir, id);
    char *rows = bb_path_join(dir, "rows.csv");
    char *failed = bb_path_join(dir, "failed.txt");
    cell_status s = bb_path_exists(rows) ? CELL_OK : bb_path_exists(failed) ? CELL_FAILED : CELL_PENDING;
    free(rows), free(failed), free(dir);
    return s;
}

/* Copies the data lines of DIR/name, each prefixed with the cell's labels. */
static int append_cell_file(FILE *out, const char *dir, const char *name, const bb_sweep_cell *c,
                            bb_error *err) {
    char *path = bb_path_join(dir, name);
    char *text = NULL;
    int rc = bb_read_file(path, &text, NULL, err);
    free(path);
    if (rc != BB_OK) return BB_ERR;
    char *line = strchr(text, '\n'); /* skip the header */
    while (line && line[1]) {
        char *next = strchr(line + 1, '\n');
        size_t n = next ? (size_t)(next - line - 1) : strlen(line + 1);
        cell_labels(out, c);
        fwrite(line + 1, 1, n, out);
        fputc('\n', out);
        line = next;
    }
    free(text);
    return BB_OK;
}

static char *read_trimmed(const char *dir, const char *name) {
    char *path = bb_path_join(dir, name);
    char *text = NULL;
    bb_error e;
    if (bb_read_file(path, &text, NULL, &e) != BB_OK) text = bb_strdup("");
    free(path);
    text[strcspn(text, "\r\n")] = '\0';
    return text;
}

typedef struct {
    const char *name;
    const char *header;
    FILE *fp;
    char *buf;
    size_t len;
} table;

static int write_tables(const bb_sweep *sw, const char *out_dir, const char *cells_dir, size_t *n_ok,
                        size_t *n_failed, bb_error *err) {
    table t[] = {
        {"results.csv", "dataset,method,variant,seed,split,metric,value", NULL, NULL, 0},
        {"curves.csv", "dataset,method,variant,seed,stage,epoch,metric,value", NULL, NULL, 0},
        {"failures.csv", "dataset,method,variant,seed,cell,reason", NULL, NULL, 0},
        {"costs.csv", "dataset,method,variant,seed,cell,seconds,peak_rss_mb", NULL, NULL, 0},
        {"cells.csv", "cell,dataset,method,variant,seed,status", NULL, NULL, 0},
    };
    enum { RESULTS, CURVES, FAILURES, COSTS, CELLS, N_TABLES };
    for (int k = 0; k < N_TABLES; k++) {
        t[k].fp = open_memstream(&t[k].buf, &t[k].len);
        if (!t[k].fp) abort();
        fprintf(t[k].fp, "%s\n", t[k].header);
    }
    int rc = BB_OK;
    *n_ok = *n_failed = 0;
    for (size_t i = 0; i < sw->n_cells && rc == BB_OK; i++) {
        const bb_sweep_cell *c = &sw->cells[i];
        char *dir = bb_path_join(cells_dir, c->id);
        const cell_status s = status_of(cells_dir, c->id);
        fprintf(t[CELLS].fp, "%s,", c->id);
        cell_labels(t[CELLS].fp, c);
        fprintf(t[CELLS].fp, "%s\n", s == CELL_OK ? "ok" : s == CELL_FAILED ? "failed" : "pending");
        if (s == CELL_OK) {
            (*n_ok)++;
            rc = append_cell_file(t[RESULTS].fp, dir, "rows.csv", c, err);
            if (rc == BB_OK) rc = append_cell_file(t[CURVES].fp, dir, "curves.csv", c, err);
            char *cost = read_trimmed(dir, "cost.json");
            cJSON *j = cJSON_Parse(cost);
            const cJSON *secs = cJSON_GetObjectItemCaseSensitive(j, "seconds");
            const cJSON *rss = cJSON_GetObjectItemCaseSensitive(j, "peak_rss_mb");
            cell_labels(t[COSTS].fp, c);
            fprintf(t[COSTS].fp, "%s,%.3f,%.1f\n", c->id, cJSON_IsNumber(secs) ? secs->valuedouble : -1.0,
                    cJSON_IsNumber(rss) ? rss->valuedouble : -1.0);
            cJSON_Delete(j);
            free(cost);
        } else if (s == CELL_FAILED) {
            (*n_failed)++;
            char *reason = read_trimmed(dir, "failed.txt");
            cell_labels(t[FAILURES].fp, c);
            fprintf(t[FAILURES].fp, "%s,", c->id);
            bb_csv_write_field(t[FAILURES].fp, reason);
            fputc('\n', t[FAILURES].fp);
            free(reason);
        }
        free(dir);
    }
    for (int k = 0; k < N_TABLES; k++) fclose(t[k].fp);
    if (rc == BB_OK) bb_sweep_crash_point("tables-before-commit");
    for (int k = 0; k < N_TABLES && rc == BB_OK; k++)
        rc = bb_write_in_dir(out_dir, t[k].name, t[k].buf, t[k].len, err);
    for (int k = 0; k < N_TABLES; k++) free(t[k].buf);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Children */

/* The child's body: its stderr to the cell's log, the cell's lock, then the cell. */
static int child_main(const bb_sweep *sw, const bb_sweep_cell *c, const char *out_dir,
                      const char *cells_dir) {
    char *logs = bb_path_join(out_dir, "logs");
    char name[40];
    snprintf(name, sizeof name, "%s.log", c->id);
    char *log = bb_path_join(logs, name);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        dup2(fd, STDOUT_FILENO);
        close(fd);
    }
    free(log), free(logs);
    bb_error err = {{0}};
    char *cell = bb_path_join(cells_dir, c->id);
    int lock = -1;
    int code = 0;
    if (bb_lock_entry(cell, &lock, &err) != BB_OK) {
        fprintf(stderr, "beatbench: %s\n", err.msg);
        code = 4;
    } else if (!bb_path_exists(cell)) { /* a cell a stray process finished meanwhile is kept */
        if (bb_sweep_run_cell(sw, c, cells_dir, &err) != BB_OK) {
            fprintf(stderr, "beatbench: %s\n", err.msg);
            code = 3;
        }
    }
    bb_lock_release(lock);
    free(cell);
    fflush(NULL);
    return code;
}

/* A child that died without leaving its directory: the reason becomes the cell's record. */
static int record_crash(const bb_sweep *sw, const bb_sweep_cell *c, const char *cells_dir, int status,
                        bb_error *err) {
    char *cell = bb_path_join(cells_dir, c->id);
    const int exists = bb_path_exists(cell);
    free(cell);
    if (exists) return BB_OK;
    char reason[128];
    if (WIFSIGNALED(status))
        snprintf(reason, sizeof reason, "the cell's process was killed by signal %d (see logs/%s.log)",
                 WTERMSIG(status), c->id);
    else
        snprintf(reason, sizeof reason, "the cell's process exited with status %d (see logs/%s.log)",
                 WEXITSTATUS(status), c->id);
    return bb_sweep_record_failure(sw, c, cells_dir, reason, err);
}

/* ------------------------------------------------------------------------------------------
 * The sweep */

static int prepare_out(const bb_sweep *sw, const bb_sweep_opts *o, int mpi_rank, bb_error *err) {
    char *sj = bb_path_join(o->out_dir, "sweep.json");
    int exists = bb_path_exists(sj);
    free(sj);
    if (exists && !o->resume)
        return bb_fail(err, "%s: already holds a sweep: pass --resume to continue it, or choose another --out",
                       o->out_dir);
    mpi_barrier();
    char *cells = bb_path_join(o->out_dir, "cells");
    char *logs = bb_path_join(o->out_dir, "logs");
    int rc = bb_mkdir_p(cells, err);
    if (rc == BB_OK) rc = bb_mkdir_p(logs, err);
    free(cells), free(logs);
    if (rc == BB_OK && mpi_rank == 0) rc = bb_write_in_dir(o->out_dir, "sweep.json", sw->text, strlen(sw->text), err);
    return rc;
}

int bb_sweep_run(bb_sweep *sw, const bb_sweep_opts *o, bb_sweep_summary *sum, bb_error *err) {
    memset(sum, 0, sizeof *sum);
    if (o->jobs < 1) return bb_fail(err, "sweep: --jobs must be at least 1, got %d", o->jobs);
    int mpi_rank, mpi_size;
    mpi_rank_size(&mpi_rank, &mpi_size);
    sw->mpi_rank = mpi_rank;
    if (prepare_out(sw, o, mpi_rank, err) != BB_OK) return BB_ERR;
    if (bb_sweep_resolve_ids(sw, o->out_dir, err) != BB_OK) return BB_ERR;
    char *cells_dir = bb_path_join(o->out_dir, "cells");
    /* the unique run directories this process owns, in cell order */
    size_t *todo = bb_calloc(sw->n_cells + 1, sizeof *todo);
    size_t n_todo = 0, n_unique = 0;
    for (size_t i = 0; i < sw->n_cells; i++) {
        if (!sw->cells[i].first) continue;
        const size_t u = n_unique++;
        char *dir = bb_path_join(cells_dir, sw->cells[i].id);
        const int done = bb_path_exists(dir);
        free(dir);
        if (done) {
            sum->reused++;
            continue;
        }
        if ((int)(u % (size_t)mpi_size) == mpi_rank) todo[n_todo++] = i;
    }
    sum->cells = n_unique;
    if (!o->quiet && mpi_rank == 0)
        fprintf(stderr, "sweep %s: %zu cells (%zu run directories, %zu already done), %d job%s%s\n", sw->name,
                sw->n_cells, n_unique, (size_t)sum->reused, o->jobs, o->jobs == 1 ? "" : "s",
                mpi_size > 1 ? " per MPI rank" : "");
    pid_t *pids = bb_calloc((size_t)o->jobs, sizeof *pids);
    size_t *slot_cell = bb_calloc((size_t)o->jobs, sizeof *slot_cell);
    double *slot_t0 = bb_calloc((size_t)o->jobs, sizeof *slot_t0);
    size_t next = 0, running = 0, finished = 0;
    int rc = BB_OK;
    size_t n_ok = 0, n_failed = 0;
    while (rc == BB_OK && (next < n_todo || running > 0)) {
        while (next < n_todo && running < (size_t)o->jobs) {
            int slot = 0;
            while (pids[slot]) slot++;
            const bb_sweep_cell *c = &sw->cells[todo[next]];
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) {
                rc = bb_fail(err, "sweep: fork failed: %s", strerror(errno));
                break;
            }
            if (pid == 0) { /* the child frees the scheduler's copies before it exits */
                const int code = child_main(sw, c, o->out_dir, cells_dir);
                free(pids), free(slot_cell), free(slot_t0), free(todo), free(cells_dir);
                _exit(code);
            }
            pids[slot] = pid, slot_cell[slot] = todo[next], slot_t0[slot] = bb_now();
            next++, running++;
        }
        if (running == 0) break;
        int status = 0;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            rc = bb_fail(err, "sweep: waitpid failed: %s", strerror(errno));
            break;
        }
        int slot = 0;
        while (slot < o->jobs && pids[slot] != pid) slot++;
        if (slot == o->jobs) continue; /* not ours */
        pids[slot] = 0, running--, finished++;
        const bb_sweep_cell *c = &sw->cells[slot_cell[slot]];
        const int clean = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3);
        if (!clean) rc = record_crash(sw, c, cells_dir, status, err);
        const cell_status s = status_of(cells_dir, c->id);
        if (s == CELL_OK) sum->ran++;
        if (s == CELL_FAILED) sum->failed++;
        if (!o->quiet) {
            char reason[200] = "";
            if (s == CELL_FAILED) {
                char *dir = bb_path_join(cells_dir, c->id);
                char *r = read_trimmed(dir, "failed.txt");
                snprintf(reason, sizeof reason, ": %s", r);
                free(r), free(dir);
            }
            fprintf(stderr, "sweep: [%zu/%zu] %s %s %s seed %llu: %s (%.1f s)%s\n", finished, n_todo, c->dataset,
                    c->method, c->variant, (unsigned long long)c->seed,
                    s == CELL_OK ? "ok" : s == CELL_FAILED ? "FAILED" : "pending", bb_now() - slot_t0[slot], reason);
        }
        bb_sweep_crash_point("after-cell");
        if (rc == BB_OK && mpi_rank == 0) rc = write_tables(sw, o->out_dir, cells_dir, &n_ok, &n_failed, err);
    }
    /* on a sweep error, let the running children finish their cells (they stay reusable) */
    while (running > 0) {
        int status;
        if (waitpid(-1, &status, 0) > 0) running--;
        else if (errno != EINTR) break;
    }
    mpi_barrier();
    if (rc == BB_OK && mpi_rank == 0) rc = write_tables(sw, o->out_dir, cells_dir, &n_ok, &n_failed, err);
    sum->ok_cells = n_ok, sum->failed_cells = n_failed;
    if (rc == BB_OK && mpi_rank == 0 && sw->report) {
        char *report_dir = bb_path_join(o->out_dir, "report");
        char *argv[] = {"report", (char *)o->out_dir, "--out", report_dir, NULL};
        int code = bb_cli_main(4, argv);
        if (code != 0) rc = bb_fail(err, "sweep: the report into %s failed (exit %d)", report_dir, code);
        free(report_dir);
    }
    free(pids), free(slot_cell), free(slot_t0), free(todo), free(cells_dir);
    return rc;
}
