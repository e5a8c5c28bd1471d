/* dataset — loaders for the XRec-format files (DESIGN §2). See dataset.h and FORMAT.md. */
#include "datasets/dataset.h"

#include <stdlib.h>
#include <string.h>

#include "datasets/csv_reader.h"
#include "datasets/pairset.h"
#include "models/base/bb_io.h"

static const char *const split_files[3] = {"train.csv", "valid.csv", "test.csv"};

const char *bb_dataset_split_file(int k) {
    BB_ASSERT(k >= 0 && k < 3, "split index %d is not 0 (train), 1 (valid) or 2 (test)", k);
    return split_files[k];
}

const bb_interactions *bb_dataset_split(const bb_dataset *ds, int k) {
    BB_ASSERT(k >= 0 && k < 3, "split index %d is not 0 (train), 1 (valid) or 2 (test)", k);
    return k == 0 ? &ds->train : k == 1 ? &ds->valid : &ds->test;
}

static bb_interactions *split_mut(bb_dataset *ds, int k) {
    return k == 0 ? &ds->train : k == 1 ? &ds->valid : &ds->test;
}

/* ------------------------------------------------------------------------------------ */
/* interaction files: user,item                                                          */

typedef struct interaction_reader {
    const char *path;
    bb_interactions *out;
    size_t cap;
} interaction_reader;

static int on_interaction(void *vctx, const bb_csv_record *rec, bb_error *err) {
    static const char *const header[2] = {"user", "item"};
    interaction_reader *ir = vctx;
    if (rec->index == 0) return bb_csv_expect_header(ir->path, rec, header, 2, err);
    if (rec->n != 2)
        return bb_fail(err, "%s:%zu: ragged row: expected 2 fields (user,item), got %zu",
                       ir->path, rec->line, rec->n);
    int user, item;
    if (bb_csv_parse_id(rec->fields[0], rec->lens[0], &user) != BB_OK)
        return bb_csv_fail_id(err, ir->path, rec->line, "user", rec->fields[0], rec->lens[0]);
    if (bb_csv_parse_id(rec->fields[1], rec->lens[1], &item) != BB_OK)
        return bb_csv_fail_id(err, ir->path, rec->line, "item", rec->fields[1], rec->lens[1]);
    bb_interactions *x = ir->out;
    if (x->n == ir->cap) {
        ir->cap = ir->cap ? 2 * ir->cap : 1024;
        x->user = bb_realloc(x->user, ir->cap * sizeof *x->user);
        x->item = bb_realloc(x->item, ir->cap * sizeof *x->item);
        x->line = bb_realloc(x->line, ir->cap * sizeof *x->line);
    }
    x->user[x->n] = user;
    x->item[x->n] = item;
    x->line[x->n] = (uint32_t)rec->line;
    x->n++;
    return BB_OK;
}

static int load_interactions(const char *path, bb_interactions *out, bb_error *err) {
    interaction_reader ir = {path, out, 0};
    return bb_csv_read_file(path, on_interaction, &ir, err);
}

/* Drops every pair already seen (train first, then valid, then test, each in file order)
 * and counts it; with reject set, the first duplicate is an error naming both places. */
