/* config — schema-validated JSON configs. See config.h. */
#include "models/base/bb_config.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

/* ------------------------------------------------------------------------------------ */
/* key lookup and suggestions                                                           */

static const bb_cfg_key *find_key(const bb_cfg_key *schema, const char *name) {
    for (const bb_cfg_key *k = schema; k->name; k++)
        if (strcmp(k->name, name) == 0) return k;
    return NULL;
}

static int is_key_prefix(const bb_cfg_key *schema, const char *prefix) {
    size_t n = strlen(prefix);
    for (const bb_cfg_key *k = schema; k->name; k++)
        if (strncmp(k->name, prefix, n) == 0 && k->name[n] == '.') return 1;
    return 0;
}

static size_t edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    size_t *row = bb_malloc((m + 1) * sizeof *row);
    for (size_t j = 0; j <= m; j++) row[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[m];
    free(row);
    return d;
}

const char *bb_config_closest_key(const bb_cfg_key *schema, const char *name) {
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (const bb_cfg_key *k = schema; k->name; k++) {
        size_t d = edit_distance(name, k->name);
        if (d < best_d) {
            best_d = d;
            best = k->name;
        }
    }
    size_t len = strlen(name);
    size_t limit = len / 3 > 2 ? len / 3 : 2;
    return best_d <= limit ? best : NULL;
}

/* Line (1-based) of the first occurrence of "leaf" as a JSON key at or after `from`. */
static int line_of_key(const char *text, const char *leaf, const char **from) {
    char quoted[256];
    snprintf(quoted, sizeof quoted, "\"%s\"", leaf);
    const char *hit = strstr(*from ? *from : text, quoted);
    if (!hit) hit = strstr(text, quoted);
    if (!hit) return 1;
    *from = hit + 1;
    int line = 1;
    for (const char *p = text; p < hit; p++) line += *p == '\n';
    return line;
}

/* ------------------------------------------------------------------------------------ */
/* assigning values                                                                     */

static void fmt_range(char *out, size_t cap, const bb_cfg_key *k) {
    if (k->type == BB_CFG_INT)
        snprintf(out, cap, "an integer in [%.0f, %.0f]", k->min, k->max);
    else
        snprintf(out, cap, "a number in [%g, %g]", k->min, k->max);
}

