/* split — zero-shot split of explained pairs. See split.h. */
#include "datasets/split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/csv_reader.h"
#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"

static const char *const part_names[3] = {"train", "valid", "test"};

const char *bb_split_part_name(int part) {
    BB_ASSERT(part >= 0 && part < 3, "split part %d is not train, valid or test", part);
    return part_names[part];
}

static void split_alloc(bb_split *s, size_t n) {
    memset(s, 0, sizeof *s);
    s->n = n;
    s->part = bb_calloc(n, 1);
    s->uid = bb_calloc(n, sizeof *s->uid);
    s->iid = bb_calloc(n, sizeof *s->iid);
}

void bb_split_free(bb_split *s) {
    free(s->part);
    free(s->uid);
    free(s->iid);
    memset(s, 0, sizeof *s);
}

static void count_parts(bb_split *s) {
    s->n_train = s->n_valid = s->n_test = 0;
    for (size_t r = 0; r < s->n; r++) {
        s->n_train += s->part[r] == BB_SPLIT_TRAIN;
        s->n_valid += s->part[r] == BB_SPLIT_VALID;
        s->n_test += s->part[r] == BB_SPLIT_TEST;
    }
}

static int32_t max_uid(const int32_t *uid, size_t n) {
    int32_t m = -1;
    for (size_t r = 0; r < n; r++)
        if (uid[r] > m) m = uid[r];
    return m;
}

/* ------------------------------------------------------------------------------------ */
/* making a split                                                                       */

int bb_split_make(const bb_explanations *ex, double zero_shot_users, uint64_t seed,
                  bb_split *out, bb_error *err) {
    if (!(zero_shot_users >= 0.0 && zero_shot_users <= 1.0))
        return bb_fail(err, "zero-shot user share %g is outside [0, 1]", zero_shot_users);
    split_alloc(out, ex->n);
    for (size_t r = 0; r < ex->n; r++) {
        out->uid[r] = ex->rows[r].uid;
        out->iid[r] = ex->rows[r].iid;
    }
    /* Distinct users in ascending id order, so the draw does not depend on row order. */
    size_t n_ids = (size_t)(max_uid(out->uid, ex->n) + 1);
    uint8_t *is_test = bb_calloc(n_ids ? n_ids : 1, 1);
    int32_t *users = bb_malloc((ex->n ? ex->n : 1) * sizeof *users);
    size_t n_users = 0;
    for (size_t r = 0; r < ex->n; r++) is_test[out->uid[r]] = 1; /* reuse as "seen" */
    for (size_t u = 0; u < n_ids; u++)
        if (is_test[u]) users[n_users++] = (int32_t)u;
    memset(is_test, 0, n_ids);

    size_t n_test_users = (size_t)floor(zero_shot_users * (double)n_users + 0.5);
    bb_rng rng;
    bb_rng_seed(&rng, seed, "split/zero-shot");
    bb_rng_shuffle_i32(&rng, users, n_users);
    for (size_t k = 0; k < n_test_users; k++) is_test[users[k]] = 1;
    out->n_users = n_users;
    out->n_test_users = n_test_users;

    /* The remaining rows, in row order, shuffled; the first round(10%) go to valid. */
    int32_t *rest = users; /* reuse: n_rows >= n_users */
    size_t n_rest = 0;
    for (size_t r = 0; r < ex->n; r++) {
        if (is_test[out->uid[r]])
            out->part[r] = BB_SPLIT_TEST;
        else
            rest[n_rest++] = (int32_t)r;
    }
    users = NULL;
    bb_rng_seed(&rng, seed, "split/train-valid");
    bb_rng_shuffle_i32(&rng, rest, n_rest);
    size_t n_valid = (size_t)floor(BB_SPLIT_VALID_SHARE * (double)n_rest + 0.5);
    for (size_t k = 0; k < n_rest; k++)
        out->part[rest[k]] = k < n_valid ? BB_SPLIT_VALID : BB_SPLIT_TRAIN;
    count_parts(out);
    free(rest);
    free(is_test);
    return BB_OK;
}

int bb_split_write(const bb_split *s, const char *path, bb_error *err) {
    bb_atomic_file af;
    if (bb_atomic_open(&af, path, err) != BB_OK) return BB_ERR;
    fputs("uid,iid,split\n", af.fp);
    for (size_t r = 0; r < s->n; r++)
        fprintf(af.fp, "%d,%d,%s\n", s->uid[r], s->iid[r], bb_split_part_name(s->part[r]));
    return bb_atomic_commit(&af, err);
}

/* ------------------------------------------------------------------------------------ */
/* loading and validating a split file                                                  */

