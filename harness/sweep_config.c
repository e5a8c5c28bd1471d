/* sweep_config — parsing a sweep config into its cells (sweep.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "baselines/rank_run.h"
#include "models/base/bb_config.h"
#include "harness/run_stage1.h"
#include "harness/sweep.h"
#include "models/base/bb_hash.h"
#include "models/base/bb_io.h"

#ifndef BB_VERSION
#define BB_VERSION "unknown"
#endif

static const bb_cfg_key rank_schema[] = {
    BB_CFG_INT_KEY(bb_sweep_rank_keys, epochs, 1, 1000000, "maximum epochs"),
    BB_CFG_INT_KEY(bb_sweep_rank_keys, dim, 1, 65536, "embedding width"),
    BB_CFG_INT_KEY(bb_sweep_rank_keys, layers, 0, 64, "LightGCN layers"),
    BB_CFG_INT_KEY(bb_sweep_rank_keys, batch, 1, 100000000, "BPR batch"),
    BB_CFG_INT_KEY(bb_sweep_rank_keys, eval_every, 1, 1000000, "epochs between evaluations"),
    BB_CFG_INT_KEY(bb_sweep_rank_keys, patience, 1, 1000000, "evaluations without gain"),
    BB_CFG_DOUBLE_KEY(bb_sweep_rank_keys, lr, 1e-12, 100, "learning rate"),
    BB_CFG_DOUBLE_KEY(bb_sweep_rank_keys, reg, 0, 100, "L2 weight"),
    BB_CFG_ENUM_KEY(bb_sweep_rank_keys, mask, "train|train+valid", "test mask"),
    BB_CFG_ENUM_KEY(bb_sweep_rank_keys, reg_on, "final|ego", "which embeddings L2 applies to"),
    {0},
};

/* The top-level keys, as a schema only for their names ("did you mean"). */
static const bb_cfg_key top_keys[] = {
    {.name = "name"}, {.name = "datasets"}, {.name = "synth"}, {.name = "methods"}, {.name = "seeds"},
    {.name = "threads"}, {.name = "run"}, {.name = "stage1"}, {.name = "lm"}, {.name = "rank"},
    {.name = "grid"}, {.name = "variants"}, {.name = "report"}, {0},
};

static const char *const rank_methods[] = {"pop", "mf", "lightgcn", NULL};

static int is_rank_method(const char *m) {
    for (size_t k = 0; rank_methods[k]; k++)
        if (strcmp(m, rank_methods[k]) == 0) return 1;
    return 0;
}

static void rank_keys_default(bb_sweep_rank_keys *k) {
    rank_run_config d;
    rank_run_config_default(&d);
    memset(k, 0, sizeof *k);
    k->epochs = d.epochs, k->dim = d.dim, k->layers = d.layers, k->batch = d.batch;
    k->eval_every = d.eval_every, k->patience = d.patience, k->lr = d.lr, k->reg = d.reg;
    snprintf(k->mask, sizeof k->mask, "train");
    snprintf(k->reg_on, sizeof k->reg_on, "final");
}

void bb_sweep_rank_config(const bb_sweep_cell *c, rank_run_config *out) {
    rank_run_config_default(out);
    rank_model_parse(c->method, &out->model);
    out->epochs = c->rank.epochs, out->dim = c->rank.dim, out->layers = c->rank.layers;
    out->batch = c->rank.batch, out->eval_every = c->rank.eval_every;
    out->patience = c->rank.patience, out->lr = c->rank.lr, out->reg = c->rank.reg;
    out->mask = strcmp(c->rank.mask, "train+valid") == 0 ? RANK_MASK_TRAIN_VALID : RANK_MASK_TRAIN;
    out->reg_on = strcmp(c->rank.reg_on, "ego") == 0 ? BPR_REG_EGO : BPR_REG_FINAL;
    out->seed = c->seed;
}

/* ------------------------------------------------------------------------------------------
 * Values and keys */

