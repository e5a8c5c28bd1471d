/* rank_run — load, train, select on valid, evaluate test, write the run directory.
 * Protocol, legal inputs, errors and outputs in rank_run.h. */
#include "baselines/rank_run.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/pop.h"
#include "datasets/dataset.h"
#include "models/base/bb_hash.h"
#include "models/base/bb_io.h"
#include "models/base/bb_json.h"
#include "models/base/bb_time.h"
#include "models/nn/nn_safetensors.h"

void rank_run_config_default(rank_run_config *c) {
    memset(c, 0, sizeof *c);
    c->model = RANK_MODEL_LIGHTGCN;
    c->epochs = 100;
    c->dim = 64;
    c->layers = 2;
    c->lr = 1e-3;
    c->reg = 1e-4;
    c->batch = 2048;
    c->eval_every = 1;
    c->patience = 5;
    c->ks[0] = 10, c->ks[1] = 20, c->ks[2] = 50, c->n_ks = 3;
    c->mask = RANK_MASK_TRAIN;
    c->reg_on = BPR_REG_FINAL;
    c->threads = 1;
    c->version = "unknown";
}

static const char *const model_names[] = {"pop", "mf", "lightgcn"};

int rank_model_parse(const char *name, rank_model *out) {
    for (int m = 0; m < 3; m++)
        if (name && strcmp(name, model_names[m]) == 0) {
            *out = (rank_model)m;
            return BB_OK;
        }
    return BB_ERR;
}

const char *rank_model_name(rank_model m) { return model_names[m]; }

void rank_run_result_free(rank_run_result *res) {
    if (!res) return;
    bb_rank_result_free(&res->valid);
    bb_rank_result_free(&res->test);
    free(res->epoch_seconds);
    memset(res, 0, sizeof *res);
}

