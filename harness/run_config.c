/* run_config — the composed schema of `run` / `beat explain` configs (run_config.h). */
#include "harness/run_config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/explain_schema.h"
#include "models/base/bb_io.h"

static const bb_cfg_key top_keys[] = {
    BB_CFG_ENUM_KEY(bb_run_config, method, "beat|id-prompt|xrec|peter|nrt|retrieval",
                    "explanation method"),
    BB_CFG_ENUM_KEY(bb_run_config, domain, "auto|book|business",
                    "prompt wording; auto: book when the data directory name holds 'amazon'"),
    BB_CFG_STRING_KEY(bb_run_config, lm_config, "LM config JSON for the cached LM (\"\": defaults)"),
    BB_CFG_STRING_KEY(bb_run_config, stage1_config, "BEAT stage-1 config JSON (\"\": defaults)"),
    BB_CFG_BOOL_KEY(bb_run_config, bertscore, "BERTScore-style with the frozen LM's token vectors"),
    {0},
};

static const bb_cfg_key explain_keys[] = {
    BB_CFG_INT_KEY(beat_explain_config, batch, 1, 65536, "sequences per step"),
    BB_CFG_DOUBLE_KEY(beat_explain_config, lr, 1e-9, 10, "Adam learning rate"),
    BB_CFG_DOUBLE_KEY(beat_explain_config, clip, 0, 1e6, "gradient-norm clip (0 = off)"),
    BB_CFG_INT_KEY(beat_explain_config, max_epochs, 1, 100000, "epochs at most"),
    BB_CFG_INT_KEY(beat_explain_config, patience, 1, 100000, "epochs without a lower valid loss"),
    BB_CFG_DOUBLE_KEY(beat_explain_config, beta_sar, 0, 1e6, "SAR weight"),
    BB_CFG_BOOL_KEY(beat_explain_config, no_sar, "cross-entropy only (no SAR)"),
    BB_CFG_INT_KEY(beat_explain_config, max_new, 1, 4096, "new tokens at most in generation"),
    BB_CFG_INT_KEY(beat_explain_config, beam, 1, 64, "beam width (1 = greedy)"),
    BB_CFG_INT_KEY(beat_explain_config, max_title_tokens, 0, 4096, "title tokens kept in the prompt"),
    {0},
};

static const bb_cfg_key id_prompt_keys[] = {
    BB_CFG_INT_KEY(bb_id_prompt_config, slots, 0, 65, "slots per side (0 = BEAT's under stage1_config)"),
    BB_CFG_DOUBLE_KEY(bb_id_prompt_config, init_std, 0, 100, "init std (0 = the LM's wte std)"),
    {0},
};

static const bb_cfg_key xrec_keys[] = {
    BB_CFG_INT_KEY(bb_xrec_config, slots, 0, 65, "slots per side (0 = BEAT's under stage1_config)"),
    BB_CFG_INT_KEY(bb_xrec_config, experts, 1, BB_XREC_MAX_EXPERTS, "mixture-of-experts experts"),
    BB_CFG_INT_KEY(bb_xrec_config, hidden, 0, 65536, "expert hidden width (0 = (e + d_model)/2)"),
    BB_CFG_INT_KEY(bb_xrec_config, gcn_dim, 1, 4096, "LightGCN width"),
    BB_CFG_INT_KEY(bb_xrec_config, gcn_layers, 0, 16, "LightGCN layers"),
    BB_CFG_INT_KEY(bb_xrec_config, gcn_epochs, 1, 100000, "LightGCN epochs at most"),
    BB_CFG_INT_KEY(bb_xrec_config, gcn_patience, 1, 100000, "LightGCN evaluations without gain"),
    BB_CFG_INT_KEY(bb_xrec_config, gcn_batch, 1, 1 << 24, "LightGCN BPR batch"),
    BB_CFG_DOUBLE_KEY(bb_xrec_config, gcn_lr, 1e-9, 10, "LightGCN Adam learning rate"),
    BB_CFG_DOUBLE_KEY(bb_xrec_config, gcn_reg, 0, 10, "LightGCN L2 weight"),
    {0},
};

static const bb_cfg_key task_keys[] = {
    BB_CFG_INT_KEY(bb_run_task_config, max_train_rows, 0, 2147483647, "train rows kept (0 = all)"),
    BB_CFG_INT_KEY(bb_run_task_config, max_valid_rows, 0, 2147483647, "valid rows kept (0 = all)"),
    BB_CFG_INT_KEY(bb_run_task_config, max_test_rows, 0, 2147483647, "test rows kept (0 = all)"),
    {0},
};

typedef struct group {
    const char *prefix; /* NULL: top level */
    const bb_cfg_key *keys;
    size_t offset;
} group;

#define MAX_KEYS 160
#define NAME_CAP 64

static bb_cfg_key composed[MAX_KEYS + 1];
static char names[MAX_KEYS][NAME_CAP];

