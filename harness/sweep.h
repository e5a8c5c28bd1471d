/* sweep — a grid of experiments over config keys x seeds, resumable, in parallel (DESIGN §9,
 * §10 `sweep`; issue #8).
 *
 * Sweep config (JSON; every section optional except "datasets"):
 *   {"name": "ci-codebook",
 *    "datasets": ["synth", "../shared/datasets/yelp"],  "synth": the synthetic dataset of the
 *                   "synth" section (default `data synth`), generated into OUT/data/synth
 *    "synth": {"users": 600, ...},                    bb_synth_config keys
 *    "methods": ["beat", "id-prompt", "pop"],         explanation methods (run_driver.h) and
 *                   ranking methods pop | mf | lightgcn (baselines/rank_run.h)
 *    "seeds": [1, 2, 3],
 *    "threads": 2,           threads of each cell (results are bit-identical per thread count,
 *                            so this is part of a cell's key; --jobs never changes it)
 *    "run":    {...} | "FILE"   a run config (run_config.h) for the explanation methods
 *    "stage1": {...} | "FILE"   stage-1 keys (over run.stage1_config when that is set)
 *    "lm":     {...} | "FILE"   LM keys (over run.lm_config when that is set)
 *    "rank":   {...}            ranking keys: epochs dim layers lr reg batch eval_every patience
 *                               mask (train | train+valid) reg_on (final | ego)
 *    "grid": {"stage1.codebook_size": [16, 64, 256]},   the product of the listed values
 *    "variants": [{"name": "no_macro", "set": {"stage1.no_macro": true}}, ...],
 *    "report": true}         run `report` into OUT/report when the sweep ends
 *   Override keys: "method", "stage1.K", "lm.K", "rank.K", anything else is a run config key
 *   ("explain.lr", "task.max_test_rows"). A config can have a grid or variants, not both.
 *   Relative paths are relative to the working directory.
 *
 * Cells: datasets x methods x (variants | grid points | one "default") x seeds, in that
 * nesting order (the order of every output). A cell's id is the FNV-1a 64 hash of what decides
 * its results: dataset name and data-file hash, method, every resolved config value, seed,
 * threads and code version — not the variant's name, so two cells with the same config (e.g.
 * pop under every codebook size) share one run directory. Shared artifacts (split, LM, stage 1,
 * LightGCN) come from the cache (beat_lm_cache.h: $BB_CACHE_DIR or results/runs/cache) under
 * locks, so one LM and one stage 1 are made per dataset x seed when only stage-2 keys vary.
 *
 * Output directory (what `report` and `compare` read):
 *   sweep.json       the config as read
 *   cells.csv        cell,dataset,method,variant,seed,status (ok | failed | pending)
 *   cells/<id>/      the cell's run directory (run_driver.h or rank_run.h files) plus
 *                    cell.json, rows.csv (split,metric,value), curves.csv
 *                    (stage,epoch,metric,value), cost.json (seconds, peak_rss_mb,
 *                    mpi_rank), failed.txt (failed cells only)
 *   results.csv      dataset,method,variant,seed,split,metric,value — ok cells in cell order
 *   curves.csv       dataset,method,variant,seed,stage,epoch,metric,value
 *   failures.csv     dataset,method,variant,seed,cell,reason
 *   costs.csv        dataset,method,variant,seed,cell,seconds,peak_rss_mb (not deterministic,
 *                    so kept out of results.csv)
 *   logs/<id>.log    the cell's stderr
 * Each cell runs in a child process (a crash or abort fails that cell only) and becomes
 * visible by one rename of its finished directory; results.csv and the other tables are
 * rewritten atomically from the finished cells after each one. So after `kill -9` at any
 * moment, `--resume` redoes only the cells without a directory and ends with results.csv
 * byte-identical to an uninterrupted sweep. A failed cell (error, NaN, signal) is recorded
 * with its reason and the sweep goes on; --resume keeps it (delete its directory to retry).
 * With MPI (built with MPI=1, run under mpirun), rank r runs the cells i with i % size == r and
 * rank 0 writes the tables once every rank is done: the same files as a serial sweep.
 */
#ifndef BB_SWEEP_H
#define BB_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "baselines/rank_run.h"
#include "datasets/synth.h"
#include "harness/run_config.h"
#include "models/base/bb_error.h"
#include "models/beat/beat_stage1.h"
#include "models/lm/lm_config.h"