/* Quiet with BB_QUIET=1, like bb_progress. */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...) {
    const char *q = getenv("BB_QUIET");
    if (q && *q && strcmp(q, "0") != 0) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------------------------
 * Checks and data */

int rank_run_check_config(const rank_run_config *c, bb_error *err) {
    if (!c->data_dir) return bb_fail(err, "--data: no dataset directory given");
    if (c->n_ks < 1 || c->n_ks > BB_RANK_MAX_KS)
        return bb_fail(err, "--topk: between 1 and %d cut-offs K needed, got %d", BB_RANK_MAX_KS,
                       c->n_ks);
    for (int i = 0; i < c->n_ks; i++)
        if (c->ks[i] <= 0) return bb_fail(err, "--topk: cut-off K must be positive, got %d", c->ks[i]);
    if (c->model == RANK_MODEL_POP) return BB_OK;
    if (c->epochs < 1) return bb_fail(err, "--epochs must be at least 1, got %d", c->epochs);
    if (c->batch < 1) return bb_fail(err, "--batch must be at least 1, got %d", c->batch);
    if (c->dim < 1) return bb_fail(err, "--dim must be at least 1, got %d", c->dim);
    if (c->layers < 0) return bb_fail(err, "--layers must be >= 0, got %d", c->layers);
    if (c->eval_every < 1)
        return bb_fail(err, "--eval-every must be at least 1, got %d", c->eval_every);
    if (c->patience < 1)
        return bb_fail(err, "--patience must be at least 1, got %d", c->patience);
    if (!(c->lr > 0)) return bb_fail(err, "--lr must be positive, got %g", c->lr);
    if (!(c->reg >= 0)) return bb_fail(err, "--reg must be >= 0, got %g", c->reg);
    return BB_OK;
}

int rank_run_data_hash(const char *dir, uint64_t *hash, bb_error *err) {
    uint64_t h = BB_HASH_INIT;
    for (int k = 0; k < 3; k++) {
        char *path = bb_path_join(dir, bb_dataset_split_file(k));
        int rc = bb_hash_file(path, &h, err);
        free(path);
        if (rc != BB_OK) return BB_ERR;
    }
    *hash = h;
    return BB_OK;
}

typedef struct run_data {
    bb_dataset ds;
    bb_rank_lists train, valid, test;
} run_data;

static void run_data_free(run_data *d) {
    bb_rank_lists_free(&d->train);
    bb_rank_lists_free(&d->valid);
    bb_rank_lists_free(&d->test);
    bb_dataset_free(&d->ds);
}

static int load_data(const char *dir, run_data *d, bb_error *err) {
    memset(d, 0, sizeof *d);
    if (bb_dataset_load(dir, &d->ds, err) != BB_OK) return BB_ERR;
    const bb_dataset *ds = &d->ds;
    char *path = NULL;
    int rc = BB_OK;
    if (ds->valid.n == 0) {
        path = bb_path_join(dir, "valid.csv");
        rc = bb_fail(err, "%s: no validation pairs: rank selects the epoch on them", path);
    } else if (ds->test.n == 0) {
        path = bb_path_join(dir, "test.csv");
        rc = bb_fail(err, "%s: no test pairs: nothing to evaluate", path);
    }
    free(path);
    if (rc == BB_OK)
        rc = bb_rank_lists_build(&d->train, ds->n_users, ds->n_items, ds->train.user,
                                 ds->train.item, ds->train.n, err);
    if (rc == BB_OK)
        rc = bb_rank_lists_build(&d->valid, ds->n_users, ds->n_items, ds->valid.user,
                                 ds->valid.item, ds->valid.n, err);
    if (rc == BB_OK)
        rc = bb_rank_lists_build(&d->test, ds->n_users, ds->n_items, ds->test.user,
                                 ds->test.item, ds->test.n, err);
    if (rc != BB_OK) run_data_free(d);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Evaluation helpers */

static void eval_options(const rank_run_config *c, const run_data *d, int for_test,
                         bb_rank_options *opt) {
    bb_rank_options_default(opt);
    memcpy(opt->ks, c->ks, sizeof opt->ks);
    opt->n_ks = c->n_ks;
    opt->threads = c->threads;
    opt->mask[0] = &d->train;
    if (for_test && c->mask == RANK_MASK_TRAIN_VALID) opt->mask[1] = &d->valid;
}

static int selection_k_index(const rank_run_config *c) {
    for (int i = 0; i < c->n_ks; i++)
        if (c->ks[i] == 20) return i;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    if (n <= 0) return 0.0;
    double *s = bb_malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

/* ------------------------------------------------------------------------------------------
 * Training with validation-based selection */

typedef struct train_state {
    float *best;       /* (n_nodes, d) final embeddings at the best evaluation; owned */
    FILE *valid_rows;  /* metrics.csv rows of every validation pass (memory stream) */
    char *valid_buf;
    size_t valid_len;
} train_state;

static int train_bpr(const rank_run_config *c, const run_data *d, rank_run_result *res,
                     train_state *st, bb_error *err) {
    const bb_dataset *ds = &d->ds;
    bpr_config bc;
    bpr_config_default(&bc, c->model == RANK_MODEL_MF ? BPR_MF : BPR_LIGHTGCN);
    bc.dim = c->dim;
    bc.layers = c->layers;
    bc.batch = c->batch;
    bc.lr = c->lr;
    bc.reg = c->reg;
    bc.reg_on = c->reg_on;
    bc.seed = c->seed;
    bc.threads = c->threads;
    bpr_model m;
    if (bpr_model_init(&m, &bc, ds->n_users, ds->n_items, ds->train.user, ds->train.item,
                       ds->train.n, &d->train, err) != BB_OK)
        return BB_ERR;
    const int d_ = c->dim;
    const size_t cells = (size_t)m.n_nodes * (size_t)d_;
    st->best = bb_malloc(cells * sizeof(float) + 1);
    res->epoch_seconds = bb_calloc((size_t)c->epochs + 1, sizeof *res->epoch_seconds);
    const int sel = selection_k_index(c);
    double best_value = -1.0;
    int evals_without_gain = 0;
    bb_rank_options vopt;
    eval_options(c, d, 0, &vopt);
    int rc = BB_OK;
    for (int epoch = 1; epoch <= c->epochs; epoch++) {
        char label[96];
        snprintf(label, sizeof label, "%s epoch %d/%d", rank_model_name(c->model), epoch,
                 c->epochs);
        double t0 = bb_now();
        bpr_train_epoch(&m, epoch, label);
        res->epoch_seconds[epoch - 1] = bb_now() - t0;
        res->epochs_run = epoch;
        if (epoch % c->eval_every != 0 && epoch != c->epochs) continue;
        bpr_model_compute_final(&m);
        bb_rank_scorer sc = {ds->n_items, m.final, m.final + (size_t)ds->n_users * d_, d_,
                             NULL, NULL};
        bb_rank_result vr;
        if ((rc = bb_rank_evaluate(&sc, &d->valid, &vopt, &vr, err)) != BB_OK) break;
        bb_rank_write_metrics_csv(st->valid_rows, epoch, "valid", &vr);
        double value = vr.mean[sel][BB_RANK_RECALL];
        if (value > best_value) {
            best_value = value;
            res->best_epoch = epoch;
            memcpy(st->best, m.final, cells * sizeof(float));
            bb_rank_result_free(&res->valid);
            res->valid = vr;
            evals_without_gain = 0;
        } else {
            bb_rank_result_free(&vr);
            evals_without_gain++;
        }
        note("%s epoch %d: valid recall@%d %.4f (best %.4f at epoch %d)\n",
             rank_model_name(c->model), epoch, c->ks[sel], value, best_value, res->best_epoch);
        if (evals_without_gain >= c->patience) {
            note("%s: no gain in %d evaluations, stopping after epoch %d\n",
                 rank_model_name(c->model), c->patience, epoch);
            break;
        }
    }
    if (rc == BB_OK) {
        bb_rank_options topt;
        eval_options(c, d, 1, &topt);
        bb_rank_scorer sc = {ds->n_items, st->best, st->best + (size_t)ds->n_users * d_, d_,
                             NULL, NULL};
        rc = bb_rank_evaluate(&sc, &d->test, &topt, &res->test, err);
    }
    res->seconds_per_epoch = median(res->epoch_seconds, res->epochs_run);
    bpr_model_free(&m);
    return rc;
}

static int run_pop(const rank_run_config *c, const run_data *d, rank_run_result *res,
                   train_state *st, bb_error *err) {
    bb_pop pop;
    bb_pop_fit(&pop, d->ds.n_items, d->ds.train.item, d->ds.train.n);
    bb_rank_scorer sc;
    bb_pop_scorer(&pop, &sc);
    bb_rank_options opt;
    eval_options(c, d, 0, &opt);
    int rc = bb_rank_evaluate(&sc, &d->valid, &opt, &res->valid, err);
    if (rc == BB_OK) {
        bb_rank_write_metrics_csv(st->valid_rows, 0, "valid", &res->valid);
        eval_options(c, d, 1, &opt);
        rc = bb_rank_evaluate(&sc, &d->test, &opt, &res->test, err);
    }
    bb_pop_free(&pop);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Run directory */

static int write_metrics(const char *dir, const rank_run_result *res, const train_state *st,
                         bb_error *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    BB_ASSERT(fp, "rank: open_memstream failed");
    fprintf(fp, "epoch,split,metric,k,value\n");
    fwrite(st->valid_buf, 1, st->valid_len, fp);
    bb_rank_write_metrics_csv(fp, res->best_epoch, "test", &res->test);
    fclose(fp);
    int rc = bb_write_in_dir(dir, "metrics.csv", buf, len, err);
    free(buf);
    if (rc != BB_OK) return rc;
    fp = open_memstream(&buf, &len);
    BB_ASSERT(fp, "rank: open_memstream failed");
    bb_rank_write_per_user_header(fp);
    bb_rank_write_per_user_csv(fp, "valid", &res->valid);
    bb_rank_write_per_user_csv(fp, "test", &res->test);
    fclose(fp);
    rc = bb_write_in_dir(dir, "per_user.csv", buf, len, err);
    free(buf);
    return rc;
}

static int write_embeddings(const char *dir, const rank_run_config *c, const run_data *d,
                            const train_state *st, bb_error *err) {
    nn_tensor user, item;
    memset(&user, 0, sizeof user);
    memset(&item, 0, sizeof item);
    int64_t us[2] = {d->ds.n_users, c->dim}, is[2] = {d->ds.n_items, c->dim};
    nn_tensor_set_shape(&user, 2, us);
    nn_tensor_set_shape(&item, 2, is);
    user.data = st->best;
    item.data = st->best + (size_t)d->ds.n_users * (size_t)c->dim;
    const char *names[2] = {"user_emb", "item_emb"};
    const nn_tensor *tensors[2] = {&user, &item};
    char seed[32];
    snprintf(seed, sizeof seed, "%" PRIu64, c->seed);
    const char *meta[] = {"model", rank_model_name(c->model), "seed", seed, "beatbench",
                          c->version, "embeddings", "final (mean of layers 0..L)", NULL};
    char *path = bb_path_join(dir, "embeddings.safetensors");
    int rc = nn_st_write(path, names, tensors, 2, meta, err);
    free(path);
    return rc;
}

static cJSON *ks_array(const rank_run_config *c) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < c->n_ks; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(c->ks[i]));
    return a;
}

static int write_manifest(const char *dir, const rank_run_config *c, const run_data *d,
                          const rank_run_result *res, bb_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "command", "rank");
    cJSON_AddStringToObject(root, "version", c->version);
    cJSON_AddStringToObject(root, "model", rank_model_name(c->model));
    char seed[32], hash[32];
    snprintf(seed, sizeof seed, "%" PRIu64, c->seed);
    snprintf(hash, sizeof hash, "fnv1a64:%016" PRIx64, res->data_hash);
    cJSON_AddStringToObject(root, "seed", seed);
    cJSON *cfg = cJSON_AddObjectToObject(root, "config");
    cJSON_AddNumberToObject(cfg, "epochs", c->epochs);
    cJSON_AddNumberToObject(cfg, "dim", c->dim);
    cJSON_AddNumberToObject(cfg, "layers", c->layers);
    cJSON_AddNumberToObject(cfg, "lr", c->lr);
    cJSON_AddNumberToObject(cfg, "reg", c->reg);
    cJSON_AddNumberToObject(cfg, "batch", c->batch);
    cJSON_AddNumberToObject(cfg, "eval_every", c->eval_every);
    cJSON_AddNumberToObject(cfg, "patience", c->patience);
    cJSON_AddItemToObject(cfg, "topk", ks_array(c));
    cJSON_AddStringToObject(cfg, "mask", c->mask == RANK_MASK_TRAIN ? "train" : "train+valid");
    cJSON_AddStringToObject(cfg, "reg_on", c->reg_on == BPR_REG_FINAL ? "final" : "ego");
    cJSON_AddNumberToObject(cfg, "threads", c->threads);
    cJSON_AddStringToObject(cfg, "selection", "valid recall@K (K = 20, else the first K)");
    cJSON *data = cJSON_AddObjectToObject(root, "data");
    cJSON_AddStringToObject(data, "dir", c->data_dir);
    cJSON_AddStringToObject(data, "hash", hash);
    cJSON_AddNumberToObject(data, "n_users", d->ds.n_users);
    cJSON_AddNumberToObject(data, "n_items", d->ds.n_items);
    cJSON_AddNumberToObject(data, "n_train", (double)d->ds.train.n);
    cJSON_AddNumberToObject(data, "n_valid", (double)d->ds.valid.n);
    cJSON_AddNumberToObject(data, "n_test", (double)d->ds.test.n);
    cJSON_AddNumberToObject(data, "duplicates_dropped", (double)d->ds.duplicates_dropped);
    cJSON *out = cJSON_AddObjectToObject(root, "result");
    cJSON_AddNumberToObject(out, "epochs_run", res->epochs_run);
    cJSON_AddNumberToObject(out, "best_epoch", res->best_epoch);
    cJSON_AddNumberToObject(out, "valid_users", res->valid.n_users);
    cJSON_AddNumberToObject(out, "test_users", res->test.n_users);
    cJSON *tm = cJSON_AddObjectToObject(root, "timings");
    cJSON_AddNumberToObject(tm, "seconds_per_epoch", res->seconds_per_epoch);
    cJSON *ep = cJSON_AddArrayToObject(tm, "epoch_seconds");
    for (int e = 0; e < res->epochs_run; e++)
        cJSON_AddItemToArray(ep, cJSON_CreateNumber(res->epoch_seconds[e]));
    cJSON_AddNumberToObject(tm, "eval_seconds", res->eval_seconds);
    cJSON_AddNumberToObject(tm, "total_seconds", res->total_seconds);
    cJSON_AddNumberToObject(root, "peak_rss_mb", res->peak_rss_mb);
    int rc = bb_json_write_in_dir(dir, "manifest.json", root, err);
    cJSON_Delete(root);
    return rc;
}

static int write_run_dir(const rank_run_config *c, const run_data *d,
                         const rank_run_result *res, const train_state *st, bb_error *err) {
    bb_stage_dir sd;
    if (bb_stage_dir_begin(&sd, c->out_dir, err) != BB_OK) return BB_ERR;
    int rc = write_metrics(sd.staging, res, st, err);
    if (rc == BB_OK && st->best) rc = write_embeddings(sd.staging, c, d, st, err);
    if (rc == BB_OK) rc = write_manifest(sd.staging, c, d, res, err);
    if (rc != BB_OK) {
        bb_stage_dir_abort(&sd);
        return BB_ERR;
    }
    return bb_stage_dir_commit(&sd, err);
}

/* ------------------------------------------------------------------------------------------ */

int rank_run_execute(const rank_run_config *c, rank_run_result *res, bb_error *err) {
    memset(res, 0, sizeof *res);
    res->model = c->model;
    if (rank_run_check_config(c, err) != BB_OK) return BB_ERR;
    double t0 = bb_now();
    if (rank_run_data_hash(c->data_dir, &res->data_hash, err) != BB_OK) return BB_ERR;
    run_data d;
    if (load_data(c->data_dir, &d, err) != BB_OK) return BB_ERR;
    train_state st;
    memset(&st, 0, sizeof st);
    st.valid_rows = open_memstream(&st.valid_buf, &st.valid_len);
    BB_ASSERT(st.valid_rows, "rank: open_memstream failed");
    int rc = c->model == RANK_MODEL_POP ? run_pop(c, &d, res, &st, err)
                                        : train_bpr(c, &d, res, &st, err);
    fclose(st.valid_rows);
    if (rc == BB_OK) {
        res->eval_seconds = res->test.seconds;
        res->total_seconds = bb_now() - t0;
        res->peak_rss_mb = bb_peak_rss_mb();
        if (c->out_dir) rc = write_run_dir(c, &d, res, &st, err);
    }
    free(st.valid_buf);
    free(st.best);
    run_data_free(&d);
    if (rc != BB_OK) {
        rank_run_result_free(res);
        return BB_ERR;
    }
    return BB_OK;
}