static int choice_ok(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

/* where: "FILE:LINE" or "--flag"; got: the value's text for messages. */
static int assign_number(const bb_cfg_key *k, void *out, double v, int is_integral,
                         const char *where, const char *got, bb_error *err) {
    char range[96];
    fmt_range(range, sizeof range, k);
    if (k->type == BB_CFG_INT) {
        if (!is_integral || !(v >= k->min && v <= k->max))
            return bb_fail(err, "%s: key '%s': expected %s, got %s", where, k->name, range, got);
        *(int *)((char *)out + k->offset) = (int)v;
    } else {
        if (!isfinite(v) || !(v >= k->min && v <= k->max))
            return bb_fail(err, "%s: key '%s': expected %s, got %s", where, k->name, range, got);
        *(double *)((char *)out + k->offset) = v;
    }
    return BB_OK;
}

static int assign_text(const bb_cfg_key *k, void *out, const char *v, const char *where,
                       bb_error *err) {
    if (k->type == BB_CFG_ENUM && !choice_ok(k->choices, v))
        return bb_fail(err, "%s: key '%s': expected one of %s, got \"%s\"", where, k->name,
                       k->choices, v);
    if (strlen(v) >= k->cap)
        return bb_fail(err, "%s: key '%s': value longer than %zu characters", where, k->name,
                       k->cap - 1);
    memcpy((char *)out + k->offset, v, strlen(v) + 1);
    return BB_OK;
}

static const char *type_name(bb_cfg_type t) {
    switch (t) {
    case BB_CFG_INT: return "an integer";
    case BB_CFG_DOUBLE: return "a number";
    case BB_CFG_BOOL: return "true or false";
    case BB_CFG_STRING: return "a string";
    case BB_CFG_ENUM: return "a string";
    }
    return "?";
}

static int assign_json(const bb_cfg_key *k, void *out, const cJSON *item, const char *where,
                       bb_error *err) {
    switch (k->type) {
    case BB_CFG_INT:
    case BB_CFG_DOUBLE:
        if (!cJSON_IsNumber(item)) break;
        {
            char got[64];
            snprintf(got, sizeof got, "%.17g", item->valuedouble);
            double v = item->valuedouble;
            return assign_number(k, out, v, v == floor(v) && fabs(v) < 2147483648.0, where, got,
                                 err);
        }
    case BB_CFG_BOOL:
        if (!cJSON_IsBool(item)) break;
        *(int *)((char *)out + k->offset) = cJSON_IsTrue(item) ? 1 : 0;
        return BB_OK;
    case BB_CFG_STRING:
    case BB_CFG_ENUM:
        if (!cJSON_IsString(item)) break;
        return assign_text(k, out, item->valuestring, where, err);
    }
    const char *got = cJSON_IsString(item)   ? "a string"
                      : cJSON_IsNumber(item) ? "a number"
                      : cJSON_IsBool(item)   ? "a boolean"
                      : cJSON_IsNull(item)   ? "null"
                      : cJSON_IsArray(item)  ? "an array"
                                             : "an object";
    return bb_fail(err, "%s: key '%s': expected %s, got %s", where, k->name, type_name(k->type),
                   got);
}

int bb_config_set(const bb_cfg_key *schema, void *out, const char *key, const char *value,
                  const char *source, bb_error *err) {
    const bb_cfg_key *k = find_key(schema, key);
    if (!k) {
        const char *near = bb_config_closest_key(schema, key);
        return bb_fail(err, "%s: key '%s': unknown key%s%s%s", source, key,
                       near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    char got[300];
    snprintf(got, sizeof got, "\"%s\"", value);
    switch (k->type) {
    case BB_CFG_INT:
    case BB_CFG_DOUBLE: {
        char *end = NULL;
        errno = 0;
        double v = strtod(value, &end);
        if (!*value || *end || errno)
            return bb_fail(err, "%s: key '%s': expected %s, got %s", source, key,
                           type_name(k->type), got);
        return assign_number(k, out, v, v == floor(v) && fabs(v) < 2147483648.0, source, got,
                             err);
    }
    case BB_CFG_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0) {
            *(int *)((char *)out + k->offset) = 1;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0) {
            *(int *)((char *)out + k->offset) = 0;
        } else {
            return bb_fail(err, "%s: key '%s': expected true or false, got %s", source, key, got);
        }
        return BB_OK;
    case BB_CFG_STRING:
    case BB_CFG_ENUM:
        return assign_text(k, out, value, source, err);
    }
    return BB_ERR;
}

/* ------------------------------------------------------------------------------------ */
/* walking the JSON document                                                            */

typedef struct walk {
    const char *path, *text;
    const bb_cfg_key *schema;
    void *out;
    const char *cursor; /* search position for key line numbers */
} walk;

static int walk_object(walk *w, const cJSON *obj, const char *prefix, bb_error *err) {
    for (const cJSON *item = obj->child; item; item = item->next) {
        char name[256];
        if (prefix[0])
            snprintf(name, sizeof name, "%s.%s", prefix, item->string);
        else
            snprintf(name, sizeof name, "%s", item->string);
        int line = line_of_key(w->text, item->string, &w->cursor);
        char where[600];
        snprintf(where, sizeof where, "%s:%d", w->path, line);
        const bb_cfg_key *k = find_key(w->schema, name);
        if (!k && cJSON_IsObject(item) && is_key_prefix(w->schema, name)) {
            if (walk_object(w, item, name, err) != BB_OK) return BB_ERR;
            continue;
        }
        if (!k) {
            const char *near = bb_config_closest_key(w->schema, name);
            return bb_fail(err, "%s: key '%s': unknown key%s%s%s", where, name,
                           near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        }
        if (assign_json(k, w->out, item, where, err) != BB_OK) return BB_ERR;
    }
    return BB_OK;
}

int bb_config_parse(const char *path, const char *text, const bb_cfg_key *schema, void *out,
                    bb_error *err) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        int line = 1;
        const char *stop = end ? end : cJSON_GetErrorPtr();
        for (const char *p = text; stop && p < stop && *p; p++) line += *p == '\n';
        return bb_fail(err, "%s:%d: invalid JSON", path, line);
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bb_fail(err, "%s:1: expected a JSON object at the top level", path);
    }
    walk w = {path, text, schema, out, NULL};
    int rc = walk_object(&w, root, "", err);
    cJSON_Delete(root);
    return rc;
}

int bb_config_load(const char *path, const bb_cfg_key *schema, void *out, bb_error *err) {
    char *text = NULL;
    if (bb_read_file(path, &text, NULL, err) != BB_OK) return BB_ERR;
    int rc = bb_config_parse(path, text, schema, out, err);
    free(text);
    return rc;
}

char *bb_config_to_json(const bb_cfg_key *schema, const void *cfg) {
    cJSON *root = cJSON_CreateObject();
    for (const bb_cfg_key *k = schema; k->name; k++) {
        const char *field = (const char *)cfg + k->offset;
        switch (k->type) {
        case BB_CFG_INT: cJSON_AddNumberToObject(root, k->name, *(const int *)field); break;
        case BB_CFG_DOUBLE: cJSON_AddNumberToObject(root, k->name, *(const double *)field); break;
        case BB_CFG_BOOL: cJSON_AddBoolToObject(root, k->name, *(const int *)field); break;
        case BB_CFG_STRING:
        case BB_CFG_ENUM: cJSON_AddStringToObject(root, k->name, field); break;
        }
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}
