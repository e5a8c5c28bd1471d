/* Tests of the stage-1 artifacts BEAT stage 2 reads (models/beat/beat_explain_beat.h:
 * beat_tokens_load / beat_tokens_probe) and of train_log.csv (beat_explain_log.h):
 * the reader's errors naming file, line and field; runs of the stage-1 ablations (no_macro,
 * no_micro: empty token fields; continuous: the kinds from the metadata, the vectors from
 * continuous.safetensors in their documented shapes); stage 1 writing the continuous vectors
 * (beat_run_io.c) that rebuild the behaviour vectors it ranks with; the train log's text by
 * hand, its epoch observer and its reader. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/ranking.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_explain_beat.h"
#include "models/beat/beat_explain_log.h"
#include "models/beat/beat_run_internal.h"
#include "models/beat/beat_stage1.h"
#include "models/nn/nn.h"
#include "models/nn/nn_safetensors.h"
#include "tests/testhelp.h"

/* ------------------------------------------------------------------------------------------
 * Stage-1 artifacts */

static int write_text(const char *path, const char *text) {
    bb_error err;
    return bb_write_file_atomic(path, text, strlen(text), &err);
}

static void write_codebooks(const char *dir, int with_item_micro) {
    nn_tensor *cb = nn_tensor_new2(3, 2, 0);
    for (int k = 0; k < 6; k++) cb->data[k] = (float)k;
    const char *names[4] = {"user_macro_codebook", "user_micro_codebook", "item_macro_codebook",
                            "item_micro_codebook"};
    const nn_tensor *ts[4] = {cb, cb, cb, cb};
    const char *meta[] = {"token_len", "2", "codebook_size", "3", "d", "2", NULL};
    char *path = bb_path_join(dir, "codebooks.safetensors");
    bb_error err;
    nn_st_write(path, names, ts, with_item_micro ? 4 : 3, meta, &err);
    free(path);
    nn_tensor_free(cb);
}

static void test_tokens_load_and_errors(void) {
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", bb_test_tmp_path("stage1_fake"));
    bb_error err;
    TEST_OK(bb_mkdir_p(dir, &err), &err);
    write_codebooks(dir, 1);
    char path[1200];
    snprintf(path, sizeof path, "%s/tokens.csv", dir);
    write_text(path, "kind,id,macro,micro_1,micro_2\nuser,0,1,2,0\nuser,1,0,0,1\nitem,0,2,1,1\n");
    beat_tokens tk;
    TEST_OK(beat_tokens_load(dir, &tk, &err), &err);
    TEST_EQ_INT(tk.T, 2);
    TEST_EQ_INT(tk.K, 3);
    TEST_EQ_INT(tk.n_users, 2);
    TEST_EQ_INT(tk.n_items, 1);
    TEST_EQ_INT(tk.user[3 * 1 + 2], 1);
    TEST_EQ_INT(tk.item[0], 2);
    TEST_NEAR(tk.codebook[3][5], 5.0, 0);
    beat_tokens_free(&tk);
    write_text(path, "kind,id,macro,micro_1,micro_2\nuser,0,,2,0\nitem,0,2,1,1\n");
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "tokens.csv:2: field 'macro': empty");
    write_text(path, "kind,id,macro,micro_1,micro_2\nuser,0,1,3,0\nitem,0,2,1,1\n");
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "field 'micro_1': code 3 is beyond the codebook size 3");
    write_text(path, "kind,id,macro,micro_1,micro_2\nuser,1,1,1,0\n");
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "field 'id': expected user 0 next");
    write_text(path, "kind,id,macro,micro_1\nuser,0,1,1\n");
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "wrong header");
    write_codebooks(dir, 0);
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "no tensor 'item_micro_codebook'");
}

/* Writes DIR/NAME with tensors names[k] of shapes shapes[k] (ndims[k] dims, values 10 k +
 * their index) and the metadata. */
static void write_st(const char *dir, const char *name, int n, const char *const *names,
                     const int *ndims, const int64_t (*shapes)[3], const char *const *meta) {
    nn_tensor *ts[8];
    for (int k = 0; k < n; k++) {
        ts[k] = nn_tensor_new(ndims[k], shapes[k], 0);
        for (int64_t e = 0; e < ts[k]->numel; e++) ts[k]->data[e] = (float)(10 * k + e);
    }
    char *path = bb_path_join(dir, name);
    bb_error err;
    if (nn_st_write(path, names, (const nn_tensor *const *)ts, n, meta, &err) != BB_OK)
        fprintf(stderr, "    write %s: %s\n", path, err.msg);
    free(path);
    for (int k = 0; k < n; k++) nn_tensor_free(ts[k]);
}