const bb_cfg_key *bb_run_config_schema(void) {
    if (composed[0].name) return composed;
    const group groups[] = {
        {NULL, top_keys, 0},
        {"explain", explain_keys, offsetof(bb_run_config, explain)},
        {"id_prompt", id_prompt_keys, offsetof(bb_run_config, id_prompt)},
        {"xrec", xrec_keys, offsetof(bb_run_config, xrec)},
        {"peter", bb_peter_config_keys, offsetof(bb_run_config, peter)},
        {"nrt", bb_nrt_config_keys, offsetof(bb_run_config, nrt)},
        {"retrieval", bb_retrieval_config_keys, offsetof(bb_run_config, retrieval)},
        {"task", task_keys, offsetof(bb_run_config, task)},
    };
    int n = 0;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (const bb_cfg_key *k = groups[g].keys; k->name; k++) {
            BB_ASSERT(n < MAX_KEYS, "run_config: more than %d keys; raise MAX_KEYS", MAX_KEYS);
            composed[n] = *k;
            composed[n].offset += groups[g].offset;
            if (groups[g].prefix) {
                snprintf(names[n], NAME_CAP, "%s.%s", groups[g].prefix, k->name);
                composed[n].name = names[n];
            }
            n++;
        }
    memset(&composed[n], 0, sizeof composed[n]);
    return composed;
}

void bb_run_config_default(bb_run_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->method, sizeof c->method, "beat");
    snprintf(c->domain, sizeof c->domain, "auto");
    c->bertscore = 1;
    beat_explain_config_default(&c->explain);
    bb_id_prompt_default_config(&c->id_prompt);
    c->id_prompt.slots = 0;
    bb_xrec_default_config(&c->xrec);
    c->xrec.slots = 0;
    bb_peter_default_config(&c->peter);
    bb_nrt_default_config(&c->nrt);
    bb_retrieval_default_config(&c->retrieval);
}

int bb_run_config_load(const char *path, bb_run_config *c, bb_error *err) {
    return bb_config_load(path, bb_run_config_schema(), c, err);
}

int bb_run_config_set(bb_run_config *c, const char *key, const char *value, const char *source,
                      bb_error *err) {
    return bb_config_set(bb_run_config_schema(), c, key, value, source, err);
}

int bb_run_config_set_list(bb_run_config *c, const char *list, const char *source, bb_error *err) {
    char *copy = bb_strdup(list), *save = NULL;
    int rc = BB_OK;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == BB_OK; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            rc = bb_fail(err, "%s: expected KEY=VALUE, got \"%s\"", source, tok);
            break;
        }
        *eq = '\0';
        rc = bb_run_config_set(c, tok, eq + 1, source, err);
    }
    free(copy);
    return rc;
}

char *bb_run_config_json(const bb_run_config *c) {
    return bb_config_to_json(bb_run_config_schema(), c);
}

int bb_run_config_check(const bb_run_config *c, bb_error *err) {
    if (!bb_run_method_known(c->method))
        return bb_fail(err, "key 'method': expected beat, id-prompt, xrec, peter, nrt or retrieval, "
                            "got \"%s\"", c->method);
    if (beat_explain_config_check(&c->explain, err) != BB_OK) return bb_fail_prefix(err, "explain: ");
    bb_id_prompt_config idp = c->id_prompt;
    if (idp.slots == 0) idp.slots = 1; /* resolved from stage 1 later */
    if (bb_id_prompt_check_config(&idp, err) != BB_OK) return bb_fail_prefix(err, "id_prompt: ");
    bb_xrec_config xr = c->xrec;
    if (xr.slots == 0) xr.slots = 1;
    if (bb_xrec_check_config(&xr, err) != BB_OK) return bb_fail_prefix(err, "xrec: ");
    if (bb_peter_check_config(&c->peter, err) != BB_OK) return bb_fail_prefix(err, "peter: ");
    if (bb_nrt_check_config(&c->nrt, err) != BB_OK) return bb_fail_prefix(err, "nrt: ");
    if (bb_retrieval_check_config(&c->retrieval, err) != BB_OK) return bb_fail_prefix(err, "retrieval: ");
    const int caps[3] = {c->task.max_train_rows, c->task.max_valid_rows, c->task.max_test_rows};
    static const char *const cap_keys[3] = {"max_train_rows", "max_valid_rows", "max_test_rows"};
    for (int k = 0; k < 3; k++)
        if (caps[k] < 0)
            return bb_fail(err, "key 'task.%s': expected an integer >= 0 (0 = all), got %d",
                           cap_keys[k], caps[k]);
    return BB_OK;
}

int bb_run_method_known(const char *m) {
    static const char *const methods[] = {"beat", "id-prompt", "xrec", "peter", "nrt", "retrieval"};
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++)
        if (strcmp(m, methods[k]) == 0) return 1;
    return 0;
}

const char *bb_run_config_domain(const bb_run_config *c, const char *data_dir) {
    if (strcmp(c->domain, "book") == 0) return "book";
    if (strcmp(c->domain, "business") == 0) return "business";
    /* auto: the directory's last component, compared case-insensitively */
    size_t len = strlen(data_dir);
    while (len > 1 && data_dir[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && data_dir[start - 1] != '/') start--;
    static const char needle[] = "amazon";
    for (size_t a = start; a + sizeof needle - 1 <= len; a++) {
        size_t k = 0;
        while (k < sizeof needle - 1 && tolower((unsigned char)data_dir[a + k]) == needle[k]) k++;
        if (k == sizeof needle - 1) return "book";
    }
    return "business";
}