/* A JSON scalar as the text bb_config_set takes; NULL for arrays, objects and null. */
static char *scalar_text(const cJSON *v) {
    char buf[64];
    if (cJSON_IsBool(v)) return bb_strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsString(v)) return bb_strdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        const double x = v->valuedouble;
        if (x == floor(x) && fabs(x) < 1e15)
            snprintf(buf, sizeof buf, "%.0f", x);
        else
            snprintf(buf, sizeof buf, "%.17g", x);
        return bb_strdup(buf);
    }
    return NULL;
}

/* The short text of a grid value in a variant name ("64", "0.001", "true"). */
static void variant_value_text(const cJSON *v, char *buf, size_t cap) {
    if (cJSON_IsNumber(v))
        snprintf(buf, cap, "%g", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsString(v))
        snprintf(buf, cap, "%s", v->valuestring);
    else
        snprintf(buf, cap, "?");
}

/* Applies one override key to a cell: "method", "stage1.K", "lm.K", "rank.K" or a run key. */
static int apply_key(bb_sweep_cell *c, const char *key, const char *value, const char *source,
                     bb_error *err) {
    if (strcmp(key, "method") == 0) {
        if (!bb_run_method_known(value) && !is_rank_method(value))
            return bb_fail(err, "%s: key 'method': expected beat, id-prompt, xrec, peter, nrt, "
                                "retrieval, pop, mf or lightgcn, got \"%s\"", source, value);
        snprintf(c->method, sizeof c->method, "%s", value);
        return BB_OK;
    }
    if (strncmp(key, "stage1.", 7) == 0)
        return bb_config_set(bb_run_stage1_schema(), &c->stage1, key + 7, value, source, err);
    if (strncmp(key, "lm.", 3) == 0)
        return bb_config_set(bb_run_lm_schema(), &c->lm, key + 3, value, source, err);
    if (strncmp(key, "rank.", 5) == 0)
        return bb_config_set(rank_schema, &c->rank, key + 5, value, source, err);
    return bb_run_config_set(&c->run, key, value, source, err);
}

/* Applies every scalar of obj, recursively, as prefix + dotted key. */
static int apply_object(bb_sweep_cell *c, const cJSON *obj, const char *prefix, const char *source,
                        bb_error *err) {
    for (const cJSON *it = obj->child; it; it = it->next) {
        char key[256];
        snprintf(key, sizeof key, "%s%s", prefix, it->string);
        if (cJSON_IsObject(it)) {
            char sub[260];
            snprintf(sub, sizeof sub, "%s.", key);
            if (apply_object(c, it, sub, source, err) != BB_OK) return BB_ERR;
            continue;
        }
        char *text = scalar_text(it);
        if (!text) return bb_fail(err, "%s: key '%s': expected a number, string or boolean", source, key);
        int rc = apply_key(c, key, text, source, err);
        free(text);
        if (rc != BB_OK) return BB_ERR;
    }
    return BB_OK;
}

/* A section given as a file name: loaded with its schema. */
static int apply_section_file(bb_sweep_cell *c, const char *section, const char *file, bb_error *err) {
    if (strcmp(section, "run") == 0) return bb_run_config_load(file, &c->run, err);
    if (strcmp(section, "stage1") == 0) return bb_run_stage1_config_load(file, &c->stage1, err);
    if (strcmp(section, "lm") == 0) return bb_config_load(file, bb_run_lm_schema(), &c->lm, err);
    return bb_config_load(file, rank_schema, &c->rank, err);
}

static int apply_section(bb_sweep_cell *c, const cJSON *root, const char *section,
                         const char *path, bb_error *err) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, section);
    if (!s) return BB_OK;
    if (cJSON_IsString(s)) return apply_section_file(c, section, s->valuestring, err);
    if (!cJSON_IsObject(s))
        return bb_fail(err, "%s: key '%s': expected an object or a config file name", path, section);
    char prefix[32], source[512];
    snprintf(prefix, sizeof prefix, "%s.", section);
    snprintf(source, sizeof source, "%s: section '%s'", path, section);
    return apply_object(c, s, strcmp(section, "run") == 0 ? "" : prefix, source, err);
}