static void test_tokens_load_ablations(void) {
    char dir[1100], path[1200];
    snprintf(dir, sizeof dir, "%s", bb_test_tmp_path("stage1_ablations"));
    bb_error err;
    TEST_OK(bb_mkdir_p(dir, &err), &err);
    snprintf(path, sizeof path, "%s/tokens.csv", dir);
    const char *meta[] = {"token_len", "2", "codebook_size", "3", "d", "2", NULL};
    const int two[2] = {2, 2};
    const int64_t cb_shape[2][3] = {{3, 2}, {3, 2}};
    beat_tokens tk;
    /* no_macro: micro codebooks only, empty macro fields */
    const char *micro_names[2] = {"user_micro_codebook", "item_micro_codebook"};
    write_st(dir, "codebooks.safetensors", 2, micro_names, two, cb_shape, meta);
    write_text(path, "kind,id,macro,micro_1,micro_2\nuser,0,,2,0\nuser,1,,0,1\nitem,0,,1,2\n");
    TEST_OK(beat_tokens_load(dir, &tk, &err), &err);
    TEST_EQ_INT(tk.has_macro, 0);
    TEST_EQ_INT(tk.has_micro, 1);
    TEST_EQ_INT(tk.continuous, 0);
    TEST_EQ_INT(beat_tokens_slots(&tk), 2);
    TEST_EQ_INT(tk.n_users, 2);
    TEST_EQ_INT(tk.user[3], -1);
    TEST_EQ_INT(tk.user[4], 0);
    TEST_EQ_INT(tk.item[2], 2);
    TEST_TRUE(tk.codebook[0] == NULL && tk.codebook[2] == NULL);
    TEST_NEAR(tk.codebook[3][5], 15.0, 0); /* tensor 1, element 5 */
    beat_tokens_free(&tk);
    write_text(path, "kind,id,macro,micro_1,micro_2\nuser,0,1,2,0\nitem,0,,1,2\n");
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err,
                      "tokens.csv:2: field 'macro': expected empty (the run has no macro codebook)");
    /* no_micro: macro codebooks only */
    const char *macro_names[2] = {"user_macro_codebook", "item_macro_codebook"};
    write_st(dir, "codebooks.safetensors", 2, macro_names, two, cb_shape, meta);
    write_text(path, "kind,id,macro,micro_1,micro_2\nuser,0,1,,\nitem,0,2,,\nitem,1,0,,\n");
    TEST_OK(beat_tokens_load(dir, &tk, &err), &err);
    TEST_EQ_INT(beat_tokens_slots(&tk), 1);
    TEST_EQ_INT(tk.n_items, 2);
    TEST_EQ_INT(tk.item[3], 0);
    TEST_EQ_INT(tk.item[4], -1);
    beat_tokens_free(&tk);
    /* continuous: the kinds from the metadata, the vectors from continuous.safetensors */
    const char *cmeta[] = {"token_len", "2", "codebook_size", "3", "d", "2", "macro", "1",
                           "micro", "1", "continuous", "1", NULL};
    const char *map_name[1] = {"user_macro_map"};
    const int one_dim[1] = {2};
    const int64_t map_shape[1][3] = {{4, 2}};
    write_st(dir, "codebooks.safetensors", 1, map_name, one_dim, map_shape, cmeta);
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "continuous.safetensors: not found");
    const char *vec_names[4] = {"user_macro", "user_micro", "item_macro", "item_micro"};
    const int vec_dims[4] = {2, 3, 2, 3};
    const int64_t vec_shapes[4][3] = {{2, 2}, {2, 2, 2}, {1, 2}, {1, 2, 2}};
    write_st(dir, "continuous.safetensors", 4, vec_names, vec_dims, vec_shapes, NULL);
    TEST_OK(beat_tokens_load(dir, &tk, &err), &err);
    TEST_EQ_INT(tk.continuous, 1);
    TEST_EQ_INT(beat_tokens_slots(&tk), 3);
    TEST_EQ_INT(tk.n_users, 2);
    TEST_EQ_INT(tk.n_items, 1);
    TEST_TRUE(tk.user == NULL && tk.codebook[0] == NULL);
    TEST_NEAR(tk.macro_vec[0][3], 3.0, 0);
    TEST_NEAR(tk.micro_vec[0][7], 17.0, 0);
    TEST_NEAR(tk.micro_vec[1][2], 32.0, 0);
    beat_tokens_free(&tk);
    /* the file must hold what the metadata says, in the documented shapes */
    write_st(dir, "continuous.safetensors", 2, (const char *const[]){"user_macro", "item_macro"},
             (const int[]){2, 2}, (const int64_t[][3]){{2, 2}, {1, 2}}, NULL);
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err,
                      "holds macro vectors but the codebooks' metadata says macro 1, micro 1");
    const int64_t bad_t[4][3] = {{2, 2}, {2, 3, 2}, {1, 2}, {1, 2, 2}};
    write_st(dir, "continuous.safetensors", 4, vec_names, vec_dims, bad_t, NULL);
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err,
                      "tensor 'user_micro': expected shape (n, token_len, 2)");
    const int64_t bad_n[4][3] = {{2, 2}, {3, 2, 2}, {1, 2}, {1, 2, 2}};
    write_st(dir, "continuous.safetensors", 4, vec_names, vec_dims, bad_n, NULL);
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "tensor 'user_micro' has 3 rows but the macro tensor 2");
    /* an older continuous run: no codebooks and no metadata to say so */
    write_st(dir, "codebooks.safetensors", 1, map_name, one_dim, map_shape, meta);
    TEST_ERR_CONTAINS(beat_tokens_load(dir, &tk, &err), &err, "no codebooks and no 'continuous' metadata");
}

