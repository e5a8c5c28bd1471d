/* explain_corpus — task checks, train-only vocabulary, encoded rows, batches. See
 * explain_corpus.h. */
#include "baselines/explain_corpus.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/nn/nn_ops.h"

int bb_xcorpus_check_task(const bb_explain_task *task, bb_error *err) {
    const bb_explanations *ex = task->ex;
    const bb_split *s = task->split;
    if (!task->data || !ex || !s)
        return bb_fail(err, "explain task: data, explanations and split are required");
    const char *path = ex->path ? ex->path : "explanations.csv";
    if (s->n != ex->n)
        return bb_fail(err, "%s: the split has %zu rows but the explanations %zu", path, s->n,
                       ex->n);
    int32_t nu = task->data->n_users, ni = task->data->n_items;
    for (size_t r = 0; r < ex->n; r++) {
        const bb_explanation *row = &ex->rows[r];
        if (row->uid < 0 || row->uid >= nu)
            return bb_fail(err, "%s:%u: field 'uid': id %d is outside [0, %d) users", path,
                           row->line, row->uid, nu);
        if (row->iid < 0 || row->iid >= ni)
            return bb_fail(err, "%s:%u: field 'iid': id %d is outside [0, %d) items", path,
                           row->line, row->iid, ni);
        if (s->uid[r] != row->uid || s->iid[r] != row->iid)
            return bb_fail(err, "%s:%u: split row %zu is (%d,%d) but the explanation is (%d,%d)",
                           path, row->line, r + 1, s->uid[r], s->iid[r], row->uid, row->iid);
        if (s->part[r] > BB_SPLIT_TEST)
            return bb_fail(err, "%s:%u: split part %d is not train/valid/test", path, row->line,
                           (int)s->part[r]);
    }
    if (s->n_train == 0) return bb_fail(err, "%s: the split has no train rows to learn from", path);
    return BB_OK;
}

int bb_xcorpus_build(const bb_explain_task *task, int max_words, int max_len, bb_xcorpus *c,
                     bb_error *err) {
    memset(c, 0, sizeof *c);
    if (bb_xcorpus_check_task(task, err) != BB_OK) return BB_ERR;
    if (max_len < 1) return bb_fail(err, "explain corpus: max_len must be >= 1, got %d", max_len);
    const bb_explanations *ex = task->ex;
    const bb_split *s = task->split;
    c->max_len = max_len;
    c->n_users = task->data->n_users;
    c->n_items = task->data->n_items;
    c->n_rows = ex->n;
    c->uid = s->uid;
    c->iid = s->iid;
    bb_word_vocab_build(ex, s, max_words, &c->vocab);

    size_t n1 = ex->n ? ex->n : 1;
    c->train_rows = bb_malloc(n1 * sizeof *c->train_rows);
    c->valid_rows = bb_malloc(n1 * sizeof *c->valid_rows);
    c->test_rows = bb_malloc(n1 * sizeof *c->test_rows);
    c->tok_off = bb_calloc(ex->n + 1, sizeof *c->tok_off);
    size_t tok_cap = 1024, used = 0;
    c->tok = bb_malloc(tok_cap * sizeof *c->tok);
    for (size_t r = 0; r < ex->n; r++) {
        c->tok_off[r] = (int64_t)used;
        int part = s->part[r];
        if (part == BB_SPLIT_TEST) {
            c->test_rows[c->n_test++] = r;
            continue;
        }
        if (part == BB_SPLIT_TRAIN) c->train_rows[c->n_train++] = r;
        else c->valid_rows[c->n_valid++] = r;
        if (used + (size_t)max_len > tok_cap) {
            while (used + (size_t)max_len > tok_cap) tok_cap *= 2;
            c->tok = bb_realloc(c->tok, tok_cap * sizeof *c->tok);
        }
        int cut = 0;
        size_t m = bb_word_vocab_encode(&c->vocab, ex->rows[r].explanation, c->tok + used,
                                        (size_t)max_len, &cut);
        c->truncated += (size_t)cut;
        if (part == BB_SPLIT_TRAIN) c->train_words += (int64_t)m;
        used += m;
    }
    c->tok_off[ex->n] = (int64_t)used;
    return BB_OK;
}

void bb_xcorpus_free(bb_xcorpus *c) {
    bb_word_vocab_free(&c->vocab);
    free(c->tok_off);
    free(c->tok);
    free(c->train_rows);
    free(c->valid_rows);
    free(c->test_rows);
    memset(c, 0, sizeof *c);
}

void bb_xbatch_fill(bb_xbatch *b, const bb_xcorpus *c, const size_t *rows, int n) {
    int T = 1;
    for (int k = 0; k < n; k++) {
        int words = (int)(c->tok_off[rows[k] + 1] - c->tok_off[rows[k]]);
        if (words + 1 > T) T = words + 1;
    }
    if (n > b->cap_rows) {
        b->uid = bb_realloc(b->uid, (size_t)n * sizeof *b->uid);
        b->iid = bb_realloc(b->iid, (size_t)n * sizeof *b->iid);
        b->len = bb_realloc(b->len, (size_t)n * sizeof *b->len);
        b->cap_rows = n;
    }
    if ((int64_t)n * T > b->cap_elems) {
        b->cap_elems = (int64_t)n * T;
        b->input = bb_realloc(b->input, (size_t)b->cap_elems * sizeof *b->input);
        b->target = bb_realloc(b->target, (size_t)b->cap_elems * sizeof *b->target);
    }
    b->n = n;
    b->T = T;
    b->n_targets = 0;
    for (int k = 0; k < n; k++) {
        size_t r = rows[k];
        const int32_t *w = c->tok + c->tok_off[r];
        int words = (int)(c->tok_off[r + 1] - c->tok_off[r]);
        int32_t *in = b->input + (size_t)k * T, *tg = b->target + (size_t)k * T;
        b->uid[k] = c->uid[r];
        b->iid[k] = c->iid[r];
        b->len[k] = words + 1;
        b->n_targets += words + 1;
        in[0] = BB_WORD_BOS;
        for (int t = 0; t < words; t++) {
            in[t + 1] = w[t];
            tg[t] = w[t];
        }
        tg[words] = BB_WORD_EOS;
        for (int t = words + 1; t < T; t++) {
            in[t] = BB_WORD_PAD;
            tg[t] = NN_IGNORE_INDEX;
        }
    }
}

void bb_xbatch_free(bb_xbatch *b) {
    free(b->uid);
    free(b->iid);
    free(b->len);
    free(b->input);
    free(b->target);
    memset(b, 0, sizeof *b);
}
