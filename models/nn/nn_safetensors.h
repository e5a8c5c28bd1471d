/* nn_safetensors — read and write the safetensors format (huggingface/safetensors):
 *
 *   8 bytes   N, unsigned little-endian
 *   N bytes   JSON object {name: {"dtype": "F32", "shape": [2, 3],
 *                                 "data_offsets": [begin, end]}, ...,
 *                          "__metadata__": {"key": "value", ...}}   (optional)
 *             (may be padded with trailing spaces)
 *   rest      the byte buffer; offsets are relative to its start, little-endian values.
 *
 * Reading: nn_st_open() reads and validates the header only (the file stays open), so a
 * large checkpoint is never held in memory twice; nn_st_read_f32() seeks to one tensor and
 * converts F32, F16 and BF16 to float32. Every problem is one bb_error line naming the file
 * and the issue: short file, header length beyond the file or over 100 MB, header not a
 * JSON object, bad dtype/shape/data_offsets, offsets outside the buffer, byte length not
 * numel x dtype size, overlapping tensors or unused holes in the buffer (the reference
 * rejects both), duplicate names, tensor not found, shape not what the caller expects.
 *
 * Writing: nn_st_write() writes F32 tensors in the order given, header padded to a
 * multiple of 8 bytes, atomically (temporary file + rename, bb_atomic_*).
 *
 * Parameter registries: nn_params_save() writes every parameter under its name;
 * nn_params_load() fills every parameter from a file that must hold each of them with the
 * same shape (extra tensors in the file are ignored).
 *
 * Ownership: an nn_safetensors owns its path copy, entries, metadata and FILE; release
 * with nn_st_close() (also after a failed nn_st_open). Entries stay valid until then.
 */
#ifndef NN_SAFETENSORS_H
#define NN_SAFETENSORS_H

#include <stdint.h>
#include <stdio.h>

#include "models/base/bb_error.h"
#include "models/nn/nn_optim.h"
#include "models/nn/nn_tensor.h"

#define NN_ST_MAX_DIMS 8
#define NN_ST_MAX_HEADER 100000000ull /* the reference implementation's limit */

typedef enum nn_st_dtype {
    NN_ST_BOOL, NN_ST_U8, NN_ST_I8, NN_ST_F8_E5M2, NN_ST_F8_E4M3, NN_ST_I16, NN_ST_U16,
    NN_ST_F16, NN_ST_BF16, NN_ST_I32, NN_ST_U32, NN_ST_F32, NN_ST_F64, NN_ST_I64, NN_ST_U64,
    NN_ST_DTYPE_COUNT
} nn_st_dtype;

const char *nn_st_dtype_name(nn_st_dtype d);
int nn_st_dtype_size(nn_st_dtype d);

typedef struct nn_st_entry {
    char *name;
    nn_st_dtype dtype;
    int ndim;                       /* 0 for a scalar */
    int64_t shape[NN_ST_MAX_DIMS];
    int64_t numel;
    uint64_t begin, end;            /* byte offsets in the buffer */
} nn_st_entry;

typedef struct nn_safetensors {
    char *path;
    FILE *fp;
    uint64_t file_size, data_start; /* buffer starts at 8 + N */
    nn_st_entry *entries;           /* in header order */
    int n_entries;
    char **meta_keys, **meta_values;
    int n_meta;
} nn_safetensors;

int nn_st_open(nn_safetensors *st, const char *path, bb_error *err);
void nn_st_close(nn_safetensors *st);
const nn_st_entry *nn_st_find(const nn_safetensors *st, const char *name); /* or NULL */
const char *nn_st_meta(const nn_safetensors *st, const char *key);         /* or NULL */

/* Reads tensor `name` as float32 into dst (numel floats). With expect_shape non-NULL the
 * stored shape must equal (expect_ndim, expect_shape); a scalar matches (1) too. */
int nn_st_read_f32(const nn_safetensors *st, const char *name, int expect_ndim,
                   const int64_t *expect_shape, float *dst, bb_error *err);
/* Same, into t (its shape is the expected shape). */
int nn_st_read_tensor(const nn_safetensors *st, const char *name, nn_tensor *t,
                      bb_error *err);

/* Writes n F32 tensors; meta is NULL or key, value, key, value, ..., NULL. */
int nn_st_write(const char *path, const char *const *names, const nn_tensor *const *tensors,
                int n, const char *const *meta, bb_error *err);

int nn_params_save(const nn_params *ps, const char *path, const char *const *meta,
                   bb_error *err);
int nn_params_load(nn_params *ps, const char *path, bb_error *err);

/* IEEE half and bfloat16 to float (exact; subnormals, inf and NaN kept). */
float nn_f16_to_f32(uint16_t h);
float nn_bf16_to_f32(uint16_t b);

#endif