static int drop_duplicates(bb_dataset *ds, int reject, bb_error *err) {
    bb_pairset seen;
    bb_pairset_init(&seen, ds->train.n + ds->valid.n + ds->test.n);
    int rc = BB_OK;
    for (int k = 0; k < 3 && rc == BB_OK; k++) {
        bb_interactions *x = split_mut(ds, k);
        size_t kept = 0;
        for (size_t r = 0; r < x->n; r++) {
            uint32_t *first;
            /* value: split in the top 2 bits, line below (lines < 2^30) */
            uint32_t here = ((uint32_t)k << 30) | (x->line[r] & 0x3fffffffu);
            if (bb_pairset_insert(&seen, x->user[r], x->item[r], here, &first)) {
                x->user[kept] = x->user[r];
                x->item[kept] = x->item[r];
                x->line[kept] = x->line[r];
                kept++;
                continue;
            }
            int first_split = (int)(*first >> 30);
            if (reject) {
                rc = bb_fail(err,
                             "%s/%s:%u: duplicate pair (user %d, item %d), first at %s/%s:%u",
                             ds->dir, split_files[k], x->line[r], x->user[r], x->item[r],
                             ds->dir, split_files[first_split], *first & 0x3fffffffu);
                break;
            }
            if (first_split == k)
                ds->duplicates_within_split++;
            else
                ds->duplicates_across_splits++;
        }
        if (rc == BB_OK) x->n = kept;
    }
    ds->duplicates_dropped = ds->duplicates_within_split + ds->duplicates_across_splits;
    bb_pairset_free(&seen);
    return rc;
}

int bb_dataset_load_opts(const char *dir, const bb_dataset_options *opts, bb_dataset *ds,
                         bb_error *err) {
    memset(ds, 0, sizeof *ds);
    ds->dir = bb_strdup(dir);
    /* "d/" and "d" name the same directory; keep messages free of "d//train.csv" */
    for (size_t n = strlen(ds->dir); n > 1 && ds->dir[n - 1] == '/'; n--) ds->dir[n - 1] = '\0';
    for (int k = 0; k < 3; k++) {
        char *path = bb_path_join(dir, split_files[k]);
        int rc = load_interactions(path, split_mut(ds, k), err);
        if (rc == BB_OK && k == 0 && ds->train.n == 0)
            rc = bb_fail(err, "%s:1: no interactions after the header (train needs at least one)",
                         path);
        free(path);
        if (rc != BB_OK) goto fail;
    }
    if (drop_duplicates(ds, opts && opts->reject_duplicates, err) != BB_OK) goto fail;
    int32_t max_user = -1, max_item = -1;
    for (int k = 0; k < 3; k++) {
        const bb_interactions *x = bb_dataset_split(ds, k);
        for (size_t r = 0; r < x->n; r++) {
            if (x->user[r] > max_user) max_user = x->user[r];
            if (x->item[r] > max_item) max_item = x->item[r];
        }
    }
    ds->n_users = max_user + 1;
    ds->n_items = max_item + 1;
    return BB_OK;
fail:
    bb_dataset_free(ds);
    return BB_ERR;
}

int bb_dataset_load(const char *dir, bb_dataset *ds, bb_error *err) {
    return bb_dataset_load_opts(dir, NULL, ds, err);
}

void bb_dataset_free(bb_dataset *ds) {
    for (int k = 0; k < 3; k++) {
        bb_interactions *x = split_mut(ds, k);
        free(x->user);
        free(x->item);
        free(x->line);
    }
    free(ds->dir);
    memset(ds, 0, sizeof *ds);
}

int bb_dataset_check_ids(const bb_dataset *ds, int32_t n_users, int32_t n_items,
                         bb_error *err) {
    for (int k = 0; k < 3; k++) {
        const bb_interactions *x = bb_dataset_split(ds, k);
        for (size_t r = 0; r < x->n; r++) {
            int bad_user = x->user[r] >= n_users, bad_item = x->item[r] >= n_items;
            if (!bad_user && !bad_item) continue;
            char where[512];
            if (x->line)
                snprintf(where, sizeof where, "%s/%s:%u", ds->dir ? ds->dir : ".", split_files[k],
                         x->line[r]);
            else
                snprintf(where, sizeof where, "%s row %zu", split_files[k], r + 1);
            if (bad_user)
                return bb_fail(err, "%s: field 'user': id %d is beyond the user count %d", where,
                               x->user[r], n_users);
            return bb_fail(err, "%s: field 'item': id %d is beyond the item count %d", where,
                           x->item[r], n_items);
        }
    }
    return BB_OK;
}