/* ------------------------------------------------------------------------------------------
 * Stage 1 writes the continuous vectors (beat_run_io.c): on a tiny continuous model, the
 * file's vectors rebuild the behaviour vectors the model ranks with, rec = micro + macro
 * repeated (beat_recon.h), and every row is unit length. */

static void check_continuous_written(int no_macro) {
    enum { NU = 9, NI = 7, NP = 30 };
    int32_t tu[NP], ti[NP];
    for (int p = 0; p < NP; p++) tu[p] = p % NU, ti[p] = (2 * p + p / NU) % NI;
    bb_rank_lists lists;
    bb_error err;
    TEST_OK(bb_rank_lists_build(&lists, NU, NI, tu, ti, NP, &err), &err);
    beat_config cfg;
    beat_config_default(&cfg);
    cfg.token_len = 3, cfg.token_dim = 4, cfg.codebook_size = 5, cfg.batch = NP, cfg.heads = 2;
    cfg.continuous = 1, cfg.no_macro = no_macro, cfg.no_macro_sup = 1, cfg.no_micro_sup = 1;
    const int T = 3, d = 8;
    beat_model m;
    TEST_OK(beat_model_init(&m, &cfg, 5, 1, NU, NI, tu, ti, NP, &lists, NULL, d, &err), &err);
    beat_train_epoch(&m, 1, NULL); /* maps and ego rows away from their initial values */
    beat_run_state st;
    beat_run_state_init(&st, &m);
    beat_encode_all(&m, st.rec, st.tokens);
    beat_run_result res;
    memset(&res, 0, sizeof res);
    beat_run_usage(&m, &st, &res);
    beat_inputs in;
    memset(&in, 0, sizeof in);
    beat_run_opts o = {.data_dir = "in-memory", .seed = 5, .threads = 1, .version = "test"};
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", bb_test_tmp_path(no_macro ? "stage1_cont_nomacro" : "stage1_cont"));
    bb_remove_tree(dir);
    TEST_OK(beat_run_write(dir, &cfg, &o, &in, &m, &st, &res, &err), &err);
    beat_tokens tk;
    TEST_OK(beat_tokens_load(dir, &tk, &err), &err);
    TEST_EQ_INT(tk.continuous, 1);
    TEST_EQ_INT(tk.has_macro, !no_macro);
    TEST_EQ_INT(beat_tokens_slots(&tk), no_macro ? T : 1 + T);
    TEST_EQ_INT(tk.n_users, NU);
    TEST_EQ_INT(tk.n_items, NI);
    double worst_rec = 0, worst_norm = 0;
    for (int s = 0; s < 2; s++)
        for (int e = 0; e < (s ? NI : NU); e++) {
            const float *rec = st.rec[s] + (size_t)e * T * d;
            for (int k = 0; k < T; k++) {
                const float *mic = tk.micro_vec[s] + ((size_t)e * T + k) * d;
                const float *mac = no_macro ? NULL : tk.macro_vec[s] + (size_t)e * d;
                double nm = 0, na = 0;
                for (int c = 0; c < d; c++) {
                    const double want = mic[c] + (mac ? mac[c] : 0.0f);
                    worst_rec = fmax(worst_rec, fabs(rec[k * d + c] - want));
                    nm += (double)mic[c] * mic[c];
                    if (mac) na += (double)mac[c] * mac[c];
                }
                worst_norm = fmax(worst_norm, fabs(sqrt(nm) - 1));
                if (mac) worst_norm = fmax(worst_norm, fabs(sqrt(na) - 1));
            }
        }
    if (!(worst_rec < 1e-5)) fprintf(stderr, "    rec vs stored vectors: %g\n", worst_rec);
    TEST_TRUE(worst_rec < 1e-5);
    TEST_TRUE(worst_norm < 1e-5);
    beat_tokens_free(&tk);
    beat_run_state_free(&st);
    beat_model_free(&m);
    bb_rank_lists_free(&lists);
}

