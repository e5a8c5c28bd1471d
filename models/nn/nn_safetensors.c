/* nn_safetensors — header parsing with strict bounds checks, F32/F16/BF16 reads, atomic
 * F32 writes. Format: https://github.com/huggingface/safetensors (README, "Format"). */
#define _POSIX_C_SOURCE 200809L
#include "models/nn/nn_safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models/base/bb_io.h"

static const char *const dtype_names[NN_ST_DTYPE_COUNT] = {
    "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
    "BF16", "I32", "U32", "F32", "F64", "I64", "U64"};
static const int dtype_sizes[NN_ST_DTYPE_COUNT] = {1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};

const char *nn_st_dtype_name(nn_st_dtype d) {
    return (int)d >= 0 && d < NN_ST_DTYPE_COUNT ? dtype_names[d] : "?";
}
int nn_st_dtype_size(nn_st_dtype d) {
    return (int)d >= 0 && d < NN_ST_DTYPE_COUNT ? dtype_sizes[d] : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* half-precision conversions */

float nn_f16_to_f32(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v;
    if (exp == 0)
        v = ldexp((double)mant, -24); /* subnormal: mant * 2^-14 / 1024 */
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexp(1.0 + mant / 1024.0, exp - 15);
    return (float)(sign ? -v : v);
}

float nn_bf16_to_f32(uint16_t b) {
    uint32_t u = (uint32_t)b << 16; /* bfloat16 is the top half of a float32 */
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int host_is_little_endian(void) {
    uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* ------------------------------------------------------------------------------------------ */
/* open: header parsing */

static void st_reset(nn_safetensors *st) { memset(st, 0, sizeof *st); }

void nn_st_close(nn_safetensors *st) {
    if (!st) return;
    if (st->fp) fclose(st->fp);
    for (int i = 0; i < st->n_entries; i++) free(st->entries[i].name);
    free(st->entries);
    for (int i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->meta_keys);
    free(st->meta_values);
    free(st->path);
    st_reset(st);
}

/* A JSON number that is a non-negative integer representable exactly (<= 2^53). */
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || floor(d) != d) return 0;
    *out = (uint64_t)d;
    return 1;
}

static int parse_entry(nn_safetensors *st, const cJSON *item, nn_st_entry *e, bb_error *err) {
    const char *p = st->path, *name = item->string;
    if (!cJSON_IsObject(item))
        return bb_fail(err, "%s: header: tensor '%s' is not a JSON object", p, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt))
        return bb_fail(err, "%s: header: tensor '%s': field 'dtype' missing or not a string", p,
                       name);
    int found = -1;
    for (int d = 0; d < NN_ST_DTYPE_COUNT; d++)
        if (strcmp(dt->valuestring, dtype_names[d]) == 0) found = d;
    if (found < 0)
        return bb_fail(err, "%s: header: tensor '%s': field 'dtype': unknown dtype \"%s\"", p,
                       name, dt->valuestring);
    e->dtype = (nn_st_dtype)found;
    if (!cJSON_IsArray(sh))
        return bb_fail(err, "%s: header: tensor '%s': field 'shape' missing or not an array", p,
                       name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > NN_ST_MAX_DIMS)
        return bb_fail(err, "%s: header: tensor '%s': field 'shape' has %d dims, at most %d", p,
                       name, nd, NN_ST_MAX_DIMS);
    e->ndim = nd;
    e->numel = 1;
    for (int i = 0; i < nd; i++) {
        uint64_t v;
        if (!json_uint(cJSON_GetArrayItem(sh, i), &v) || v > ((uint64_t)1 << 40))
            return bb_fail(err, "%s: header: tensor '%s': field 'shape': entry %d is not a "
                           "non-negative integer below 2^40", p, name, i);
        e->shape[i] = (int64_t)v;
        if (v && (uint64_t)e->numel > (((uint64_t)1 << 62) / v))
            return bb_fail(err, "%s: header: tensor '%s': field 'shape': element count "
                           "overflows", p, name);
        e->numel *= (int64_t)v;
    }
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        !json_uint(cJSON_GetArrayItem(off, 0), &e->begin) ||
        !json_uint(cJSON_GetArrayItem(off, 1), &e->end))
        return bb_fail(err, "%s: header: tensor '%s': field 'data_offsets' must be [begin, end] "
                       "of non-negative integers", p, name);
    uint64_t buffer = st->file_size - st->data_start;
    if (e->begin > e->end)
        return bb_fail(err, "%s: header: tensor '%s': data_offsets [%llu, %llu] end before "
                       "begin", p, name, (unsigned long long)e->begin,
                       (unsigned long long)e->end);
    if (e->end > buffer)
        return bb_fail(err, "%s: header: tensor '%s': data_offsets [%llu, %llu] outside the "
                       "%llu-byte buffer", p, name, (unsigned long long)e->begin,
                       (unsigned long long)e->end, (unsigned long long)buffer);
    uint64_t want = (uint64_t)e->numel * (uint64_t)dtype_sizes[e->dtype];
    if (e->end - e->begin != want)
        return bb_fail(err, "%s: header: tensor '%s': %llu bytes for %lld elements of %s "
                       "(expected %llu)", p, name, (unsigned long long)(e->end - e->begin),
                       (long long)e->numel, dtype_names[e->dtype], (unsigned long long)want);
    return BB_OK;
}

