/* train_text — allowed training texts of a split and the leakage check. See train_text.h. */
#include "datasets/train_text.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

static const char *const kind_names[4] = {"explanation", "title", "user_summary",
                                          "item_summary"};

const char *bb_text_kind_name(int kind) {
    BB_ASSERT(kind >= 0 && kind < 4, "text kind %d is unknown", kind);
    return kind_names[kind];
}

static int is_ascii_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Trimmed view of s: *len bytes from the returned pointer. */
static const char *trim(const char *s, size_t *len) {
    while (is_ascii_space(*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && is_ascii_space(s[n - 1])) n--;
    *len = n;
    return s;
}

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
    for (size_t k = 0; k < n; k++) {
        h ^= (unsigned char)s[k];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define NO_SLOT UINT32_MAX

/* Slot of the trimmed text (s, n): holds its index, or NO_SLOT where it would go. */
static size_t probe(const bb_train_texts *t, const char *s, size_t n) {
    size_t mask = t->cap - 1, h = (size_t)hash_bytes(s, n) & mask;
    for (;;) {
        uint32_t k = t->slots[h];
        if (k == NO_SLOT) return h;
        if (t->trimmed_len[k] == n && memcmp(t->trimmed[k], s, n) == 0) return h;
        h = (h + 1) & mask;
    }
}

/* Adds text unless empty or already there; returns 1 when added. */
static int add_text(bb_train_texts *t, const char *text, int kind, size_t row) {
    size_t n;
    const char *s = trim(text, &n);
    if (n == 0) return 0;
    size_t h = probe(t, s, n);
    if (t->slots[h] != NO_SLOT) return 0;
    BB_ASSERT(2 * (t->n + 1) <= t->cap, "text table sized for %zu texts", t->cap / 2);
    t->slots[h] = (uint32_t)t->n;
    t->texts[t->n] = text;
    t->trimmed[t->n] = s;
    t->trimmed_len[t->n] = n;
    t->kinds[t->n] = (uint8_t)kind;
    t->rows[t->n] = (uint32_t)row;
    t->n++;
    return 1;
}

/* A table for up to max_texts texts. */
static void texts_init(bb_train_texts *t, size_t max_texts) {
    memset(t, 0, sizeof *t);
    t->cap = 16;
    while (t->cap < 2 * max_texts + 2) t->cap *= 2;
    t->slots = bb_malloc(t->cap * sizeof *t->slots);
    memset(t->slots, 0xff, t->cap * sizeof *t->slots);
    size_t m = max_texts ? max_texts : 1;
    t->texts = bb_malloc(m * sizeof *t->texts);
    t->trimmed = bb_malloc(m * sizeof *t->trimmed);
    t->trimmed_len = bb_malloc(m * sizeof *t->trimmed_len);
    t->kinds = bb_malloc(m);
    t->rows = bb_malloc(m * sizeof *t->rows);
}

static void add_row_texts(bb_train_texts *t, const bb_explanation *row, size_t r) {
    add_text(t, row->explanation, BB_TEXT_EXPLANATION, r);
    add_text(t, row->title, BB_TEXT_TITLE, r);
    add_text(t, row->user_summary, BB_TEXT_USER_SUMMARY, r);
    add_text(t, row->item_summary, BB_TEXT_ITEM_SUMMARY, r);
}

void bb_train_texts_build(const bb_explanations *ex, const bb_split *s, bb_train_texts *out) {
    BB_ASSERT(s->n == ex->n, "split has %zu rows, explanations %zu: load the split with "
                             "bb_split_load against these explanations", s->n, ex->n);
    texts_init(out, 4 * s->n_train);
    for (size_t r = 0; r < ex->n; r++)
        if (s->part[r] == BB_SPLIT_TRAIN) add_row_texts(out, &ex->rows[r], r);
}

long bb_train_texts_find(const bb_train_texts *t, const char *text) {
    size_t n;
    const char *s = trim(text, &n);
    if (n == 0 || t->cap == 0) return -1;
    uint32_t k = t->slots[probe(t, s, n)];
    return k == NO_SLOT ? -1 : (long)k;
}

void bb_train_texts_free(bb_train_texts *t) {
    free(t->texts);
    free(t->kinds);
    free(t->rows);
    free(t->trimmed);
    free(t->trimmed_len);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------------------ */
/* leakage check                                                                        */

int bb_leakage_check(const bb_explanations *ex, const bb_split *s, bb_leakage_report *rep,
                     bb_error *err) {
    bb_leakage_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    bb_train_texts allowed, seen_test;
    bb_train_texts_build(ex, s, &allowed);
    texts_init(&seen_test, 4 * s->n_test);
    for (size_t r = 0; r < ex->n; r++) {
        if (s->part[r] != BB_SPLIT_TEST) continue;
        const bb_explanation *row = &ex->rows[r];
        rep->test_rows++;
        long hit = bb_train_texts_find(&allowed, row->explanation);
        if (hit >= 0 && rep->leaked++ == 0) {
            rep->first_leak_row = r;
            rep->first_source_row = allowed.rows[hit];
            rep->first_source_kind = allowed.kinds[hit];
        }
        /* distinct texts of test rows: kept out of training, or shared by string */
        const char *texts[4] = {row->explanation, row->title, row->user_summary,
                                row->item_summary};
        for (int k = 0; k < 4; k++) {
            if (!add_text(&seen_test, texts[k], k, r)) continue;
            if (bb_train_texts_find(&allowed, texts[k]) >= 0)
                rep->shared_texts += k != BB_TEXT_EXPLANATION;
            else
                rep->test_only_texts++;
        }
    }
    int rc = BB_OK;
    if (rep->leaked) {
        const char *path = ex->path ? ex->path : "explanations.csv";
        const bb_explanation *bad = &ex->rows[rep->first_leak_row];
        rc = bb_fail(err,
                     "%s:%u: leakage: the explanation of test pair (uid %d, iid %d) appears "
                     "verbatim in a training text source (the %s of train pair at %s:%u); %zu "
                     "test explanation%s leak",
                     path, bad->line, bad->uid, bad->iid, kind_names[rep->first_source_kind],
                     path, ex->rows[rep->first_source_row].line, rep->leaked,
                     rep->leaked == 1 ? "" : "s");
    }
    bb_train_texts_free(&allowed);
    bb_train_texts_free(&seen_test);
    return rc;
}