/* The template every cell starts from: defaults, then run -> stage1 -> lm -> rank. */
static int build_template(const cJSON *root, const char *path, bb_sweep_cell *t, bb_error *err) {
    memset(t, 0, sizeof *t);
    bb_run_config_default(&t->run);
    beat_config_default(&t->stage1);
    t->lm = lm_config_default();
    rank_keys_default(&t->rank);
    if (apply_section(t, root, "run", path, err) != BB_OK) return BB_ERR;
    if (t->run.stage1_config[0] && bb_run_stage1_config_load(t->run.stage1_config, &t->stage1, err) != BB_OK)
        return BB_ERR;
    if (t->run.lm_config[0] && bb_config_load(t->run.lm_config, bb_run_lm_schema(), &t->lm, err) != BB_OK)
        return BB_ERR;
    /* resolved into the structs: the cells carry values, not file names */
    t->run.stage1_config[0] = t->run.lm_config[0] = '\0';
    if (apply_section(t, root, "stage1", path, err) != BB_OK) return BB_ERR;
    if (apply_section(t, root, "lm", path, err) != BB_OK) return BB_ERR;
    return apply_section(t, root, "rank", path, err);
}

/* ------------------------------------------------------------------------------------------
 * Points: the variants or the grid, each a name and a set of overrides */

typedef struct {
    char name[BB_SWEEP_MAX_VARIANT];
    cJSON *set; /* object of key -> scalar (owned) */
} point;

static int points_from_variants(const cJSON *vs, const char *path, point **out, size_t *n, bb_error *err) {
    if (!cJSON_IsArray(vs) || cJSON_GetArraySize(vs) == 0)
        return bb_fail(err, "%s: key 'variants': expected a non-empty array of objects", path);
    size_t m = (size_t)cJSON_GetArraySize(vs), k = 0;
    point *p = bb_calloc(m, sizeof *p);
    for (const cJSON *v = vs->child; v; v = v->next, k++) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
        const cJSON *set = cJSON_GetObjectItemCaseSensitive(v, "set");
        int bad = !cJSON_IsObject(v) || !cJSON_IsString(name) || !name->valuestring[0] ||
                  strpbrk(name->valuestring, ",\"\n") || (set && !cJSON_IsObject(set));
        for (const cJSON *it = v->child; !bad && it; it = it->next)
            bad = strcmp(it->string, "name") != 0 && strcmp(it->string, "set") != 0;
        for (size_t j = 0; !bad && j < k; j++) bad = strcmp(p[j].name, name->valuestring) == 0;
        if (bad) {
            for (size_t j = 0; j < k; j++) cJSON_Delete(p[j].set);
            free(p);
            return bb_fail(err, "%s: key 'variants[%zu]': expected {\"name\": unique text without "
                                "commas or quotes, \"set\": {key: value, ...}}", path, k);
        }
        snprintf(p[k].name, sizeof p[k].name, "%s", name->valuestring);
        p[k].set = set ? cJSON_Duplicate(set, 1) : cJSON_CreateObject();
    }
    *out = p, *n = m;
    return BB_OK;
}

static int points_from_grid(const cJSON *g, const char *path, point **out, size_t *n, bb_error *err) {
    if (!cJSON_IsObject(g) || !g->child)
        return bb_fail(err, "%s: key 'grid': expected an object of key -> array of values", path);
    size_t total = 1, nk = 0;
    for (const cJSON *it = g->child; it; it = it->next, nk++) {
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) == 0)
            return bb_fail(err, "%s: key 'grid.%s': expected a non-empty array of values", path, it->string);
        for (const cJSON *v = it->child; v; v = v->next)
            if (!(cJSON_IsNumber(v) || cJSON_IsString(v) || cJSON_IsBool(v)))
                return bb_fail(err, "%s: key 'grid.%s': values must be numbers, strings or booleans",
                               path, it->string);
        total *= (size_t)cJSON_GetArraySize(it);
        if (total > 100000) return bb_fail(err, "%s: key 'grid': more than 100000 points", path);
    }
    point *p = bb_calloc(total, sizeof *p);
    for (size_t i = 0; i < total; i++) {
        p[i].set = cJSON_CreateObject();
        /* the first key varies slowest, like nested loops in the order written */
        size_t rest = i, stride = total;
        size_t len = 0;
        for (const cJSON *it = g->child; it; it = it->next) {
            stride /= (size_t)cJSON_GetArraySize(it);
            const cJSON *v = cJSON_GetArrayItem(it, (int)(rest / stride));
            rest %= stride;
            cJSON_AddItemToObject(p[i].set, it->string, cJSON_Duplicate(v, 1));
            char val[128];
            variant_value_text(v, val, sizeof val);
            len += (size_t)snprintf(p[i].name + len, len < sizeof p[i].name ? sizeof p[i].name - len : 0,
                                    "%s%s=%s", len ? "+" : "", it->string, val);
        }
    }
    *out = p, *n = total;
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * The sweep */

