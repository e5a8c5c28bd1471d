/* lm_config — defaults, cross-field checks and the learning-rate schedule (see lm_config.h). */
#include "models/lm/lm_config.h"

#include <cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

typedef struct key_desc {
    const char *name;
    size_t offset;
    int is_int;
} key_desc;

#define KEY_INT(f)                                                                                 \
    { #f, offsetof(lm_config, f), 1 }
#define KEY_DBL(f)                                                                                 \
    { #f, offsetof(lm_config, f), 0 }
static const key_desc keys[] = {
    KEY_INT(vocab),        KEY_INT(context),
    KEY_INT(d_model),      KEY_INT(n_layers),
    KEY_INT(n_heads),      KEY_INT(bpe_min_frequency),
    KEY_INT(batch),        KEY_INT(steps),
    KEY_DBL(epochs),       KEY_INT(warmup),
    KEY_DBL(lr),           KEY_DBL(min_lr_ratio),
    KEY_DBL(weight_decay), KEY_DBL(clip),
    KEY_DBL(beta1),        KEY_DBL(beta2),
    KEY_DBL(eps),          KEY_INT(eval_every),
    KEY_INT(eval_windows), KEY_INT(checkpoint_every),
    {NULL, 0, 0},
};
#undef KEY_INT
#undef KEY_DBL

lm_config lm_config_default(void) {
    lm_config c = {
        .vocab = 4096,
        .context = 256,
        .d_model = 256,
        .n_layers = 4,
        .n_heads = 4,
        .bpe_min_frequency = 2,
        .batch = 16,
        .steps = 0,
        .epochs = 10.0,
        .warmup = 100,
        .lr = 1e-3,
        .min_lr_ratio = 0.1,
        .weight_decay = 0.1,
        .clip = 1.0,
        .beta1 = 0.9,
        .beta2 = 0.95,
        .eps = 1e-8,
        .eval_every = 200,
        .eval_windows = 0,
        .checkpoint_every = 200,
    };
    return c;
}

int lm_config_check(const lm_config *c, bb_error *err) {
    if (c->n_heads < 1 || c->d_model % c->n_heads != 0)
        return bb_fail(err, "key 'n_heads': %d does not divide d_model %d", c->n_heads, c->d_model);
    if (c->vocab < 256 + 6)
        return bb_fail(err, "key 'vocab': %d is below the 262 byte and special tokens", c->vocab);
    if (c->steps == 0 && !(c->epochs > 0))
        return bb_fail(err, "key 'steps': 0 needs a positive 'epochs' to derive the step count");
    if (c->steps > 0 && c->warmup >= c->steps)
        return bb_fail(err, "key 'warmup': %d warmup steps leave nothing of %d steps", c->warmup,
                       c->steps);
    if (!(c->min_lr_ratio >= 0 && c->min_lr_ratio <= 1))
        return bb_fail(err, "key 'min_lr_ratio': expected a number in [0, 1]");
    return BB_OK;
}

lm_arch lm_config_arch(const lm_config *c, int vocab_size) {
    lm_arch a = {.vocab = vocab_size,
                 .context = c->context,
                 .d_model = c->d_model,
                 .n_layers = c->n_layers,
                 .n_heads = c->n_heads};
    return a;
}

/* Linear warmup to lr, then half a cosine from lr down to lr * min_lr_ratio (GPT-2/3
 * style schedule, Radford et al.; Brown et al. 2020, §B). */
double lm_config_lr(const lm_config *c, long step, long total) {
    if (step < c->warmup) return c->lr * (double)(step + 1) / (double)c->warmup;
    long span = total - c->warmup;
    double progress = span > 1 ? (double)(step - c->warmup) / (double)(span - 1) : 1.0;
    if (progress > 1.0) progress = 1.0;
    double min_lr = c->lr * c->min_lr_ratio;
    return min_lr + 0.5 * (c->lr - min_lr) * (1.0 + cos(M_PI * progress));
}

const char *const *lm_config_keys(void) {
    static const char *names[sizeof keys / sizeof *keys];
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) names[i] = keys[i].name;
    return names;
}

char *lm_config_to_json(const lm_config *c) {
    /* Written by hand: cJSON prints doubles with 15 digits, which would not round-trip. */
    size_t cap = 2048, len = 0;
    char *s = bb_malloc(cap);
    len += (size_t)snprintf(s + len, cap - len, "{");
    for (const key_desc *k = keys; k->name; k++) {
        const char *field = (const char *)c + k->offset;
        const char *sep = k == keys ? "\n" : ",\n";
        if (k->is_int)
            len += (size_t)snprintf(s + len, cap - len, "%s  \"%s\": %d", sep, k->name,
                                    *(const int *)field);
        else
            len += (size_t)snprintf(s + len, cap - len, "%s  \"%s\": %.17g", sep, k->name,
                                    *(const double *)field);
        BB_ASSERT(len + 64 < cap, "lm config JSON buffer too small");
    }
    snprintf(s + len, cap - len, "\n}\n");
    return s;
}

int lm_config_parse_json(const char *path, const char *text, lm_config *c, bb_error *err) {
    cJSON *root = cJSON_Parse(text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bb_fail(err, "%s: not a JSON object", path);
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        const key_desc *k = keys;
        while (k->name && strcmp(k->name, item->string) != 0) k++;
        if (!k->name) {
            bb_fail(err, "%s: key '%s': unknown key", path, item->string);
            cJSON_Delete(root);
            return BB_ERR;
        }
        if (!cJSON_IsNumber(item) || (k->is_int && (item->valuedouble != floor(item->valuedouble) ||
                                                    fabs(item->valuedouble) > 2147483647.0))) {
            bb_fail(err, "%s: key '%s': expected %s", path, k->name,
                    k->is_int ? "an integer" : "a number");
            cJSON_Delete(root);
            return BB_ERR;
        }
        char *field = (char *)c + k->offset;
        if (k->is_int)
            *(int *)field = (int)item->valuedouble;
        else
            *(double *)field = item->valuedouble;
    }
    cJSON_Delete(root);
    if (lm_config_check(c, err) != BB_OK) return bb_fail_prefix(err, "%s", path);
    return BB_OK;
}

const char *lm_config_first_difference(const lm_config *a, const lm_config *b) {
    for (const key_desc *k = keys; k->name; k++) {
        const char *fa = (const char *)a + k->offset, *fb = (const char *)b + k->offset;
        if (k->is_int ? *(const int *)fa != *(const int *)fb
                      : *(const double *)fa != *(const double *)fb)
            return k->name;
    }
    return NULL;
}
