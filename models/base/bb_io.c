/* bb_io — see bb_io.h. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "models/base/bb_io.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------ */
/* checked allocation                                                                   */

static void die_oom(size_t n, const char *file, int line) {
    fprintf(stderr, "beatbench: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
    abort();
}

void *bb_malloc_at(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) die_oom(n, file, line);
    return p;
}

void *bb_calloc_at(size_t count, size_t size, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) die_oom(count * size, file, line);
    return p;
}

void *bb_realloc_at(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) die_oom(n, file, line);
    return q;
}

/* The block handed out starts at the first line boundary at least one pointer past the
 * start of the underlying allocation; the pointer just before it keeps that start, for
 * bb_aligned_free. */
static void *aligned_in(char *base) {
    uintptr_t at = ((uintptr_t)base + sizeof(void *) + BB_CACHE_LINE - 1) &
                   ~(uintptr_t)(BB_CACHE_LINE - 1);
    void *p = base + (at - (uintptr_t)base);
    memcpy((char *)p - sizeof(void *), &base, sizeof base);
    return p;
}

/* bytes rounded up to whole lines (at least one), plus room to align and keep the start;
 * 0 on overflow */
static size_t aligned_total(size_t n) {
    size_t lines = n / BB_CACHE_LINE + (n % BB_CACHE_LINE != 0) + (n == 0);
    if (lines > (SIZE_MAX - 2 * BB_CACHE_LINE) / BB_CACHE_LINE) return 0;
    return lines * BB_CACHE_LINE + 2 * BB_CACHE_LINE;
}

void *bb_aligned_malloc_at(size_t n, const char *file, int line) {
    size_t total = aligned_total(n);
    char *base = total ? malloc(total) : NULL;
    if (!base) die_oom(n, file, line);
    return aligned_in(base);
}

void *bb_aligned_calloc_at(size_t count, size_t size, const char *file, int line) {
    size_t n = count * size;
    size_t total = size && count > SIZE_MAX / size ? 0 : aligned_total(n);
    char *base = total ? calloc(1, total) : NULL;
    if (!base) die_oom(n, file, line);
    return aligned_in(base);
}

void bb_aligned_free(void *p) {
    if (!p) return;
    void *base;
    memcpy(&base, (char *)p - sizeof(void *), sizeof base);
    free(base);
}

char *bb_strdup_at(const char *s, const char *file, int line) {
    size_t n = strlen(s) + 1;
    char *d = bb_malloc_at(n, file, line);
    memcpy(d, s, n);
    return d;
}

char *bb_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *p = bb_malloc(a + b + 2);
    memcpy(p, dir, a);
    if (slash) p[a] = '/';
    memcpy(p + a + slash, name, b + 1);
    return p;
}

/* ------------------------------------------------------------------------------------ */
/* reading                                                                              */

int bb_read_file(const char *path, char **out, size_t *len, bb_error *err) {
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return bb_fail(err, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = bb_malloc(cap + 1);
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (n < cap) {
            if (ferror(fp)) {
                fclose(fp);
                free(buf);
                return bb_fail(err, "%s: read error: %s", path, strerror(errno));
            }
            break;
        }
        cap *= 2;
        buf = bb_realloc(buf, cap + 1);
    }
    fclose(fp);
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return BB_OK;
}

/* ------------------------------------------------------------------------------------ */
/* atomic files                                                                         */

int bb_atomic_open(bb_atomic_file *af, const char *path, bb_error *err) {
    size_t n = strlen(path) + 32;
    af->final_path = bb_strdup(path);
    af->tmp_path = bb_malloc(n);
    snprintf(af->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    af->fp = fopen(af->tmp_path, "wb");
    if (!af->fp) {
        int e = errno;
        bb_fail(err, "%s: cannot create: %s", af->tmp_path, strerror(e));
        free(af->tmp_path);
        free(af->final_path);
        af->tmp_path = af->final_path = NULL;
        return BB_ERR;
    }
    return BB_OK;
}

int bb_atomic_commit(bb_atomic_file *af, bb_error *err) {
    int rc = BB_OK;
    if (fflush(af->fp) != 0 || ferror(af->fp)) {
        rc = bb_fail(err, "%s: write error: %s", af->final_path, strerror(errno));
    } else if (fsync(fileno(af->fp)) != 0 && errno != EINVAL) {
        rc = bb_fail(err, "%s: fsync failed: %s", af->final_path, strerror(errno));
    }
    if (fclose(af->fp) != 0 && rc == BB_OK)
        rc = bb_fail(err, "%s: close failed: %s", af->final_path, strerror(errno));
    af->fp = NULL;
    if (rc == BB_OK && rename(af->tmp_path, af->final_path) != 0)
        rc = bb_fail(err, "%s: cannot rename into place: %s", af->final_path, strerror(errno));
    if (rc != BB_OK) unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->final_path);
    af->tmp_path = af->final_path = NULL;
    return rc;
}