static int parse_metadata(nn_safetensors *st, const cJSON *meta, bb_error *err) {
    if (!cJSON_IsObject(meta))
        return bb_fail(err, "%s: header: '__metadata__' is not a JSON object", st->path);
    int n = cJSON_GetArraySize(meta);
    st->meta_keys = bb_calloc((size_t)(n ? n : 1), sizeof(char *));
    st->meta_values = bb_calloc((size_t)(n ? n : 1), sizeof(char *));
    const cJSON *kv;
    cJSON_ArrayForEach(kv, meta) {
        if (!cJSON_IsString(kv))
            return bb_fail(err, "%s: header: '__metadata__' value of '%s' is not a string",
                           st->path, kv->string);
        st->meta_keys[st->n_meta] = bb_strdup(kv->string);
        st->meta_values[st->n_meta] = bb_strdup(kv->valuestring);
        st->n_meta++;
    }
    return BB_OK;
}

static int cmp_begin(const void *a, const void *b) {
    const nn_st_entry *x = *(nn_st_entry *const *)a, *y = *(nn_st_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Tensors must tile the buffer: no overlaps, no holes (as the reference validates). */
static int check_layout(nn_safetensors *st, bb_error *err) {
    int n = st->n_entries, rc = BB_OK;
    nn_st_entry **order = bb_malloc((size_t)(n ? n : 1) * sizeof *order);
    for (int i = 0; i < n; i++) order[i] = &st->entries[i];
    qsort(order, (size_t)n, sizeof *order, cmp_begin);
    uint64_t pos = 0;
    for (int i = 0; i < n && rc == BB_OK; i++) {
        if (order[i]->begin < pos)
            rc = bb_fail(err, "%s: header: tensors '%s' and '%s' overlap (bytes %llu..%llu)",
                         st->path, order[i - 1]->name, order[i]->name,
                         (unsigned long long)order[i]->begin, (unsigned long long)pos);
        else if (order[i]->begin > pos)
            rc = bb_fail(err, "%s: header: bytes %llu..%llu of the buffer belong to no tensor",
                         st->path, (unsigned long long)pos, (unsigned long long)order[i]->begin);
        if (order[i]->end > pos) pos = order[i]->end;
    }
    if (rc == BB_OK && pos != st->file_size - st->data_start)
        rc = bb_fail(err, "%s: header: tensors cover %llu bytes, the buffer has %llu", st->path,
                     (unsigned long long)pos, (unsigned long long)(st->file_size - st->data_start));
    free(order);
    return rc;
}

int nn_st_open(nn_safetensors *st, const char *path, bb_error *err) {
    st_reset(st);
    st->path = bb_strdup(path);
    char *header = NULL;
    cJSON *root = NULL;
    st->fp = fopen(path, "rb");
    if (!st->fp) {
        bb_fail(err, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(fileno(st->fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        bb_fail(err, "%s: not a regular file", path);
        goto fail;
    }
    st->file_size = (uint64_t)sb.st_size;
    unsigned char len8[8];
    if (st->file_size < 8 || fread(len8, 1, 8, st->fp) != 8) {
        bb_fail(err, "%s: file is %llu bytes, shorter than the 8-byte header length", path,
                (unsigned long long)st->file_size);
        goto fail;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | len8[i];
    if (n > NN_ST_MAX_HEADER) {
        bb_fail(err, "%s: header length %llu is over the %llu-byte limit (not a safetensors "
                "file?)", path, (unsigned long long)n, NN_ST_MAX_HEADER);
        goto fail;
    }
    if (n > st->file_size - 8) {
        bb_fail(err, "%s: header length %llu runs past the end of the %llu-byte file", path,
                (unsigned long long)n, (unsigned long long)st->file_size);
        goto fail;
    }
    if (n < 2) {
        bb_fail(err, "%s: header length %llu is too small for a JSON object", path,
                (unsigned long long)n);
        goto fail;
    }
    st->data_start = 8 + n;
    header = bb_malloc((size_t)n + 1);
    if (fread(header, 1, (size_t)n, st->fp) != (size_t)n) {
        bb_fail(err, "%s: read error in the header", path);
        goto fail;
    }
    header[n] = '\0';
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(header, (size_t)n, &end, 0);
    if (!root) {
        bb_fail(err, "%s: header is not valid JSON (near byte %lld)", path,
                (long long)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - header : -1));
        goto fail;
    }
    for (const char *q = end; q && q < header + n; q++)
        if (*q != ' ') {
            bb_fail(err, "%s: header has bytes after the JSON object (only spaces may pad it)",
                    path);
            goto fail;
        }
    if (!cJSON_IsObject(root)) {
        bb_fail(err, "%s: header is not a JSON object", path);
        goto fail;
    }
    int count = cJSON_GetArraySize(root);
    st->entries = bb_calloc((size_t)(count ? count : 1), sizeof *st->entries);
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") == 0) {
            if (st->meta_keys) {
                bb_fail(err, "%s: header: '__metadata__' appears twice", path);
                goto fail;
            }
            if (parse_metadata(st, item, err) != BB_OK) goto fail;
            continue;
        }
        if (nn_st_find(st, item->string)) {
            bb_fail(err, "%s: header: tensor '%s' appears twice", path, item->string);
            goto fail;
        }
        nn_st_entry *e = &st->entries[st->n_entries];
        if (parse_entry(st, item, e, err) != BB_OK) goto fail;
        e->name = bb_strdup(item->string);
        st->n_entries++;
    }
    if (check_layout(st, err) != BB_OK) goto fail;
    cJSON_Delete(root);
    free(header);
    return BB_OK;
fail:
    cJSON_Delete(root);
    free(header);
    return BB_ERR;
}

const nn_st_entry *nn_st_find(const nn_safetensors *st, const char *name) {
    for (int i = 0; i < st->n_entries; i++)
        if (strcmp(st->entries[i].name, name) == 0) return &st->entries[i];
    return NULL;
}

const char *nn_st_meta(const nn_safetensors *st, const char *key) {
    for (int i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* reading tensors */

static void shape_text(int ndim, const int64_t *shape, char *buf, size_t cap) {
    size_t pos = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && pos < cap; i++)
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s%lld", i ? ", " : "",
                                (long long)shape[i]);
    if (pos < cap) snprintf(buf + pos, cap - pos, ")");
}

static int shape_matches(const nn_st_entry *e, int ndim, const int64_t *shape) {
    if (e->ndim == 0) return ndim == 1 && shape[0] == 1; /* scalar as (1) */
    if (e->ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++)
        if (e->shape[i] != shape[i]) return 0;
    return 1;
}

int nn_st_read_f32(const nn_safetensors *st, const char *name, int expect_ndim,
                   const int64_t *expect_shape, float *dst, bb_error *err) {
    const nn_st_entry *e = nn_st_find(st, name);
    if (!e) return bb_fail(err, "%s: no tensor named '%s'", st->path, name);
    if (expect_shape && !shape_matches(e, expect_ndim, expect_shape)) {
        char have[160], want[160];
        shape_text(e->ndim, e->shape, have, sizeof have);
        shape_text(expect_ndim, expect_shape, want, sizeof want);
        return bb_fail(err, "%s: tensor '%s' has shape %s, expected %s", st->path, name, have,
                       want);
    }
    if (e->dtype != NN_ST_F32 && e->dtype != NN_ST_F16 && e->dtype != NN_ST_BF16)
        return bb_fail(err, "%s: tensor '%s' has dtype %s; only F32, F16 and BF16 can be read",
                       st->path, name, dtype_names[e->dtype]);
    if (e->numel == 0) return BB_OK;
    if (fseeko(st->fp, (off_t)(st->data_start + e->begin), SEEK_SET) != 0)
        return bb_fail(err, "%s: cannot seek to tensor '%s': %s", st->path, name,
                       strerror(errno));
    size_t bytes = (size_t)(e->end - e->begin);
    int le = host_is_little_endian();
    if (e->dtype == NN_ST_F32) {
        if (fread(dst, 1, bytes, st->fp) != bytes)
            return bb_fail(err, "%s: short read in tensor '%s'", st->path, name);
        if (!le) {
            unsigned char *b = (unsigned char *)dst;
            for (size_t i = 0; i < bytes; i += 4) {
                unsigned char t0 = b[i], t1 = b[i + 1];
                b[i] = b[i + 3], b[i + 1] = b[i + 2], b[i + 2] = t1, b[i + 3] = t0;
            }
        }
        return BB_OK;
    }
    unsigned char *raw = bb_malloc(bytes);
    if (fread(raw, 1, bytes, st->fp) != bytes) {
        free(raw);
        return bb_fail(err, "%s: short read in tensor '%s'", st->path, name);
    }
    for (int64_t i = 0; i < e->numel; i++) {
        uint16_t h = (uint16_t)(raw[2 * i] | (raw[2 * i + 1] << 8)); /* little-endian */
        dst[i] = e->dtype == NN_ST_F16 ? nn_f16_to_f32(h) : nn_bf16_to_f32(h);
    }
    free(raw);
    return BB_OK;
}

int nn_st_read_tensor(const nn_safetensors *st, const char *name, nn_tensor *t,
                      bb_error *err) {
    return nn_st_read_f32(st, name, t->ndim, t->shape, t->data, err);
}

/* ------------------------------------------------------------------------------------------ */
/* writing */

static int write_le_floats(FILE *fp, const float *x, int64_t n) {
    if (host_is_little_endian()) return fwrite(x, sizeof(float), (size_t)n, fp) == (size_t)n;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8),
                              (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
        if (fwrite(b, 1, 4, fp) != 4) return 0;
    }
    return 1;
}

int nn_st_write(const char *path, const char *const *names, const nn_tensor *const *tensors,
                int n, const char *const *meta, bb_error *err) {
    cJSON *root = cJSON_CreateObject();
    char *json = NULL;
    if (meta && meta[0]) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; meta[i]; i += 2) {
            if (!meta[i + 1]) {
                cJSON_Delete(root);
                return bb_fail(err, "%s: metadata key '%s' has no value", path, meta[i]);
            }
            cJSON_AddStringToObject(m, meta[i], meta[i + 1]);
        }
    }
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        if (!names[i][0] || strcmp(names[i], "__metadata__") == 0 ||
            cJSON_GetObjectItemCaseSensitive(root, names[i])) {
            cJSON_Delete(root);
            return bb_fail(err, "%s: tensor name '%s' is empty, reserved or repeated", path,
                           names[i]);
        }
        cJSON *e = cJSON_AddObjectToObject(root, names[i]);
        cJSON_AddStringToObject(e, "dtype", "F32");
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < tensors[i]->ndim; d++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)tensors[i]->shape[d]));
        uint64_t bytes = (uint64_t)tensors[i]->numel * 4u;
        cJSON *off = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)offset));
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(offset + bytes)));
        offset += bytes;
    }
    json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    BB_ASSERT(json, "safetensors: cJSON could not print the header");
    /* pad with spaces so the buffer starts 8-byte aligned, as the reference writer does */
    size_t len = strlen(json), padded = (len + 7) & ~(size_t)7;
    bb_atomic_file af;
    if (bb_atomic_open(&af, path, err) != BB_OK) {
        cJSON_free(json);
        return BB_ERR;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, af.fp) == 8 && fwrite(json, 1, len, af.fp) == len;
    for (size_t i = len; ok && i < padded; i++) ok = fputc(' ', af.fp) != EOF;
    for (int i = 0; ok && i < n; i++) ok = write_le_floats(af.fp, tensors[i]->data, tensors[i]->numel);
    cJSON_free(json);
    if (!ok) {
        bb_atomic_abort(&af);
        return bb_fail(err, "%s: write failed: %s", path, strerror(errno));
    }
    return bb_atomic_commit(&af, err);
}

int nn_params_save(const nn_params *ps, const char *path, const char *const *meta,
                   bb_error *err) {
    BB_ASSERT(ps->finalized, "nn_params_save before nn_params_finalize");
    const char **names = bb_malloc((size_t)(ps->n ? ps->n : 1) * sizeof *names);
    const nn_tensor **ts = bb_malloc((size_t)(ps->n ? ps->n : 1) * sizeof *ts);
    for (int i = 0; i < ps->n; i++) {
        names[i] = ps->names[i];
        ts[i] = ps->items[i];
    }
    int rc = nn_st_write(path, names, ts, ps->n, meta, err);
    free(names);
    free(ts);
    return rc;
}

int nn_params_load(nn_params *ps, const char *path, bb_error *err) {
    BB_ASSERT(ps->finalized, "nn_params_load before nn_params_finalize");
    nn_safetensors st;
    if (nn_st_open(&st, path, err) != BB_OK) {
        nn_st_close(&st);
        return BB_ERR;
    }
    int rc = BB_OK;
    for (int i = 0; i < ps->n && rc == BB_OK; i++)
        rc = nn_st_read_tensor(&st, ps->names[i], ps->items[i], err);
    nn_st_close(&st);
    return rc;
}