static int check_top_keys(const cJSON *root, const char *path, bb_error *err) {
    for (const cJSON *it = root->child; it; it = it->next) {
        size_t k = 0;
        while (top_keys[k].name && strcmp(top_keys[k].name, it->string) != 0) k++;
        if (!top_keys[k].name) {
            const char *best = bb_config_closest_key(top_keys, it->string);
            return bb_fail(err, "%s: key '%s': unknown key%s%s%s", path, it->string,
                           best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
        }
    }
    return BB_OK;
}

static int parse_list(const cJSON *root, const char *key, const char *path, cJSON **out, bb_error *err) {
    *out = NULL;
    cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!a) return BB_OK;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0)
        return bb_fail(err, "%s: key '%s': expected a non-empty array", path, key);
    *out = a;
    return BB_OK;
}

/* The last component of path p (trailing slashes ignored), shortened to fit buf. */
static void base_name(const char *p, char buf[BB_SWEEP_MAX_NAME]) {
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    size_t s = n;
    while (s > 0 && p[s - 1] != '/') s--;
    size_t len = n - s < BB_SWEEP_MAX_NAME - 1 ? n - s : BB_SWEEP_MAX_NAME - 1;
    memcpy(buf, p + s, len);
    buf[len] = '\0';
}

/* Every key of the cell's own overrides, as one JSON object (cell.json). */
static char *overrides_text(const cJSON *set, const char *method) {
    cJSON *o = set ? cJSON_Duplicate(set, 1) : cJSON_CreateObject();
    if (!cJSON_GetObjectItemCaseSensitive(o, "method")) cJSON_AddStringToObject(o, "method", method);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *r = bb_strdup(s);
    cJSON_free(s);
    return r;
}

static int check_cell(const bb_sweep_cell *c, const char *path, bb_error *err) {
    char where[600];
    snprintf(where, sizeof where, "%s: cell %s/%s/%s", path, c->dataset, c->method, c->variant);
    if (c->kind == BB_CELL_RANK) {
        rank_run_config rc;
        bb_sweep_rank_config(c, &rc);
        rc.data_dir = "x";
        if (rank_run_check_config(&rc, err) != BB_OK) return bb_fail_prefix(err, "%s", where);
        return BB_OK;
    }
    if (bb_run_config_check(&c->run, err) != BB_OK) return bb_fail_prefix(err, "%s", where);
    if (lm_config_check(&c->lm, err) != BB_OK) return bb_fail_prefix(err, "%s: lm", where);
    if (strcmp(c->method, "beat") == 0 && beat_config_check(&c->stage1, c->lm.d_model, err) != BB_OK)
        return bb_fail_prefix(err, "%s: stage1", where);
    return BB_OK;
}

