/* Tests for models/nn/nn_safetensors: round trip (values, shapes, metadata, alignment,
 * parameter registries), F16/BF16 reads against hand-computed values, and a corruption
 * matrix in which every damaged file gives BB_ERR with a message naming the file and the
 * problem. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/nn/nn.h"
#include "models/nn/nn_safetensors.h"
#include "tests/testhelp.h"

/* Writes 8-byte length (header_len_override when nonzero, else strlen(header)), header,
 * then data. */
static void write_raw(const char *path, const char *header, const void *data, size_t n_data,
                      uint64_t header_len_override) {
    FILE *fp = fopen(path, "wb");
    uint64_t n = header_len_override ? header_len_override : strlen(header);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(n >> (8 * i));
    fwrite(len8, 1, 8, fp);
    fwrite(header, 1, strlen(header), fp);
    if (n_data) fwrite(data, 1, n_data, fp);
    fclose(fp);
}

static void test_round_trip(void) {
    const char *path = bb_test_tmp_path("rt.safetensors");
    int64_t s3[3] = {2, 3, 4};
    nn_tensor *a = nn_tensor_new1(5, 0), *b = nn_tensor_new2(3, 7, 0), *c = nn_tensor_new(3, s3, 0);
    bb_rng r;
    bb_rng_seed(&r, 1, "test/st");
    nn_init_normal(a, &r, 0, 1);
    nn_init_normal(b, &r, 0, 1);
    nn_init_normal(c, &r, 0, 1);
    b->data[0] = -0.0f;
    b->data[1] = 1e-40f; /* subnormal survives */
    const char *names[3] = {"emb.weight", "w \"quoted\"", "c"};
    const nn_tensor *ts[3] = {a, b, c};
    const char *meta[] = {"format", "pt", "seed", "42", NULL};
    bb_error err;
    TEST_OK(nn_st_write(path, names, ts, 3, meta, &err), &err);

    nn_safetensors st;
    TEST_OK(nn_st_open(&st, path, &err), &err);
    TEST_EQ_INT(st.n_entries, 3);
    TEST_EQ_INT(st.data_start % 8, 0);
    TEST_EQ_INT(st.file_size, st.data_start + 4 * (5 + 21 + 24));
    TEST_STR_EQ(nn_st_meta(&st, "seed"), "42");
    TEST_STR_EQ(nn_st_meta(&st, "format"), "pt");
    TEST_TRUE(nn_st_meta(&st, "nope") == NULL);
    const nn_st_entry *e = nn_st_find(&st, "w \"quoted\"");
    TEST_TRUE(e != NULL);
    TEST_EQ_INT(e->dtype, NN_ST_F32);
    TEST_EQ_INT(e->ndim, 2);
    TEST_EQ_INT(e->shape[1], 7);
    TEST_EQ_INT(e->begin, 20);
    nn_tensor *a2 = nn_tensor_new1(5, 0), *b2 = nn_tensor_new2(3, 7, 0), *c2 = nn_tensor_new(3, s3, 0);
    TEST_OK(nn_st_read_tensor(&st, "emb.weight", a2, &err), &err);
    TEST_OK(nn_st_read_tensor(&st, "w \"quoted\"", b2, &err), &err);
    TEST_OK(nn_st_read_tensor(&st, "c", c2, &err), &err);
    TEST_TRUE(memcmp(a->data, a2->data, 5 * 4) == 0);
    TEST_TRUE(memcmp(b->data, b2->data, 21 * 4) == 0);
    TEST_TRUE(memcmp(c->data, c2->data, 24 * 4) == 0);
    nn_st_close(&st);
    nn_tensor_free(a);
    nn_tensor_free(b);
    nn_tensor_free(c);
    nn_tensor_free(a2);
    nn_tensor_free(b2);
    nn_tensor_free(c2);
}

static void test_params_save_load(void) {
    const char *path = bb_test_tmp_path("params.safetensors");
    nn_params *ps = nn_params_new();
    nn_tensor *w = nn_params_add2(ps, "w", 4, 3);
    nn_tensor *bias = nn_params_add1(ps, "b", 3);
    nn_params_finalize(ps);
    bb_rng r;
    bb_rng_seed(&r, 2, "test/st");
    nn_init_xavier_uniform(w, &r);
    nn_init_uniform(bias, &r, -1, 1);
    bb_error err;
    TEST_OK(nn_params_save(ps, path, NULL, &err), &err);
    nn_params *qs = nn_params_new();
    nn_params_add2(qs, "w", 4, 3);
    nn_params_add1(qs, "b", 3);
    nn_params_finalize(qs);
    TEST_OK(nn_params_load(qs, path, &err), &err);
    TEST_TRUE(memcmp(ps->data, qs->data, (size_t)ps->total * 4) == 0);
    /* a registry expecting another shape or a missing name is refused */
    nn_params *bad = nn_params_new();
    nn_params_add2(bad, "w", 3, 4);
    nn_params_finalize(bad);
    TEST_ERR_CONTAINS(nn_params_load(bad, path, &err), &err, "tensor 'w' has shape (4, 3), expected (3, 4)");
    nn_params *missing = nn_params_new();
    nn_params_add1(missing, "gamma", 3);
    nn_params_finalize(missing);
    TEST_ERR_CONTAINS(nn_params_load(missing, path, &err), &err, "no tensor named 'gamma'");
    nn_params_free(ps);
    nn_params_free(qs);
    nn_params_free(bad);
    nn_params_free(missing);
}

