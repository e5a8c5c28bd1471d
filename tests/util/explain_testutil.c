/* explain_testutil — hand-made and small synthetic explanation tasks. See explain_testutil.h. */
#include "tests/util/explain_testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

static void task_init(xtest_fix *f, const bb_dataset *d, const bb_explanations *ex) {
    f->task = (bb_explain_task){d, ex, &f->split, "business", 1, 1, NULL};
}

void xtest_fix_init(xtest_fix *f, int32_t n_users, int32_t n_items, const int32_t *train_u,
                    const int32_t *train_i, size_t n_train, const xtest_row *rows, size_t n_rows) {
    memset(f, 0, sizeof *f);
    f->data.n_users = n_users;
    f->data.n_items = n_items;
    f->data.train.n = n_train;
    f->data.train.user = bb_malloc((n_train ? n_train : 1) * sizeof(int32_t));
    f->data.train.item = bb_malloc((n_train ? n_train : 1) * sizeof(int32_t));
    if (n_train) {
        memcpy(f->data.train.user, train_u, n_train * sizeof(int32_t));
        memcpy(f->data.train.item, train_i, n_train * sizeof(int32_t));
    }
    f->ex.n = n_rows;
    f->ex.rows = bb_calloc(n_rows ? n_rows : 1, sizeof *f->ex.rows);
    f->split.n = n_rows;
    f->split.part = bb_malloc(n_rows ? n_rows : 1);
    f->split.uid = bb_malloc((n_rows ? n_rows : 1) * sizeof(int32_t));
    f->split.iid = bb_malloc((n_rows ? n_rows : 1) * sizeof(int32_t));
    for (size_t r = 0; r < n_rows; r++) {
        bb_explanation *e = &f->ex.rows[r];
        e->uid = rows[r].uid;
        e->iid = rows[r].iid;
        e->title = bb_strdup("");
        e->user_summary = bb_strdup("");
        e->item_summary = bb_strdup("");
        e->explanation = bb_strdup(rows[r].text);
        e->line = (uint32_t)(r + 2);
        f->split.part[r] = (uint8_t)rows[r].part;
        f->split.uid[r] = rows[r].uid;
        f->split.iid[r] = rows[r].iid;
        f->split.n_train += rows[r].part == BB_SPLIT_TRAIN;
        f->split.n_valid += rows[r].part == BB_SPLIT_VALID;
        f->split.n_test += rows[r].part == BB_SPLIT_TEST;
    }
    task_init(f, &f->data, &f->ex);
}

int xtest_fix_synth(xtest_fix *f, int users, int items, int interactions, int explained) {
    memset(f, 0, sizeof *f);
    bb_synth_config sc;
    bb_synth_default_config(&sc);
    sc.users = users;
    sc.items = items;
    sc.interactions = interactions;
    sc.explained = explained;
    sc.aspects = 24;
    sc.seed = 3;
    bb_error err;
    if (bb_synth_generate(&sc, &f->synth, &err) != BB_OK) {
        fprintf(stderr, "synth: %s\n", err.msg);
        return 0;
    }
    f->is_synth = 1;
    if (bb_split_make(&f->synth.expl, BB_SPLIT_DEFAULT_ZERO_SHOT, 1, &f->split, &err) != BB_OK) {
        fprintf(stderr, "split: %s\n", err.msg);
        return 0;
    }
    task_init(f, &f->synth.data, &f->synth.expl);
    return 1;
}

void xtest_fix_free(xtest_fix *f) {
    bb_split_free(&f->split);
    if (f->is_synth) {
        bb_synth_free(&f->synth);
    } else {
        bb_dataset_free(&f->data);
        bb_explanations_free(&f->ex);
    }
    memset(f, 0, sizeof *f);
}