int bb_sweep_parse(const char *path, const char *text, bb_sweep *sw, bb_error *err) {
    memset(sw, 0, sizeof *sw);
    sw->path = bb_strdup(path);
    sw->text = bb_strdup(text);
    sw->threads = 2;
    bb_synth_default_config(&sw->synth);
    cJSON *root = cJSON_Parse(text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bb_fail(err, "%s: not a JSON object", path);
    }
    int rc = check_top_keys(root, path, err);
    cJSON *datasets = NULL, *methods = NULL, *seeds = NULL;
    if (rc == BB_OK) rc = parse_list(root, "datasets", path, &datasets, err);
    if (rc == BB_OK && !datasets) rc = bb_fail(err, "%s: key 'datasets': required (a list of directories or \"synth\")", path);
    if (rc == BB_OK) rc = parse_list(root, "methods", path, &methods, err);
    if (rc == BB_OK) rc = parse_list(root, "seeds", path, &seeds, err);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (rc == BB_OK && name && (!cJSON_IsString(name) || strlen(name->valuestring) >= sizeof sw->name))
        rc = bb_fail(err, "%s: key 'name': expected a short text", path);
    if (rc == BB_OK && name)
        snprintf(sw->name, sizeof sw->name, "%s", name->valuestring);
    else
        base_name(path, sw->name);
    const cJSON *threads = cJSON_GetObjectItemCaseSensitive(root, "threads");
    if (rc == BB_OK && threads) {
        if (!cJSON_IsNumber(threads) || threads->valuedouble != floor(threads->valuedouble) ||
            threads->valuedouble < 1 || threads->valuedouble > 1024)
            rc = bb_fail(err, "%s: key 'threads': expected an integer in [1, 1024]", path);
        else
            sw->threads = (int)threads->valuedouble;
    }
    const cJSON *report = cJSON_GetObjectItemCaseSensitive(root, "report");
    if (rc == BB_OK && report) {
        if (!cJSON_IsBool(report)) rc = bb_fail(err, "%s: key 'report': expected true or false", path);
        sw->report = cJSON_IsTrue(report);
    }
    const cJSON *synth = cJSON_GetObjectItemCaseSensitive(root, "synth");
    if (rc == BB_OK && synth) {
        static const bb_cfg_key synth_schema[] = {
            BB_CFG_INT_KEY(bb_synth_config, users, 1, 100000000, "users"),
            BB_CFG_INT_KEY(bb_synth_config, items, 1, 100000000, "items"),
            BB_CFG_INT_KEY(bb_synth_config, groups, 1, 100000, "planted groups"),
            BB_CFG_INT_KEY(bb_synth_config, aspects, 1, 100000, "aspects"),
            BB_CFG_INT_KEY(bb_synth_config, interactions, 1, 1000000000, "interactions"),
            BB_CFG_INT_KEY(bb_synth_config, explained, 1, 100000000, "explained pairs"),
            {0}};
        if (!cJSON_IsObject(synth)) rc = bb_fail(err, "%s: key 'synth': expected an object", path);
        for (const cJSON *it = synth->child; rc == BB_OK && it; it = it->next) {
            char *t = scalar_text(it);
            char key[128], source[512];
            snprintf(key, sizeof key, "%s", it->string);
            snprintf(source, sizeof source, "%s: section 'synth'", path);
            if (strcmp(key, "seed") == 0 && t) {
                sw->synth.seed = strtoull(t, NULL, 10);
            } else {
                rc = t ? bb_config_set(synth_schema, &sw->synth, key, t, source, err)
                       : bb_fail(err, "%s: key '%s': expected a number", source, key);
            }
            free(t);
        }
        if (rc == BB_OK) rc = bb_synth_check_config(&sw->synth, err);
    }
    /* datasets */
    if (rc == BB_OK) {
        sw->n_datasets = (size_t)cJSON_GetArraySize(datasets);
        sw->datasets = bb_calloc(sw->n_datasets, sizeof *sw->datasets);
        sw->data_dirs = bb_calloc(sw->n_datasets, sizeof *sw->data_dirs);
        sw->data_hashes = bb_calloc(sw->n_datasets, sizeof *sw->data_hashes);
        size_t k = 0;
        for (const cJSON *d = datasets->child; d && rc == BB_OK; d = d->next, k++) {
            if (!cJSON_IsString(d) || !d->valuestring[0]) {
                rc = bb_fail(err, "%s: key 'datasets[%zu]': expected a directory or \"synth\"", path, k);
                break;
            }
            sw->datasets[k] = bb_strdup(d->valuestring);
            char bn[BB_SWEEP_MAX_NAME], other[BB_SWEEP_MAX_NAME];
            base_name(d->valuestring, bn);
            for (size_t j = 0; j < k && rc == BB_OK; j++) {
                base_name(sw->datasets[j], other);
                if (strcmp(other, bn) == 0)
                    rc = bb_fail(err, "%s: key 'datasets': two datasets named \"%s\"", path, bn);
            }
        }
    }
    /* points */
    point *pts = NULL;
    size_t n_pts = 0;
    const cJSON *grid = cJSON_GetObjectItemCaseSensitive(root, "grid");
    const cJSON *variants = cJSON_GetObjectItemCaseSensitive(root, "variants");
    if (rc == BB_OK && grid && variants)
        rc = bb_fail(err, "%s: keys 'grid' and 'variants': use one of them", path);
    if (rc == BB_OK) {
        if (grid)
            rc = points_from_grid(grid, path, &pts, &n_pts, err);
        else if (variants)
            rc = points_from_variants(variants, path, &pts, &n_pts, err);
        else {
            pts = bb_calloc(1, sizeof *pts);
            snprintf(pts[0].name, sizeof pts[0].name, "default");
            pts[0].set = cJSON_CreateObject();
            n_pts = 1;
        }
    }
    bb_sweep_cell tmpl;
    if (rc == BB_OK) rc = build_template(root, path, &tmpl, err);
    /* cells: datasets x methods x points x seeds */
    const size_t n_methods = methods ? (size_t)cJSON_GetArraySize(methods) : 1;
    const size_t n_seeds = seeds ? (size_t)cJSON_GetArraySize(seeds) : 1;
    if (rc == BB_OK) {
        sw->cells = bb_calloc(sw->n_datasets * n_methods * n_pts * n_seeds, sizeof *sw->cells);
        for (size_t d = 0; d < sw->n_datasets && rc == BB_OK; d++)
            for (size_t m = 0; m < n_methods && rc == BB_OK; m++) {
                const cJSON *mv = methods ? cJSON_GetArrayItem(methods, (int)m) : NULL;
                if (mv && !cJSON_IsString(mv)) {
                    rc = bb_fail(err, "%s: key 'methods[%zu]': expected a method name", path, m);
                    break;
                }
                for (size_t p = 0; p < n_pts && rc == BB_OK; p++)
                    for (size_t s = 0; s < n_seeds && rc == BB_OK; s++) {
                        const cJSON *sv = seeds ? cJSON_GetArrayItem(seeds, (int)s) : NULL;
                        if (sv && (!cJSON_IsNumber(sv) || sv->valuedouble < 0 ||
                                   sv->valuedouble != floor(sv->valuedouble) || sv->valuedouble > 9e15)) {
                            rc = bb_fail(err, "%s: key 'seeds[%zu]': expected a non-negative integer", path, s);
                            break;
                        }
                        bb_sweep_cell *c = &sw->cells[sw->n_cells];
                        *c = tmpl;
                        c->overrides_json = NULL;
                        base_name(sw->datasets[d], c->dataset);
                        c->dataset_index = (int)d;
                        char source[600];
                        snprintf(source, sizeof source, "%s: method", path);
                        rc = apply_key(c, "method", mv ? mv->valuestring : "beat", source, err);
                        snprintf(source, sizeof source, "%s: %s '%s'", path, grid ? "grid point" : "variant",
                                 pts[p].name);
                        if (rc == BB_OK) rc = apply_object(c, pts[p].set, "", source, err);
                        if (rc != BB_OK) break;
                        snprintf(c->variant, sizeof c->variant, "%s", pts[p].name);
                        c->seed = sv ? (uint64_t)sv->valuedouble : 1;
                        c->kind = is_rank_method(c->method) ? BB_CELL_RANK : BB_CELL_EXPLAIN;
                        snprintf(c->run.method, sizeof c->run.method, "%s",
                                 c->kind == BB_CELL_EXPLAIN ? c->method : "beat");
                        c->overrides_json = overrides_text(pts[p].set, c->method);
                        sw->n_cells++;
                        rc = check_cell(c, path, err);
                    }
            }
    }
    for (size_t p = 0; p < n_pts; p++) cJSON_Delete(pts[p].set);
    free(pts);
    cJSON_Delete(root);
    return rc;
}