static void test_half_precision_reads(void) {
    const char *path = bb_test_tmp_path("half.safetensors");
    /* F16: 1.0, -2.0, 1/3 rounded (0x3555 = 0.333251953125), smallest subnormal 2^-24,
     * max 65504, +inf. BF16: 1.0, 3.140625 (0x4049), -0.5 (0xBF00), 2^-133 subnormal. */
    uint16_t f16[6] = {0x3C00, 0xC000, 0x3555, 0x0001, 0x7BFF, 0x7C00};
    uint16_t bf16[4] = {0x3F80, 0x4049, 0xBF00, 0x0001};
    unsigned char data[20];
    for (int i = 0; i < 6; i++) data[2 * i] = (unsigned char)f16[i], data[2 * i + 1] = (unsigned char)(f16[i] >> 8);
    for (int i = 0; i < 4; i++) data[12 + 2 * i] = (unsigned char)bf16[i], data[13 + 2 * i] = (unsigned char)(bf16[i] >> 8);
    write_raw(path,
              "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
              "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[12,20]}}   ",
              data, 20, 0);
    bb_error err;
    nn_safetensors st;
    TEST_OK(nn_st_open(&st, path, &err), &err);
    float h[6], b[4];
    int64_t sh[2] = {2, 3}, sb[1] = {4};
    TEST_OK(nn_st_read_f32(&st, "h", 2, sh, h, &err), &err);
    TEST_OK(nn_st_read_f32(&st, "b", 1, sb, b, &err), &err);
    TEST_NEAR(h[0], 1.0, 0);
    TEST_NEAR(h[1], -2.0, 0);
    TEST_NEAR(h[2], 0.333251953125, 0);
    TEST_NEAR(h[3], 5.9604644775390625e-08, 0);
    TEST_NEAR(h[4], 65504.0, 0);
    TEST_TRUE(isinf(h[5]) && h[5] > 0);
    TEST_NEAR(b[0], 1.0, 0);
    TEST_NEAR(b[1], 3.140625, 0);
    TEST_NEAR(b[2], -0.5, 0);
    TEST_NEAR(b[3], 9.183549615799121e-41, 1e-50); /* 2^-133 */
    nn_st_close(&st);
    TEST_TRUE(isnan(nn_f16_to_f32(0x7E00)));
    TEST_NEAR(nn_f16_to_f32(0x8400), -6.103515625e-05, 0); /* -2^-14, smallest normal */
}

typedef struct corrupt_case {
    const char *header;
    size_t n_data;
    uint64_t len_override;
    const char *expect;
} corrupt_case;

static void test_corruption_matrix(void) {
    static unsigned char zeros[64];
    const corrupt_case cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, (uint64_t)1 << 40,
         "over the 100000000-byte limit"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 4096,
         "runs past the end"},
        {"x\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0,
         "header is not valid JSON"},
        {"[1, 2, 3]", 0, 0, "header is not a JSON object"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", 8, 0,
         "bytes after the JSON object"},
        {"{\"a\":[1]}", 0, 0, "tensor 'a' is not a JSON object"},
        {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0, "field 'dtype' missing"},
        {"{\"a\":{\"dtype\":\"F31\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0,
         "unknown dtype \"F31\""},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, 0,
         "field 'shape' missing or not an array"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, 0,
         "field 'shape': entry 0"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, 0,
         "field 'shape': entry 0"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, 0, "field 'data_offsets'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, 0,
         "field 'data_offsets'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, 0,
         "end before begin"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, 0,
         "outside the 4-byte buffer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16, 0,
         "16 bytes for 2 elements of F32 (expected 8)"},
        {"{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0,
         "8 bytes for 2 elements of F16 (expected 4)"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, 0,
         "tensors 'a' and 'b' overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20, 0,
         "bytes 8..12 of the buffer belong to no tensor"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, 0,
         "tensors cover 8 bytes, the buffer has 12"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 0,
         "tensor 'a' appears twice"},
        {"{\"__metadata__\":{\"k\":1}}", 0, 0, "'__metadata__' value of 'k' is not a string"},
        {"{\"__metadata__\":[]}", 0, 0, "'__metadata__' is not a JSON object"},
        {"{}", 0, 1, "too small for a JSON object"},
    };
    const char *path = bb_test_tmp_path("bad.safetensors");
    bb_error err;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_raw(path, cases[i].header, zeros, cases[i].n_data, cases[i].len_override);
        nn_safetensors st;
        int rc = nn_st_open(&st, path, &err);
        nn_st_close(&st);
        if (rc == BB_OK) {
            bb_test_fail(__FILE__, __LINE__, "case %zu (%s) opened fine", i, cases[i].expect);
            return;
        }
        if (!strstr(err.msg, cases[i].expect) || !strstr(err.msg, path)) {
            bb_test_fail(__FILE__, __LINE__, "case %zu: message \"%s\" lacks \"%s\" or the path",
                         i, err.msg, cases[i].expect);
            return;
        }
    }
}

