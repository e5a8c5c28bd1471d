/* cmd_sweep — `beatbench sweep`: a grid of experiments over config keys x seeds
 * (harness/sweep.h has the config, the cells and the output directory).
 *
 *   sweep --config FILE --out DIR [--jobs N] [--resume] [--quiet] [--json]
 *   sweep --config FILE --dry-run      check the config, list its cells, run nothing
 *
 * --jobs N runs N cells at once, each in its own process with the config's "threads" (so
 * results do not depend on N). --resume continues a sweep in DIR: finished cells are kept,
 * unfinished ones run. Under `mpirun -np R` (built with MPI=1) the cells are spread over the
 * ranks. --json prints {"cells", "ok", "failed", "ran", "reused", "out"} on stdout.
 * Exit: 0 when every cell finished (failed cells included: they are results too, listed in
 * DIR/failures.csv), 1 on a config or output-directory error, 2 on usage errors.
 */
#include <stdio.h>

#ifdef BB_WITH_MPI
#include <mpi.h>
#endif

#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/sweep.h"

/* --dry-run: the config checked and its cells listed (dataset,method,variant,seed) on stdout. */
static int list_cells(const char *config) {
    bb_error err = {{0}};
    bb_sweep sw;
    int code = BB_EXIT_OK;
    if (bb_sweep_load(config, &sw, &err) != BB_OK) {
        code = bb_cli_fail(&err);
    } else {
        printf("dataset,method,variant,seed\n");
        for (size_t k = 0; k < sw.n_cells; k++)
            printf("%s,%s,%s,%llu\n", sw.cells[k].dataset, sw.cells[k].method, sw.cells[k].variant,
                   (unsigned long long)sw.cells[k].seed);
        fprintf(stderr, "sweep %s: %zu cells, config valid\n", sw.name, sw.n_cells);
    }
    bb_sweep_free(&sw);
    return code;
}

int bb_cmd_sweep(int argc, char **argv) {
    const char *config = NULL, *out = NULL;
    int jobs = 1, resume = 0, quiet = 0, json = 0, dry_run = 0;
    const bb_opt opts[] = {
        {"--config", BB_OPT_STR, &config, "FILE", "sweep config JSON (harness/configs/sweeps/)"},
        {"--out", BB_OPT_STR, &out, "DIR", "sweep output directory"},
        {"--jobs", BB_OPT_INT, &jobs, "N", "cells at once (default 1)"},
        {"--resume", BB_OPT_FLAG, &resume, NULL, "continue the sweep in DIR"},
        {"--quiet", BB_OPT_FLAG, &quiet, NULL, "no per-cell progress lines"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print a summary object on stdout"},
        {"--dry-run", BB_OPT_FLAG, &dry_run, NULL, "check the config and list its cells; run nothing"},
        {0}};
    const bb_cmd_spec spec = {"sweep", "--config FILE --out DIR [--jobs N] [--resume]",
                              "Run every cell of a sweep (datasets x methods x variants or grid "
                              "points x seeds), each a run directory keyed by its config hash, and "
                              "write results.csv, curves.csv, failures.csv, costs.csv and "
                              "cells.csv. Resumable after any interruption.",
                              0, 0, NULL};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    if (!config) return bb_cli_usage(spec.name, "--config FILE is required");
    if (dry_run) return list_cells(config);
    if (!out) return bb_cli_usage(spec.name, "--out DIR is required");
    if (jobs < 1) return bb_cli_usage(spec.name, "--jobs: expected at least 1, got %d", jobs);
#ifdef BB_WITH_MPI
    int mpi_was_init = 0;
    MPI_Initialized(&mpi_was_init);
    if (!mpi_was_init) MPI_Init(NULL, NULL);
    int mpi_rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
    if (mpi_rank != 0) quiet = 1, json = 0;
#endif
    bb_error err = {{0}};
    bb_sweep sw;
    int code = BB_EXIT_OK;
    if (bb_sweep_load(config, &sw, &err) != BB_OK) {
        code = bb_cli_fail(&err);
    } else {
        bb_sweep_opts o = {.out_dir = out, .jobs = jobs, .resume = resume, .quiet = quiet};
        bb_sweep_summary sum;
        if (bb_sweep_run(&sw, &o, &sum, &err) != BB_OK) {
            code = bb_cli_fail(&err);
        } else {
            if (!quiet)
                fprintf(stderr, "sweep %s: %zu cells ok, %zu failed (%zu run now, %zu reused); tables in %s\n",
                        sw.name, sum.ok_cells, sum.failed_cells, sum.ran + sum.failed, sum.reused, out);
            if (json)
            {
                printf("{\"cells\": %zu, \"ok\": %zu, \"failed\": %zu, \"ran\": %zu, \"reused\": %zu, "
                       "\"out\": ",
                       sw.n_cells, sum.ok_cells, sum.failed_cells, sum.ran + sum.failed, sum.reused);
                bb_json_string(stdout, out);
                printf("}\n");
            }
        }
    }
    bb_sweep_free(&sw);
#ifdef BB_WITH_MPI
    if (!mpi_was_init) MPI_Finalize();
#endif
    return code;
}