enum { BB_SWEEP_MAX_NAME = 64, BB_SWEEP_MAX_VARIANT = 256 };

typedef enum { BB_CELL_EXPLAIN, BB_CELL_RANK } bb_cell_kind;

/* The "rank" section's keys (schema-validated; rank_run_config is filled from them). */
typedef struct bb_sweep_rank_keys {
    int epochs, dim, layers, batch, eval_every, patience;
    double lr, reg;
    char mask[16];  /* train | train+valid */
    char reg_on[8]; /* final | ego */
} bb_sweep_rank_keys;

typedef struct bb_sweep_cell {
    char dataset[BB_SWEEP_MAX_NAME];
    int dataset_index;
    char method[16];
    char variant[BB_SWEEP_MAX_VARIANT];
    uint64_t seed;
    bb_cell_kind kind;
    bb_run_config run;    /* explanation cells */
    beat_config stage1;
    lm_config lm;
    bb_sweep_rank_keys rank; /* ranking cells */
    char *overrides_json; /* the cell's own overrides, a JSON object (owned) */
    char id[17];          /* 16 hex digits; set by bb_sweep_resolve_ids */
    int first;            /* 1 for the first cell with this id (the one that runs) */
} bb_sweep_cell;

typedef struct bb_sweep {
    char *path; /* the config file (messages) */
    char *text; /* its bytes (sweep.json) */
    char name[BB_SWEEP_MAX_NAME];
    int threads;
    int report;
    char **datasets; /* as written ("synth" or a directory) */
    char **data_dirs; /* resolved directories; synth under the output directory */
    uint64_t *data_hashes;
    size_t n_datasets;
    bb_synth_config synth;
    bb_sweep_cell *cells;
    size_t n_cells;
    int mpi_rank; /* set by bb_sweep_run; recorded in each cell's cost.json */
} bb_sweep;

/* Parses and validates a sweep config: every cell's resolved config is checked before anything
 * runs, and errors name the file and the key ("sweep.json: key 'stage1.codebok_size': ..."). */
int bb_sweep_load(const char *path, bb_sweep *sw, bb_error *err);
int bb_sweep_parse(const char *path, const char *text, bb_sweep *sw, bb_error *err);
void bb_sweep_free(bb_sweep *sw);

/* The ranking config of a ranking cell (data_dir, out_dir and threads left to the caller). */
void bb_sweep_rank_config(const bb_sweep_cell *c, rank_run_config *out);

/* Makes the synthetic dataset under out_dir when listed, hashes every dataset and sets the
 * cells' ids. */
int bb_sweep_resolve_ids(bb_sweep *sw, const char *out_dir, bb_error *err);

typedef struct bb_sweep_opts {
    const char *out_dir;
    int jobs;   /* cells at once (child processes) */
    int resume; /* continue a sweep already in out_dir */
    int quiet;  /* no per-cell progress lines */
} bb_sweep_opts;

typedef struct bb_sweep_summary {
    size_t cells, ran, reused, failed; /* unique run directories (this process's share) */
    size_t ok_cells, failed_cells;      /* cells by status in the final tables (rank 0) */
} bb_sweep_summary;

/* Runs every unfinished cell and writes the tables. Returns BB_ERR only for errors of the
 * sweep itself (config, output directory); failed cells are counted in the summary. */
int bb_sweep_run(bb_sweep *sw, const bb_sweep_opts *o, bb_sweep_summary *sum, bb_error *err);

/* Runs one cell into dir (which must not exist): the child-process body. Writes the run
 * directory plus cell.json, rows.csv and curves.csv, or failed.txt with the reason; the
 * directory appears by one rename. Returns BB_OK when the cell succeeded. */
int bb_sweep_run_cell(const bb_sweep *sw, const bb_sweep_cell *c, const char *cells_dir,
                      bb_error *err);

/* Records the cell as failed with reason (one line): CELLS/<id>/ with failed.txt and
 * cell.json, appearing by one rename. */
int bb_sweep_record_failure(const bb_sweep *sw, const bb_sweep_cell *c, const char *cells_dir,
                            const char *reason, bb_error *err);

/* Testing: when $BB_SWEEP_CRASH equals name (optionally "name#N": the N-th time, 1-based),
 * the whole process group is killed with SIGKILL at that point, as a machine loss would. */
void bb_sweep_crash_point(const char *name);

#endif