int bb_sweep_load(const char *path, bb_sweep *sw, bb_error *err) {
    char *text = NULL;
    if (bb_read_file(path, &text, NULL, err) != BB_OK) {
        memset(sw, 0, sizeof *sw);
        return BB_ERR;
    }
    int rc = bb_sweep_parse(path, text, sw, err);
    free(text);
    return rc;
}

void bb_sweep_free(bb_sweep *sw) {
    for (size_t k = 0; k < sw->n_cells; k++) free(sw->cells[k].overrides_json);
    for (size_t k = 0; k < sw->n_datasets; k++) {
        if (sw->datasets) free(sw->datasets[k]);
        if (sw->data_dirs) free(sw->data_dirs[k]);
    }
    free(sw->datasets), free(sw->data_dirs), free(sw->data_hashes), free(sw->cells);
    free(sw->path), free(sw->text);
    memset(sw, 0, sizeof *sw);
}

/* ------------------------------------------------------------------------------------------
 * Ids */

static int ensure_synth(const bb_sweep *sw, const char *dir, bb_error *err) {
    char *probe = bb_path_join(dir, "explanations.csv");
    int present = bb_path_exists(probe);
    free(probe);
    if (present) return BB_OK;
    int lock = -1;
    if (bb_lock_entry(dir, &lock, err) != BB_OK) return BB_ERR;
    bb_synth s;
    int rc = bb_synth_generate(&sw->synth, &s, err);
    if (rc == BB_OK) {
        bb_stage_dir sd;
        rc = bb_stage_dir_begin(&sd, dir, err);
        if (rc == BB_OK) rc = bb_synth_write(&s, sd.staging, err);
        if (rc == BB_OK) rc = bb_stage_dir_commit(&sd, err);
        else bb_stage_dir_abort(&sd);
        bb_synth_free(&s);
    }
    bb_lock_release(lock);
    return rc;
}