static void test_stage1_writes_continuous_vectors(void) {
    check_continuous_written(0);
    check_continuous_written(1);
}

/* ------------------------------------------------------------------------------------------
 * train_log.csv (beat_explain_log.h) */

static void test_train_log_format_and_read(void) {
    /* the text, by hand: 17 digits, "nan" for a missing valid_loss, seconds to the microsecond */
    beat_train_log l = {0};
    beat_train_log_add(&l, 2.5, 1.25, 0.5);
    beat_train_log_add(&l, 0.1, NAN, 12.0000004);
    size_t len;
    char *text = beat_train_log_csv(&l, &len);
    TEST_STR_EQ(text, "epoch,train_loss,valid_loss,seconds\n1,2.5,1.25,0.500000\n"
                      "2,0.10000000000000001,nan,12.000000\n");
    TEST_EQ_INT(len, strlen(text));
    free(text);
    /* three epochs, the last without validation */
    beat_train_log o = {0};
    beat_train_log_add(&o, 2.0, 2.0, 0.25);
    beat_train_log_add(&o, 2.5 / 3, 4.0 / 6, 0.5);
    beat_train_log_add(&o, 7.0, NAN, 0.75);
    /* written atomically into a directory and read back bit for bit */
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", bb_test_tmp_path("train_log"));
    bb_error err;
    TEST_OK(bb_mkdir_p(dir, &err), &err);
    TEST_OK(beat_train_log_write(dir, &o, &err), &err);
    char *path = bb_path_join(dir, "train_log.csv");
    beat_train_log back;
    TEST_OK(beat_train_log_read(path, &back, &err), &err);
    TEST_EQ_INT(back.n, 3);
    TEST_TRUE(memcmp(&back.rows[1].valid_loss, &o.rows[1].valid_loss, sizeof(double)) == 0);
    TEST_TRUE(memcmp(&back.rows[1].train_loss, &o.rows[1].train_loss, sizeof(double)) == 0);
    TEST_TRUE(isnan(back.rows[2].valid_loss));
    beat_train_log_free(&back);
    write_text(path, "epoch,train_loss,valid_loss,seconds\n1,2,,0.5\n");
    TEST_OK(beat_train_log_read(path, &back, &err), &err); /* an empty valid_loss is absent too */
    TEST_TRUE(back.n == 1 && isnan(back.rows[0].valid_loss));
    beat_train_log_free(&back);
    write_text(path, "epoch,train_loss,valid_loss,seconds\n1,2,1,0.5\n3,2,1,0.5\n");
    TEST_ERR_CONTAINS(beat_train_log_read(path, &back, &err), &err, "train_log.csv:3: field 'epoch': expected 2");
    write_text(path, "epoch,train_loss,valid_loss,seconds\n1,x,1,0.5\n");
    TEST_ERR_CONTAINS(beat_train_log_read(path, &back, &err), &err, "field 'train_loss': expected a finite number");
    free(path);
    beat_train_log_free(&o);
    beat_train_log_free(&l);
}

const bb_test bb_suite_explain_beat_io[] = {
    {"tokens_load_and_errors", test_tokens_load_and_errors},
    {"tokens_load_ablations", test_tokens_load_ablations},
    {"stage1_writes_continuous_vectors", test_stage1_writes_continuous_vectors},
    {"train_log_format_and_read", test_train_log_format_and_read},
    {NULL, NULL},
};
