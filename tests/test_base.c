/* Tests for models/base: RNG streams, atomic files, staged run directories, errors. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "models/base/bb_error.h"
#include "models/base/bb_hash.h"
#include "models/base/bb_io.h"
#include "models/base/bb_progress.h"
#include "models/base/bb_rng.h"
#include "tests/testhelp.h"

static void test_rng_reference_values(void) {
    /* xoshiro256** from a known state: the first outputs from the authors' reference
     * implementation for s = {1, 2, 3, 4}. */
    bb_rng r = {{1, 2, 3, 4}, 0.0, 0};
    TEST_EQ_INT(bb_rng_next(&r), 11520ULL);
    TEST_EQ_INT(bb_rng_next(&r), 0ULL);
    TEST_EQ_INT(bb_rng_next(&r), 1509978240ULL);
    TEST_EQ_INT(bb_rng_next(&r), 1215971899390074240ULL);
}

static void test_rng_streams_are_reproducible_and_distinct(void) {
    bb_rng a, b, c, d;
    bb_rng_seed(&a, 42, "split");
    bb_rng_seed(&b, 42, "split");
    bb_rng_seed(&c, 42, "negatives");
    bb_rng_seed_indexed(&d, 42, "split", 1);
    int same_ab = 1, same_ac = 0, same_ad = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = bb_rng_next(&a), y = bb_rng_next(&b), z = bb_rng_next(&c),
                 w = bb_rng_next(&d);
        same_ab &= x == y;
        same_ac += x == z;
        same_ad += x == w;
    }
    TEST_TRUE(same_ab);
    TEST_EQ_INT(same_ac, 0);
    TEST_EQ_INT(same_ad, 0);
}

static void test_rng_below_is_uniform(void) {
    bb_rng r;
    bb_rng_seed(&r, 7, "test");
    int counts[6] = {0};
    const int n = 60000;
    for (int i = 0; i < n; i++) counts[bb_rng_below(&r, 6)]++;
    /* chi-square with 5 dof: 20.5 is the 0.999 quantile */
    double chi = 0;
    for (int k = 0; k < 6; k++) chi += (counts[k] - n / 6.0) * (counts[k] - n / 6.0) / (n / 6.0);
    TEST_TRUE(chi < 20.5);
}

static void test_rng_normal_moments(void) {
    bb_rng r;
    bb_rng_seed(&r, 3, "normal");
    double s = 0, s2 = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = bb_rng_normal(&r);
        s += x;
        s2 += x * x;
    }
    TEST_NEAR(s / n, 0.0, 0.01);
    TEST_NEAR(s2 / n, 1.0, 0.02);
}

static void test_rng_uniform_range(void) {
    bb_rng r;
    bb_rng_seed(&r, 1, "u");
    for (int i = 0; i < 10000; i++) {
        double u = bb_rng_uniform(&r);
        float f = bb_rng_uniformf(&r);
        TEST_TRUE(u >= 0.0 && u < 1.0);
        TEST_TRUE(f >= 0.0f && f < 1.0f);
    }
}

static void test_shuffle_is_permutation(void) {
    bb_rng r;
    bb_rng_seed(&r, 9, "shuffle");
    int32_t a[100];
    int seen[100] = {0};
    for (int i = 0; i < 100; i++) a[i] = i;
    bb_rng_shuffle_i32(&r, a, 100);
    int moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[a[i]]++;
        moved += a[i] != i;
    }
    for (int i = 0; i < 100; i++) TEST_EQ_INT(seen[i], 1);
    TEST_TRUE(moved > 80);
}

static void test_atomic_write_and_abort(void) {
    bb_error err = {{0}};
    const char *path = bb_test_tmp_path("atomic.txt");
    TEST_OK(bb_write_file_atomic(path, "hello", 5, &err), &err);
    char *text = NULL;
    size_t len = 0;
    TEST_OK(bb_read_file(path, &text, &len, &err), &err);
    TEST_EQ_INT(len, 5);
    TEST_STR_EQ(text, "hello");
    free(text);
    bb_atomic_file af;
    TEST_OK(bb_atomic_open(&af, path, &err), &err);
    fputs("partial", af.fp);
    bb_atomic_abort(&af);
    TEST_OK(bb_read_file(path, &text, &len, &err), &err);
    TEST_STR_EQ(text, "hello"); /* the aborted write left the old file untouched */
    free(text);
}

static void test_read_missing_file_names_it(void) {
    bb_error err;
    char *text = NULL;
    TEST_ERR_CONTAINS(bb_read_file("/nonexistent/x.csv", &text, NULL, &err), &err,
                      "/nonexistent/x.csv");
}

