/* lm_bpe_io — tokenizer.json: saving and validated loading of the BPE tokenizer (cJSON).
 * Format in lm_bpe.h. Every loading error names the file and the field. */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/lm/lm_bpe.h"

#define BPE_FORMAT "beatbench-bpe"
#define BPE_PRETOKENIZER "beatbench-v1"

int lm_bpe_save(const lm_bpe *tok, const char *path, bb_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", BPE_FORMAT);
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "pretokenizer", BPE_PRETOKENIZER);
    cJSON_AddNumberToObject(root, "vocab_size", tok->vocab_size);
    cJSON *merges = cJSON_AddArrayToObject(root, "merges");
    for (int32_t i = 0; i < tok->n_merges; i++) {
        int pair[2] = {tok->merges[2 * i], tok->merges[2 * i + 1]};
        cJSON_AddItemToArray(merges, cJSON_CreateIntArray(pair, 2));
    }
    cJSON *specials = cJSON_AddArrayToObject(root, "specials");
    for (int k = 0; k < LM_N_SPECIAL; k++)
        cJSON_AddItemToArray(specials, cJSON_CreateString(lm_bpe_special_name((lm_special)k)));
    /* One merge per line keeps the file diffable without the cost of full indentation. */
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    BB_ASSERT(text, "cJSON could not print the tokenizer (out of memory)");
    size_t len = strlen(text);
    char *pretty = bb_malloc(len + (size_t)tok->n_merges + 8);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        pretty[o++] = text[i];
        if (text[i] == ',' && i + 1 < len && text[i + 1] == '[') pretty[o++] = '\n';
    }
    pretty[o++] = '\n';
    free(text);
    int rc = bb_write_file_atomic(path, pretty, o, err);
    free(pretty);
    return rc;
}

static int get_int(const cJSON *root, const char *path, const char *key, int lo, int hi, int *out,
                   bb_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v) return bb_fail(err, "%s: field '%s': missing", path, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
        v->valuedouble < lo || v->valuedouble > hi)
        return bb_fail(err, "%s: field '%s': expected an integer in [%d, %d]", path, key, lo, hi);
    *out = (int)v->valuedouble;
    return BB_OK;
}

int lm_bpe_parse(const char *path, const char *json, lm_bpe **out, bb_error *err) {
    *out = NULL;
    int32_t *merges = NULL;
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        const char *where = cJSON_GetErrorPtr();
        size_t line = 1;
        for (const char *p = json; where && p < where && *p; p++) line += *p == '\n';
        return bb_fail(err, "%s:%zu: not valid JSON", path, line);
    }
    if (!cJSON_IsObject(root)) {
        bb_fail(err, "%s: expected a JSON object", path);
        goto fail;
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, BPE_FORMAT) != 0) {
        bb_fail(err, "%s: field 'format': expected \"%s\"", path, BPE_FORMAT);
        goto fail;
    }
    int version, vocab_size;
    if (get_int(root, path, "version", 1, 1, &version, err) != BB_OK) goto fail;
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pretokenizer");
    if (!cJSON_IsString(pre) || strcmp(pre->valuestring, BPE_PRETOKENIZER) != 0) {
        bb_fail(err, "%s: field 'pretokenizer': expected \"%s\"", path, BPE_PRETOKENIZER);
        goto fail;
    }
    if (get_int(root, path, "vocab_size", 256 + LM_N_SPECIAL, 1 << 24, &vocab_size, err) != BB_OK)
        goto fail;
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(root, "merges");
    if (!cJSON_IsArray(ml)) {
        bb_fail(err, "%s: field 'merges': expected an array of [left, right] id pairs", path);
        goto fail;
    }
    int n_merges = cJSON_GetArraySize(ml);
    if (256 + n_merges + LM_N_SPECIAL != vocab_size) {
        bb_fail(err, "%s: field 'vocab_size': %d does not equal 256 + %d merges + %d specials",
                path, vocab_size, n_merges, LM_N_SPECIAL);
        goto fail;
    }
    merges = bb_malloc((2 * (size_t)n_merges + 1) * sizeof *merges);
    int i = 0;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, ml) {
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2) {
            bb_fail(err, "%s: field 'merges[%d]': expected a [left, right] pair", path, i);
            goto fail;
        }
        for (int k = 0; k < 2; k++) {
            const cJSON *v = cJSON_GetArrayItem(pair, k);
            /* A merge may only join tokens that exist before it. */
            if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
                v->valuedouble < 0 || v->valuedouble >= 256 + i) {
                bb_fail(err, "%s: field 'merges[%d][%d]': expected a token id in [0, %d)", path, i,
                        k, 256 + i);
                goto fail;
            }
            merges[2 * i + k] = (int32_t)v->valuedouble;
        }
        i++;
    }
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(root, "specials");
    if (!cJSON_IsArray(sp) || cJSON_GetArraySize(sp) != LM_N_SPECIAL) {
        bb_fail(err, "%s: field 'specials': expected the %d special tokens", path, LM_N_SPECIAL);
        goto fail;
    }
    for (int k = 0; k < LM_N_SPECIAL; k++) {
        const cJSON *v = cJSON_GetArrayItem(sp, k);
        const char *want = lm_bpe_special_name((lm_special)k);
        if (!cJSON_IsString(v) || strcmp(v->valuestring, want) != 0) {
            bb_fail(err, "%s: field 'specials[%d]': expected \"%s\"", path, k, want);
            goto fail;
        }
    }
    *out = lm_bpe_from_merges(merges, n_merges);
    free(merges);
    cJSON_Delete(root);
    return BB_OK;
fail:
    free(merges);
    cJSON_Delete(root);
    return BB_ERR;
}

int lm_bpe_load(const char *path, lm_bpe **out, bb_error *err) {
    char *text;
    size_t len;
    *out = NULL;
    if (bb_read_file(path, &text, &len, err) != BB_OK) return BB_ERR;
    int rc = lm_bpe_parse(path, text, out, err);
    free(text);
    return rc;
}
