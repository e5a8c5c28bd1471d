/* bench_beat — issue #6's targets for BEAT stage 1 on yelp (../shared/datasets/yelp),
 * default configuration (T 5, t 64, K 512, batch 10,240 + as many negatives), d = 256:
 *
 *   one training epoch           target <= 10 s on 2 cores
 *   achieved GFLOP/s             reported: dense products performed (projections forward
 *                                and backward, codeword search) per second of training
 *   peak RSS of the whole run    target <= 2 GB
 *
 * The run is `beatbench beat tokenize --epochs 1 --json` in a subprocess ($BB_BIN), so its
 * peak RSS is its own (data, text features, model, evaluation). The text encoder is the
 * hashed stand-in at d = 256: stage 1 reads the text vectors once, before training, so the
 * epoch time depends on d only, not on which encoder made them. The child's CPU seconds
 * (user + sys) and the epoch's phases are printed too: on a machine shared with other jobs,
 * the wall time is inflated, and sum over phases of max(main-thread CPU, process CPU /
 * threads) estimates the epoch alone (reported, no target; the load average is noted).
 * Threads: BB_THREADS or all cores (the target is for 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "models/base/bb_io.h"
#include "tests/bench/benchhelp.h"

static double child_cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static void note_load(const char *when) {
    char *text = NULL;
    bb_error err;
    if (bb_read_file("/proc/loadavg", &text, NULL, &err) != BB_OK) return;
    double one = atof(text);
    bb_bench_note("load average (1 min) %s the run: %.2f", when, one);
    free(text);
}

static int bench_stage1_epoch_yelp(void) {
    const char *shared = bb_bench_shared_dir();
    char data[1024];
    snprintf(data, sizeof data, "%s/datasets/yelp", shared ? shared : "");
    if (!shared || !bb_path_exists(data)) {
        bb_bench_note("skipped: no ../shared/datasets/yelp");
        return 0;
    }
    const char *bin = getenv("BB_BIN");
    if (!bin || !*bin) bin = "build/release/beatbench";
    const int threads = bb_bench_threads();
    char run[128], errpath[128], cmd[4096];
    snprintf(run, sizeof run, "/tmp/bb_bench_beat.%ld", (long)getpid());
    snprintf(errpath, sizeof errpath, "/tmp/bb_bench_beat.%ld.err", (long)getpid());
    snprintf(cmd, sizeof cmd,
             "BB_QUIET=1 %s beat tokenize --data %s --out %s --text-encoder hash --text-dim 256 "
             "--epochs 1 --threads %d --json 2> %s",
             bin, data, run, threads, errpath);
    note_load("before");
    const double cpu0 = child_cpu_seconds();
    FILE *p = popen(cmd, "r");
    if (!p) return 1;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) fwrite(chunk, 1, n, mem);
    fclose(mem);
    int st = pclose(p);
    const double cpu = child_cpu_seconds() - cpu0;
    note_load("after"); /* the run itself adds up to 2 */
    cJSON *js = st == 0 ? cJSON_Parse(buf) : NULL;
    free(buf);
    if (!js) {
        char *msg = NULL;
        bb_error err;
        bb_bench_note("command failed: %s", cmd);
        if (bb_read_file(errpath, &msg, NULL, &err) == BB_OK) bb_bench_note("%s", msg);
        free(msg);
        remove(errpath);
        return 1;
    }
    remove(errpath);
    bb_remove_tree(run);
    const double epoch = cJSON_GetObjectItem(js, "seconds_per_epoch")->valuedouble;
    const double gflop = cJSON_GetObjectItem(js, "train_gflop")->valuedouble;
    const double gflops = cJSON_GetObjectItem(js, "gflops")->valuedouble;
    const double rss = cJSON_GetObjectItem(js, "peak_rss_mb")->valuedouble;
    const double eval = cJSON_GetObjectItem(js, "eval_seconds")->valuedouble;
    /* the epoch alone on the machine: per phase, the busier of the main thread's CPU time and
     * the process CPU time shared by the threads */
    double alone = 0.0;
    const cJSON *phases = cJSON_GetObjectItem(js, "phases");
    for (const cJSON *ph = phases ? phases->child : NULL; ph; ph = ph->next) {
        double phase_cpu = cJSON_GetObjectItem(ph, "cpu")->valuedouble;
        double main_cpu = cJSON_GetObjectItem(ph, "main_cpu")->valuedouble;
        double est = main_cpu > phase_cpu / threads ? main_cpu : phase_cpu / threads;
        alone += est;
        bb_bench_note("  %-16s wall %6.2f s  cpu %6.2f s  main thread %6.2f s", ph->string,
                      cJSON_GetObjectItem(ph, "wall")->valuedouble, phase_cpu, main_cpu);
    }
    cJSON_Delete(js);
    int missed = 0;
    bb_bench_note("yelp, defaults (T 5, t 64, K 512, batch 10240), d 256, %d thread(s)", threads);
    missed |= bb_bench_report("stage-1 training epoch", epoch, "s", "<=", 10.0);
    bb_bench_report("same, CPU-time estimate alone on the machine", alone, "s", NULL, 0);
    bb_bench_report("dense work per epoch", gflop, "GFLOP", NULL, 0);
    bb_bench_report("achieved (dense products / training time)", gflops, "GFLOP/s", NULL, 0);
    bb_bench_report("run CPU time (user + sys, incl. load and 2 evaluations)", cpu, "s", NULL, 0);
    bb_bench_report("test full-ranking pass (T d = 1280 wide)", eval, "s", NULL, 0);
    missed |= bb_bench_report("peak RSS of the run", rss, "MB", "<=", 2048.0);
    return missed;
}

const bb_bench bb_benches_beat[] = {
    {"stage1_epoch_yelp", bench_stage1_epoch_yelp},
    {NULL, NULL},
};