static void test_truncation_and_lookup_errors(void) {
    /* bb_test_tmp_path returns a static buffer: keep copies */
    char good[1024], cut[1024], ints[1024];
    snprintf(good, sizeof good, "%s", bb_test_tmp_path("good.safetensors"));
    snprintf(cut, sizeof cut, "%s", bb_test_tmp_path("cut.safetensors"));
    snprintf(ints, sizeof ints, "%s", bb_test_tmp_path("ints.safetensors"));
    nn_tensor *a = nn_tensor_new2(2, 3, 0);
    const char *names[1] = {"a"};
    const nn_tensor *ts[1] = {a};
    bb_error err;
    TEST_OK(nn_st_write(good, names, ts, 1, NULL, &err), &err);
    char *bytes;
    size_t len;
    TEST_OK(bb_read_file(good, &bytes, &len, &err), &err);
    nn_safetensors st;
    /* every truncation point gives an error, never a crash or a success */
    for (size_t keep = 0; keep < len; keep++) {
        FILE *fp = fopen(cut, "wb");
        fwrite(bytes, 1, keep, fp);
        fclose(fp);
        int rc = nn_st_open(&st, cut, &err);
        nn_st_close(&st);
        if (rc == BB_OK) {
            bb_test_fail(__FILE__, __LINE__, "file cut to %zu of %zu bytes opened fine", keep, len);
            free(bytes);
            nn_tensor_free(a);
            return;
        }
        if (keep < 8) TEST_TRUE(strstr(err.msg, "shorter than the 8-byte header length") != NULL);
    }
    free(bytes);
    TEST_ERR_CONTAINS(nn_st_open(&st, bb_test_tmp_path("absent.safetensors"), &err), &err,
                      "cannot open");
    nn_st_close(&st);
    TEST_OK(nn_st_open(&st, good, &err), &err);
    float buf[6];
    int64_t want[2] = {3, 2};
    TEST_ERR_CONTAINS(nn_st_read_f32(&st, "b", 0, NULL, buf, &err), &err, "no tensor named 'b'");
    TEST_ERR_CONTAINS(nn_st_read_f32(&st, "a", 2, want, buf, &err), &err,
                      "tensor 'a' has shape (2, 3), expected (3, 2)");
    TEST_TRUE(strstr(err.msg, good) != NULL);
    nn_st_close(&st);
    /* integer tensors are listed but cannot be read as floats */
    int32_t iv[2] = {1, 2};
    write_raw(ints, "{\"pos\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", iv, 8, 0);
    TEST_OK(nn_st_open(&st, ints, &err), &err);
    TEST_ERR_CONTAINS(nn_st_read_f32(&st, "pos", 0, NULL, buf, &err), &err,
                      "dtype I32; only F32, F16 and BF16");
    nn_st_close(&st);
    /* a write that cannot happen fails cleanly and leaves no file */
    TEST_ERR_CONTAINS(nn_st_write(bb_test_tmp_path("no/such/dir/x.safetensors"), names, ts, 1,
                                  NULL, &err), &err, "no/such/dir");
    const char *dup[2] = {"a", "a"};
    const nn_tensor *ts2[2] = {a, a};
    TEST_ERR_CONTAINS(nn_st_write(good, dup, ts2, 2, NULL, &err), &err, "repeated");
    nn_tensor_free(a);
}

const bb_test bb_suite_nn_safetensors[] = {
    {"round_trip", test_round_trip},
    {"params_save_load", test_params_save_load},
    {"half_precision_reads", test_half_precision_reads},
    {"corruption_matrix", test_corruption_matrix},
    {"truncation_and_lookup_errors", test_truncation_and_lookup_errors},
    {NULL, NULL},
};
