/* id_prompt — ID vectors in the prompt slots (id_prompt.h). */
#include "baselines/id_prompt.h"

#include <math.h>
#include <string.h>

#include "models/base/bb_rng.h"
#include "models/nn/nn_ops.h"

void bb_id_prompt_default_config(bb_id_prompt_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->slots = 6;
    cfg->init_std = 0.0;
}

int bb_id_prompt_check_config(const bb_id_prompt_config *cfg, bb_error *err) {
    if (cfg->slots < 1 || cfg->slots > 65)
        return bb_fail(err, "key 'slots': expected 1 to 65, got %d", cfg->slots);
    if (!(cfg->init_std >= 0) || !isfinite(cfg->init_std))
        return bb_fail(err, "key 'init_std': expected >= 0, got %g", cfg->init_std);
    return BB_OK;
}

static nn_tensor *side(nn_tape *tp, nn_tensor *table, const int32_t *ids, int n, int S, int C) {
    return nn_reshape(tp, nn_gather_rows(tp, table, ids, n), 3, (int64_t[]){n, S, C});
}

static nn_tensor *build(void *self, nn_tape *tp, const int32_t *uid, const int32_t *iid, int n) {
    bb_id_prompt_model *m = self;
    nn_tensor *sides[2] = {side(tp, m->user_id, uid, n, m->S, m->C),
                           side(tp, m->item_id, iid, n, m->S, m->C)};
    return nn_concat(tp, sides, 2, 1);
}

void bb_id_prompt_init(bb_id_prompt_model *m, int32_t n_users, int32_t n_items, int slots,
                       int d_model, double init_std, uint64_t seed) {
    memset(m, 0, sizeof *m);
    m->S = slots;
    m->C = d_model;
    m->params = nn_params_new();
    m->user_id = nn_params_add2(m->params, "user_id", n_users, (int64_t)slots * d_model);
    m->item_id = nn_params_add2(m->params, "item_id", n_items, (int64_t)slots * d_model);
    nn_params_finalize(m->params);
    bb_rng r;
    bb_rng_seed(&r, seed, "id-prompt/init");
    nn_init_normal(m->user_id, &r, 0.0f, (float)init_std);
    nn_init_normal(m->item_id, &r, 0.0f, (float)init_std);
    m->prov = (beat_slot_provider){.name = "id-prompt", .self = m, .params = m->params,
                                   .n_users = n_users, .n_items = n_items, .slots = slots,
                                   .width = d_model, .build = build};
}

void bb_id_prompt_free(bb_id_prompt_model *m) {
    nn_params_free(m->params);
    memset(m, 0, sizeof *m);
}

int bb_id_prompt_explain(const bb_explain_task *task, const beat_explain_config *loop,
                         const bb_id_prompt_config *cfg, lm_model *lm, lm_bpe *tok,
                         bb_explain_output *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    if (bb_id_prompt_check_config(cfg, err) != BB_OK) return BB_ERR;
    double std = cfg->init_std > 0 ? cfg->init_std : beat_explain_wte_std(lm);
    bb_id_prompt_model m;
    bb_id_prompt_init(&m, task->data->n_users, task->data->n_items, cfg->slots, lm->arch.d_model,
                      std, task->seed);
    int rc = beat_explain_task_run(task, loop, lm, tok, &m.prov, out, err);
    bb_id_prompt_free(&m);
    return rc;
}