static void test_stage_dir_commit_and_abort(void) {
    bb_error err = {{0}};
    char final_dir[512];
    snprintf(final_dir, sizeof final_dir, "%s", bb_test_tmp_path("run1"));
    bb_stage_dir sd;
    TEST_OK(bb_stage_dir_begin(&sd, final_dir, &err), &err);
    char *f = bb_path_join(sd.staging, "a.txt");
    TEST_OK(bb_write_file_atomic(f, "x", 1, &err), &err);
    free(f);
    TEST_TRUE(!bb_path_exists(final_dir));
    TEST_OK(bb_stage_dir_commit(&sd, &err), &err);
    f = bb_path_join(final_dir, "a.txt");
    TEST_TRUE(bb_path_exists(f));
    free(f);
    char other[512];
    snprintf(other, sizeof other, "%s", bb_test_tmp_path("run2"));
    TEST_OK(bb_stage_dir_begin(&sd, other, &err), &err);
    char *staging = bb_strdup(sd.staging);
    bb_stage_dir_abort(&sd);
    TEST_TRUE(!bb_path_exists(other));
    TEST_TRUE(!bb_path_exists(staging));
    free(staging);
}

static void test_error_prefix(void) {
    bb_error err;
    TEST_EQ_INT(bb_fail(&err, "%s:%d: bad", "f.csv", 3), BB_ERR);
    bb_fail_prefix(&err, "loading %s", "run");
    TEST_STR_EQ(err.msg, "loading run: f.csv:3: bad");
}

static void test_format_duration(void) {
    char buf[32];
    bb_format_duration(75, buf, sizeof buf);
    TEST_STR_EQ(buf, "1:15");
    bb_format_duration(3700, buf, sizeof buf);
    TEST_STR_EQ(buf, "1:01:40");
    bb_format_duration(-1, buf, sizeof buf);
    TEST_STR_EQ(buf, "?");
}

static void test_hash_fnv1a_reference(void) {
    /* FNV-1a 64 published test vectors: "" -> offset basis, "a" -> 0xaf63dc4c8601ec8c,
     * "foobar" -> 0x85944171f73967e8. */
    TEST_TRUE(bb_hash_bytes("", 0, BB_HASH_INIT) == 0xCBF29CE484222325ULL);
    TEST_TRUE(bb_hash_bytes("a", 1, BB_HASH_INIT) == 0xAF63DC4C8601EC8CULL);
    TEST_TRUE(bb_hash_bytes("foobar", 6, BB_HASH_INIT) == 0x85944171F73967E8ULL);
    /* chaining equals hashing the concatenation */
    TEST_TRUE(bb_hash_bytes("bar", 3, bb_hash_bytes("foo", 3, BB_HASH_INIT)) ==
              bb_hash_bytes("foobar", 6, BB_HASH_INIT));
    TEST_TRUE(bb_hash64("foobar") == 0x85944171F73967E8ULL);
    bb_error err;
    const char *path = bb_test_tmp_path("hash.txt");
    TEST_OK(bb_write_file_atomic(path, "foobar", 6, &err), &err);
    uint64_t h = BB_HASH_INIT;
    TEST_OK(bb_hash_file(path, &h, &err), &err);
    TEST_TRUE(h == 0x85944171F73967E8ULL);
}

/* A second process blocks on a held lock and gets it once the holder lets go; the holder's
 * death (even kill -9) releases it. */
static void test_lock_excludes_other_processes(void) {
    bb_error err;
    char entry[512];
    snprintf(entry, sizeof entry, "%s", bb_test_tmp_path("cache/entry"));
    int fd = -1;
    TEST_OK(bb_lock_entry(entry, &fd, &err), &err);
    TEST_TRUE(fd >= 0);
    char lock[600];
    snprintf(lock, sizeof lock, "%s.lock", entry);
    pid_t child = fork();
    TEST_TRUE(child >= 0);
    if (child == 0) { /* try without blocking: must fail while the parent holds it */
        int d = open(lock, O_RDWR);
        _exit(d >= 0 && flock(d, LOCK_EX | LOCK_NB) != 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    TEST_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    bb_lock_release(fd);
    child = fork();
    TEST_TRUE(child >= 0);
    if (child == 0) { /* now free: a child takes it and dies holding it */
        int d = -1;
        bb_error e2;
        if (bb_lock_acquire(lock, &d, &e2) != BB_OK) _exit(1);
        raise(SIGKILL);
        _exit(1);
    }
    waitpid(child, &status, 0);
    TEST_TRUE(WIFSIGNALED(status));
    TEST_OK(bb_lock_acquire(lock, &fd, &err), &err); /* the dead holder's lock is gone */
    bb_lock_release(fd);
}

const bb_test bb_suite_base[] = {
    {"hash_fnv1a_reference", test_hash_fnv1a_reference},
    {"format_duration", test_format_duration},
    {"rng_reference_values", test_rng_reference_values},
    {"rng_streams_reproducible_and_distinct", test_rng_streams_are_reproducible_and_distinct},
    {"rng_below_uniform", test_rng_below_is_uniform},
    {"rng_normal_moments", test_rng_normal_moments},
    {"rng_uniform_range", test_rng_uniform_range},
    {"shuffle_is_permutation", test_shuffle_is_permutation},
    {"atomic_write_and_abort", test_atomic_write_and_abort},
    {"read_missing_file_names_it", test_read_missing_file_names_it},
    {"stage_dir_commit_and_abort", test_stage_dir_commit_and_abort},
    {"lock_excludes_other_processes", test_lock_excludes_other_processes},
    {"error_prefix", test_error_prefix},
    {NULL, NULL},
};