void bb_atomic_abort(bb_atomic_file *af) {
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    if (af->tmp_path) unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->final_path);
    af->tmp_path = af->final_path = NULL;
}

int bb_write_file_atomic(const char *path, const void *data, size_t len, bb_error *err) {
    bb_atomic_file af;
    if (bb_atomic_open(&af, path, err) != BB_OK) return BB_ERR;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        bb_atomic_abort(&af);
        return bb_fail(err, "%s: write error: %s", path, strerror(errno));
    }
    return bb_atomic_commit(&af, err);
}

int bb_write_in_dir(const char *dir, const char *name, const void *data, size_t len, bb_error *err) {
    char *path = bb_path_join(dir, name);
    int rc = bb_write_file_atomic(path, data, len, err);
    free(path);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* directories                                                                          */

int bb_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int bb_mkdir_p(const char *path, bb_error *err) {
    char *p = bb_strdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            bb_fail(err, "%s: cannot create directory: %s", p, strerror(e));
            free(p);
            return BB_ERR;
        }
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        int e = errno;
        bb_fail(err, "%s: cannot create directory: %s", p, strerror(e));
        free(p);
        return BB_ERR;
    }
    free(p);
    return BB_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int bb_remove_tree(const char *path) {
    if (!bb_path_exists(path)) return 0;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int bb_stage_dir_begin(bb_stage_dir *sd, const char *final_dir, bb_error *err) {
    size_t n = strlen(final_dir) + 40;
    sd->final = bb_strdup(final_dir);
    size_t len = strlen(sd->final);
    while (len > 1 && sd->final[len - 1] == '/') sd->final[--len] = '\0';
    sd->staging = bb_malloc(n);
    snprintf(sd->staging, n, "%s.partial.%ld", sd->final, (long)getpid());
    bb_remove_tree(sd->staging);
    if (bb_mkdir_p(sd->staging, err) != BB_OK) {
        free(sd->staging);
        free(sd->final);
        sd->staging = sd->final = NULL;
        return BB_ERR;
    }
    return BB_OK;
}

int bb_stage_dir_commit(bb_stage_dir *sd, bb_error *err) {
    int rc = BB_OK;
    if (bb_path_exists(sd->final) && bb_remove_tree(sd->final) != 0)
        rc = bb_fail(err, "%s: cannot replace existing directory: %s", sd->final,
                     strerror(errno));
    if (rc == BB_OK && rename(sd->staging, sd->final) != 0)
        rc = bb_fail(err, "%s: cannot rename into place: %s", sd->final, strerror(errno));
    if (rc != BB_OK) bb_remove_tree(sd->staging);
    free(sd->staging);
    free(sd->final);
    sd->staging = sd->final = NULL;
    return rc;
}

void bb_stage_dir_abort(bb_stage_dir *sd) {
    if (sd->staging) bb_remove_tree(sd->staging);
    free(sd->staging);
    free(sd->final);
    sd->staging = sd->final = NULL;
}

int bb_lock_acquire(const char *path, int *fd, bb_error *err) {
    *fd = -1;
    int d = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (d < 0) return bb_fail(err, "%s: cannot open lock file: %s", path, strerror(errno));
    while (flock(d, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int e = errno;
        close(d);
        return bb_fail(err, "%s: cannot lock: %s", path, strerror(e));
    }
    *fd = d;
    return BB_OK;
}

void bb_lock_release(int fd) {
    if (fd < 0) return;
    flock(fd, LOCK_UN);
    close(fd);
}

int bb_lock_entry(const char *entry, int *fd, bb_error *err) {
    *fd = -1;
    const size_t n = strlen(entry);
    char *lock = bb_malloc(n + 6);
    memcpy(lock, entry, n);
    memcpy(lock + n, ".lock", 6);
    char *slash = strrchr(lock, '/');
    int rc = BB_OK;
    if (slash && slash != lock) {
        *slash = '\0';
        rc = bb_mkdir_p(lock, err);
        *slash = '/';
    }
    if (rc == BB_OK) rc = bb_lock_acquire(lock, fd, err);
    free(lock);
    return rc;
}