static uint64_t hash_text(const char *s, uint64_t h) { return bb_hash_bytes(s, strlen(s), h); }

static uint64_t cell_hash(const bb_sweep *sw, const bb_sweep_cell *c) {
    uint64_t h = hash_text("beatbench sweep cell " BB_VERSION, BB_HASH_INIT);
    h = hash_text(c->dataset, h);
    h = bb_hash_bytes(&sw->data_hashes[c->dataset_index], sizeof(uint64_t), h);
    h = hash_text(c->method, h);
    h = bb_hash_bytes(&c->seed, sizeof c->seed, h);
    h = bb_hash_bytes(&sw->threads, sizeof sw->threads, h);
    if (c->kind == BB_CELL_RANK) {
        char *j = bb_config_to_json(rank_schema, &c->rank);
        h = hash_text(j, h);
        free(j);
        return h;
    }
    char *j = bb_run_config_json(&c->run);
    h = hash_text(j, h);
    free(j);
    j = bb_run_stage1_config_json(&c->stage1);
    h = hash_text(j, h);
    free(j);
    j = bb_config_to_json(bb_run_lm_schema(), &c->lm);
    h = hash_text(j, h);
    free(j);
    return h;
}

int bb_sweep_resolve_ids(bb_sweep *sw, const char *out_dir, bb_error *err) {
    for (size_t d = 0; d < sw->n_datasets; d++) {
        free(sw->data_dirs[d]);
        if (strcmp(sw->datasets[d], "synth") == 0) {
            char *data = bb_path_join(out_dir, "data");
            sw->data_dirs[d] = bb_path_join(data, "synth");
            free(data);
            if (ensure_synth(sw, sw->data_dirs[d], err) != BB_OK) return BB_ERR;
        } else {
            sw->data_dirs[d] = bb_strdup(sw->datasets[d]);
        }
        uint64_t h = BB_HASH_INIT;
        static const char *const files[] = {"train.csv", "valid.csv", "test.csv", "explanations.csv"};
        for (size_t k = 0; k < 4; k++) {
            char *p = bb_path_join(sw->data_dirs[d], files[k]);
            int rc = bb_hash_file(p, &h, err);
            free(p);
            if (rc != BB_OK) return bb_fail_prefix(err, "%s: dataset '%s'", sw->path, sw->datasets[d]);
        }
        sw->data_hashes[d] = h;
    }
    for (size_t k = 0; k < sw->n_cells; k++) {
        bb_sweep_cell *c = &sw->cells[k];
        snprintf(c->id, sizeof c->id, "%016" PRIx64, cell_hash(sw, c));
        c->first = 1;
        for (size_t j = 0; j < k && c->first; j++)
            if (strcmp(sw->cells[j].id, c->id) == 0) c->first = 0;
    }
    return BB_OK;
}