/* ------------------------------------------------------------------------------------ */
/* explanations.csv: uid,iid,title,user_summary,item_summary,explanation                  */

typedef struct explanation_reader {
    const char *path;
    bb_explanations *out;
    size_t cap;
    bb_pairset seen;
} explanation_reader;

static char *copy_field(const bb_csv_record *rec, size_t k) {
    char *s = bb_malloc(rec->lens[k] + 1);
    memcpy(s, rec->fields[k], rec->lens[k] + 1);
    return s;
}

static int on_explanation(void *vctx, const bb_csv_record *rec, bb_error *err) {
    static const char *const header[6] = {"uid", "iid", "title", "user_summary", "item_summary",
                                          "explanation"};
    explanation_reader *er = vctx;
    if (rec->index == 0) return bb_csv_expect_header(er->path, rec, header, 6, err);
    if (rec->n != 6)
        return bb_fail(err,
                       "%s:%zu: ragged row: expected 6 fields "
                       "(uid,iid,title,user_summary,item_summary,explanation), got %zu",
                       er->path, rec->line, rec->n);
    int uid, iid;
    if (bb_csv_parse_id(rec->fields[0], rec->lens[0], &uid) != BB_OK)
        return bb_csv_fail_id(err, er->path, rec->line, "uid", rec->fields[0], rec->lens[0]);
    if (bb_csv_parse_id(rec->fields[1], rec->lens[1], &iid) != BB_OK)
        return bb_csv_fail_id(err, er->path, rec->line, "iid", rec->fields[1], rec->lens[1]);
    bb_explanations *ex = er->out;
    if (ex->n == er->cap) {
        er->cap = er->cap ? 2 * er->cap : 256;
        ex->rows = bb_realloc(ex->rows, er->cap * sizeof *ex->rows);
    }
    bb_explanation *row = &ex->rows[ex->n++];
    row->uid = uid;
    row->iid = iid;
    row->title = copy_field(rec, 2);
    row->user_summary = copy_field(rec, 3);
    row->item_summary = copy_field(rec, 4);
    row->explanation = copy_field(rec, 5);
    row->line = (uint32_t)rec->line;
    if (!bb_pairset_insert(&er->seen, uid, iid, 0, NULL)) ex->duplicate_pairs++;
    return BB_OK;
}

int bb_explanations_load(const char *path, bb_explanations *ex, bb_error *err) {
    memset(ex, 0, sizeof *ex);
    ex->path = bb_strdup(path);
    explanation_reader er = {path, ex, 0, {0}};
    bb_pairset_init(&er.seen, 1024);
    int rc = bb_csv_read_file(path, on_explanation, &er, err);
    bb_pairset_free(&er.seen);
    if (rc != BB_OK) bb_explanations_free(ex);
    return rc;
}

void bb_explanations_free(bb_explanations *ex) {
    for (size_t r = 0; r < ex->n; r++) {
        free(ex->rows[r].title);
        free(ex->rows[r].user_summary);
        free(ex->rows[r].item_summary);
        free(ex->rows[r].explanation);
    }
    free(ex->rows);
    free(ex->path);
    memset(ex, 0, sizeof *ex);
}

int bb_explanations_check_ids(const bb_explanations *ex, int32_t n_users, int32_t n_items,
                              bb_error *err) {
    const char *path = ex->path ? ex->path : "explanations.csv";
    for (size_t r = 0; r < ex->n; r++) {
        const bb_explanation *row = &ex->rows[r];
        if (row->uid >= n_users)
            return bb_fail(err, "%s:%u: field 'uid': id %d is beyond the user count %d", path,
                           row->line, row->uid, n_users);
        if (row->iid >= n_items)
            return bb_fail(err, "%s:%u: field 'iid': id %d is beyond the item count %d", path,
                           row->line, row->iid, n_items);
    }
    return BB_OK;
}
