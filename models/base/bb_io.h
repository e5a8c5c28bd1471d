/* bb_io — checked allocation, whole-file reads, atomic writes and run directories.
 *
 * Allocation failures in deep code are not recoverable here: bb_malloc/bb_calloc/
 * bb_realloc abort with the call site, so callers never test for NULL (llm.c's mallocCheck).
 *
 * Results are written atomically: bb_atomic_open writes to "PATH.tmp.<pid>" and
 * bb_atomic_commit flushes, fsyncs and renames it over PATH; bb_atomic_abort removes the
 * temporary file. A reader never sees a half-written result.
 *
 * A run directory is built the same way: bb_stage_dir_begin creates "DIR.partial.<pid>"
 * and bb_stage_dir_commit renames it to DIR (replacing an older DIR); on failure
 * bb_stage_dir_abort deletes the staging tree, so no partial run directory is left.
 */
#ifndef BB_IO_H
#define BB_IO_H

#include <stdio.h>
#include <stddef.h>

#include "models/base/bb_error.h"

void *bb_malloc_at(size_t n, const char *file, int line);
void *bb_calloc_at(size_t count, size_t size, const char *file, int line);
void *bb_realloc_at(void *p, size_t n, const char *file, int line);
char *bb_strdup_at(const char *s, const char *file, int line);
#define bb_malloc(n) bb_malloc_at((n), __FILE__, __LINE__)
#define bb_calloc(c, s) bb_calloc_at((c), (s), __FILE__, __LINE__)
#define bb_realloc(p, n) bb_realloc_at((p), (n), __FILE__, __LINE__)
#define bb_strdup(s) bb_strdup_at((s), __FILE__, __LINE__)

/* Cache-line aligned blocks: BB_CACHE_LINE-aligned, the size rounded up to whole lines,
 * so a 256-byte row at a multiple of 256 bytes spans exactly 4 lines (a malloc'd, 16-byte
 * aligned one spans 5 and splits vector loads). bb_aligned_calloc zeroes the way calloc
 * does: a large block comes as untouched zero pages, so one that is never written (the
 * moments of a frozen model) costs no resident memory — which aligned_alloc + memset
 * would not give. Both abort on failure like bb_malloc. Free ONLY with bb_aligned_free
 * (the block does not start where malloc's does); NULL is fine. */
#define BB_CACHE_LINE 64
void *bb_aligned_malloc_at(size_t n, const char *file, int line);
void *bb_aligned_calloc_at(size_t count, size_t size, const char *file, int line);
void bb_aligned_free(void *p);
#define bb_aligned_malloc(n) bb_aligned_malloc_at((n), __FILE__, __LINE__)
#define bb_aligned_calloc(c, s) bb_aligned_calloc_at((c), (s), __FILE__, __LINE__)

/* Reads a whole file; *out is NUL-terminated and owned by the caller (free()). */
int bb_read_file(const char *path, char **out, size_t *len, bb_error *err);

typedef struct bb_atomic_file {
    FILE *fp;        /* write here */
    char *tmp_path;  /* owned */
    char *final_path;/* owned */
} bb_atomic_file;

int bb_atomic_open(bb_atomic_file *af, const char *path, bb_error *err);
int bb_atomic_commit(bb_atomic_file *af, bb_error *err); /* closes, renames; frees paths */
void bb_atomic_abort(bb_atomic_file *af);                /* closes, unlinks; frees paths */
/* Convenience: writes len bytes to path atomically. */
int bb_write_file_atomic(const char *path, const void *data, size_t len, bb_error *err);

int bb_mkdir_p(const char *path, bb_error *err);
int bb_remove_tree(const char *path); /* rm -rf; returns 0 when gone */
int bb_path_exists(const char *path);

typedef struct bb_stage_dir {
    char *staging; /* owned: write the run's files under this directory */
    char *final;   /* owned */
} bb_stage_dir;

int bb_stage_dir_begin(bb_stage_dir *sd, const char *final_dir, bb_error *err);
int bb_stage_dir_commit(bb_stage_dir *sd, bb_error *err);
void bb_stage_dir_abort(bb_stage_dir *sd);

/* Writes len bytes to DIR/NAME atomically (the run-directory writers' one path). */
int bb_write_in_dir(const char *dir, const char *name, const void *data, size_t len, bb_error *err);

/* An exclusive advisory lock (flock) on the file PATH, created when absent: blocks while
 * another process holds it. Cache builders hold "<entry>.lock" around check-build-commit so
 * concurrent sweep cells (fork or MPI ranks on one file system) build a shared artifact
 * once. The kernel drops the lock when the process dies, so a kill -9 leaves no stale lock.
 * *fd receives the descriptor to pass to bb_lock_release. */
int bb_lock_acquire(const char *path, int *fd, bb_error *err);
/* bb_lock_acquire on "<entry>.lock", making entry's parent directory first. */
int bb_lock_entry(const char *entry, int *fd, bb_error *err);
void bb_lock_release(int fd);

/* Joins directory and file name into a freshly allocated path. */
char *bb_path_join(const char *dir, const char *name);

#endif