typedef struct split_reader {
    const char *path;
    const bb_explanations *ex;
    bb_split *out;
    size_t rows;
    uint32_t *lines; /* physical line of each row, for messages */
} split_reader;

static int on_split_row(void *vctx, const bb_csv_record *rec, bb_error *err) {
    static const char *const header[3] = {"uid", "iid", "split"};
    split_reader *sr = vctx;
    const char *ex_path = sr->ex->path ? sr->ex->path : "explanations.csv";
    if (rec->index == 0) return bb_csv_expect_header(sr->path, rec, header, 3, err);
    if (rec->n != 3)
        return bb_fail(err, "%s:%zu: ragged row: expected 3 fields (uid,iid,split), got %zu",
                       sr->path, rec->line, rec->n);
    int uid, iid;
    if (bb_csv_parse_id(rec->fields[0], rec->lens[0], &uid) != BB_OK)
        return bb_csv_fail_id(err, sr->path, rec->line, "uid", rec->fields[0], rec->lens[0]);
    if (bb_csv_parse_id(rec->fields[1], rec->lens[1], &iid) != BB_OK)
        return bb_csv_fail_id(err, sr->path, rec->line, "iid", rec->fields[1], rec->lens[1]);
    int part = -1;
    for (int k = 0; k < 3; k++)
        if (strcmp(rec->fields[2], part_names[k]) == 0) part = k;
    if (part < 0)
        return bb_fail(err, "%s:%zu: field 'split': expected train, valid or test, got \"%.40s\"",
                       sr->path, rec->line, rec->fields[2]);
    size_t r = sr->rows++;
    if (r >= sr->ex->n)
        return bb_fail(err, "%s:%zu: extra row: %s has only %zu rows (this split belongs to other "
                            "explanations)",
                       sr->path, rec->line, ex_path, sr->ex->n);
    const bb_explanation *want = &sr->ex->rows[r];
    if (uid != want->uid || iid != want->iid)
        return bb_fail(err, "%s:%zu: field '%s': pair (%d, %d) does not match %s:%u (%d, %d); the "
                            "split belongs to other explanations",
                       sr->path, rec->line, uid != want->uid ? "uid" : "iid", uid, iid, ex_path,
                       want->line, want->uid, want->iid);
    sr->out->uid[r] = uid;
    sr->out->iid[r] = iid;
    sr->out->part[r] = (uint8_t)part;
    sr->lines[r] = (uint32_t)rec->line;
    return BB_OK;
}

/* A zero-shot split keeps all of a test user's rows in test. */
static int check_zero_shot(const char *path, const uint32_t *lines, bb_split *s,
                           bb_error *err) {
    size_t n_ids = (size_t)(max_uid(s->uid, s->n) + 1);
    /* per user: 1 = has a test row, 2 = has a train/valid row, 4 = seen */
    uint8_t *flags = bb_calloc(n_ids ? n_ids : 1, 1);
    for (size_t r = 0; r < s->n; r++)
        flags[s->uid[r]] |= (uint8_t)(4 | (s->part[r] == BB_SPLIT_TEST ? 1 : 2));
    int rc = BB_OK;
    for (size_t r = 0; r < s->n && rc == BB_OK; r++) {
        if (flags[s->uid[r]] != 7 || s->part[r] == BB_SPLIT_TEST) continue;
        rc = bb_fail(err, "%s:%u: field 'split': user %d has pairs in test, so this pair "
                          "cannot be in %s (a zero-shot split keeps all of a test user's pairs in "
                          "test)",
                     path, lines[r], s->uid[r], part_names[s->part[r]]);
    }
    s->n_users = s->n_test_users = 0;
    for (size_t u = 0; u < n_ids; u++) {
        s->n_users += (flags[u] & 4) != 0;
        s->n_test_users += (flags[u] & 1) != 0;
    }
    free(flags);
    return rc;
}

int bb_split_load(const char *path, const bb_explanations *ex, bb_split *out, bb_error *err) {
    split_alloc(out, ex->n);
    split_reader sr = {path, ex, out, 0, bb_calloc(ex->n ? ex->n : 1, sizeof(uint32_t))};
    int rc = bb_csv_read_file(path, on_split_row, &sr, err);
    if (rc == BB_OK && sr.rows != ex->n)
        rc = bb_fail(err, "%s:1: has %zu rows but %s has %zu (this split belongs to other "
                          "explanations)",
                     path, sr.rows, ex->path ? ex->path : "explanations.csv", ex->n);
    if (rc == BB_OK) rc = check_zero_shot(path, sr.lines, out, err);
    free(sr.lines);
    if (rc != BB_OK) {
        bb_split_free(out);
        return BB_ERR;
    }
    count_parts(out);
    return BB_OK;
}
