/* text_score — all text metrics over a list of pairs. See text_score.h. */
#include "metrics/text_score.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/diversity.h"
#include "metrics/ngram_count.h"
#include "metrics/text_vocab.h"
#include "metrics/text_tokenize.h"
#include "models/base/bb_io.h"

text_score_options text_score_defaults(void) {
    text_score_options o;
    memset(&o, 0, sizeof o);
    o.tokenizer = TOKENIZER_TREEBANK;
    o.smoothing = BLEU_SMOOTH_METHOD1;
    o.threads = 1;
    return o;
}

void text_score_result_free(text_score_result *r) {
    free(r->pair_bleu_stats);
    free(r->pair_bleu4);
    free(r->pair_rouge1_f);
    free(r->pair_rouge2_f);
    free(r->pair_rougeL_f);
    free(r->pair_rougeLsum_f);
    free(r->pair_bertstyle_f);
    memset(r, 0, sizeof *r);
}

void text_score_signature(const text_score_options *opt, const char *version, char *buf,
                          size_t cap) {
    int k = snprintf(buf, cap, "tok:%s|smooth:%s|case:lc|stem:%s", tokenizer_kind_name(opt->tokenizer),
                     bleu_smoothing_name(opt->smoothing), opt->stem ? "yes" : "no");
    if (opt->vectors && k >= 0 && (size_t)k < cap) {
        int j = snprintf(buf + k, cap - (size_t)k, "|vec:%s|idf:%s", opt->vectors->name,
                         opt->bertstyle.idf ? "yes" : "no");
        if (j > 0) k += j;
        if (opt->bertstyle.rescale && (size_t)k < cap) {
            j = snprintf(buf + k, cap - (size_t)k, "|baseline:%.17g", opt->bertstyle.baseline);
            if (j > 0) k += j;
        }
    }
    if (k >= 0 && (size_t)k < cap) snprintf(buf + k, cap - (size_t)k, "|beatbench:%s", version);
}

/* ------------------------------------------------------------------------------------ */
/* Parallel pairs: [0, n) is cut into `threads` contiguous chunks, each worker fills the
 * per-pair values of its chunk, and the caller sums them in pair order, so the results are
 * the same for any thread count. */

typedef struct pair_texts {
    const char *const *refs, *const *cands;
    const size_t *ref_lens, *cand_lens;
} pair_texts;

typedef struct chunk_job {
    const pair_texts *texts;
    size_t begin, end;
    void (*work)(struct chunk_job *job);
    /* BLEU */
    tokenizer_kind kind;
    bleu_stats *stats;
    /* ROUGE */
    int stem;
    rouge_scores *scores;
} chunk_job;

static void *run_job(void *arg) {
    chunk_job *job = arg;
    job->work(job);
    return NULL;
}

static void run_chunks(chunk_job *proto, size_t n, int threads) {
    if (threads < 1) threads = 1;
    if ((size_t)threads > n / 64 + 1) threads = (int)(n / 64 + 1); /* not worth it for few */
    chunk_job *jobs = bb_calloc((size_t)threads, sizeof *jobs);
    pthread_t *tids = bb_calloc((size_t)threads, sizeof *tids);
    for (int t = 0; t < threads; t++) {
        jobs[t] = *proto;
        jobs[t].begin = n * (size_t)t / (size_t)threads;
        jobs[t].end = n * (size_t)(t + 1) / (size_t)threads;
    }
    int started = 0;
    for (int t = 1; t < threads; t++)
        if (pthread_create(&tids[t], NULL, run_job, &jobs[t]) == 0)
            started = t;
        else
            break;
    for (int t = started + 1; t < threads; t++) run_job(&jobs[t]); /* could not start: inline */
    run_job(&jobs[0]);
    for (int t = 1; t <= started; t++) pthread_join(tids[t], NULL);
    free(jobs);
    free(tids);
}

/* BLEU compares tokens only within a pair, so tokens get pair-local ids (no global
 * vocabulary): the two tokenizers keep both texts' tokens alive while they are numbered. */
static void bleu_chunk(chunk_job *job) {
    const pair_texts *tx = job->texts;
    tokenizer *ref_tok = tokenizer_create(job->kind, 1);
    tokenizer *cand_tok = tokenizer_create(job->kind, 1);
    text_span_ids *ids = text_span_ids_create();
    ngram_table *table = ngram_table_create();
    int32_t *ref_ids = NULL, *cand_ids = NULL;
    size_t ref_cap = 0, cand_cap = 0;
    for (size_t i = job->begin; i < job->end; i++) {
        const text_span *rt, *ct;
        size_t nr = tokenizer_run(ref_tok, tx->refs[i], tx->ref_lens[i], &rt);
        size_t nc = tokenizer_run(cand_tok, tx->cands[i], tx->cand_lens[i], &ct);
        if (nr > ref_cap) ref_ids = bb_realloc(ref_ids, (ref_cap = 2 * nr) * sizeof *ref_ids);
        if (nc > cand_cap) cand_ids = bb_realloc(cand_ids, (cand_cap = 2 * nc) * sizeof *cand_ids);
        text_span_ids_reset(ids);
        for (size_t k = 0; k < nr; k++) ref_ids[k] = text_span_ids_get(ids, rt[k].ptr, rt[k].len);
        for (size_t k = 0; k < nc; k++) cand_ids[k] = text_span_ids_get(ids, ct[k].ptr, ct[k].len);
        const int32_t *ref_list[1] = {ref_ids};
        bleu_pair_stats(table, cand_ids, nc, ref_list, &nr, 1, (uint64_t)text_span_ids_count(ids),
                        &job->stats[i]);
    }
    free(ref_ids);
    free(cand_ids);
    ngram_table_free(table);
    text_span_ids_free(ids);
    tokenizer_free(ref_tok);
    tokenizer_free(cand_tok);
}

void text_score_bleu(const char *const *refs, const size_t *ref_lens, const char *const *cands,
                     const size_t *cand_lens, size_t n, tokenizer_kind kind,
                     bleu_smoothing smoothing, int threads, double bleu[BLEU_MAX_ORDER],
                     double *sentence_mean, bleu_stats *pair_stats, double *pair_bleu4) {
    pair_texts tx = {refs, cands, ref_lens, cand_lens};
    bleu_stats *stats = pair_stats ? pair_stats : bb_calloc(n ? n : 1, sizeof *stats);
    chunk_job proto;
    memset(&proto, 0, sizeof proto);
    proto.texts = &tx;
    proto.work = bleu_chunk;
    proto.kind = kind;
    proto.stats = stats;
    run_chunks(&proto, n, threads);

    bleu_stats corpus;
    memset(&corpus, 0, sizeof corpus);
    double sentence_sum = 0;
    for (size_t i = 0; i < n; i++) {
        bleu_stats_add(&corpus, &stats[i]);
        if (sentence_mean || pair_bleu4) {
            double b4 = bleu_score(&stats[i], BLEU_MAX_ORDER, smoothing);
            if (pair_bleu4) pair_bleu4[i] = b4;
            sentence_sum += b4;
        }
    }
    for (int k = 0; k < BLEU_MAX_ORDER; k++) bleu[k] = bleu_score(&corpus, k + 1, smoothing);
    if (sentence_mean) *sentence_mean = n ? sentence_sum / (double)n : 0;
    if (!pair_stats) free(stats);
}

static void rouge_chunk(chunk_job *job) {
    const pair_texts *tx = job->texts;
    rouge_scorer *scorer = rouge_scorer_create(job->stem);
    for (size_t i = job->begin; i < job->end; i++)
        rouge_text_scores(scorer, tx->refs[i], tx->ref_lens[i], tx->cands[i], tx->cand_lens[i],
                          &job->scores[i]);
    rouge_scorer_free(scorer);
}

void text_score_rouge(const char *const *refs, const size_t *ref_lens, const char *const *cands,
                      const size_t *cand_lens, size_t n, int stem, int threads,
                      rouge_prf means[4], double *pair_f[4]) {
    pair_texts tx = {refs, cands, ref_lens, cand_lens};
    rouge_scores *scores = bb_calloc(n ? n : 1, sizeof *scores);
    chunk_job proto;
    memset(&proto, 0, sizeof proto);
    proto.texts = &tx;
    proto.work = rouge_chunk;
    proto.stem = stem;
    proto.scores = scores;
    run_chunks(&proto, n, threads);

    memset(means, 0, 4 * sizeof *means);
    for (size_t i = 0; i < n; i++) {
        const rouge_prf *parts[4] = {&scores[i].rouge1, &scores[i].rouge2, &scores[i].rougeL,
                                     &scores[i].rougeLsum};
        for (int k = 0; k < 4; k++) {
            means[k].precision += parts[k]->precision;
            means[k].recall += parts[k]->recall;
            means[k].fmeasure += parts[k]->fmeasure;
            if (pair_f && pair_f[k]) pair_f[k][i] = parts[k]->fmeasure;
        }
    }
    for (int k = 0; k < 4 && n; k++) {
        means[k].precision /= (double)n;
        means[k].recall /= (double)n;
        means[k].fmeasure /= (double)n;
    }
    free(scores);
}

int text_score_compute(const char *const *refs, const size_t *ref_lens, const char *const *cands,
                       const size_t *cand_lens, size_t n, const text_score_options *opt,
                       text_score_result *out, bb_error *err) {
    memset(out, 0, sizeof *out);
    if (opt->tokenizer == TOKENIZER_ROUGE)
        return bb_fail(err, "BLEU tokenizer must be treebank or whitespace, not rouge");
    size_t m = n ? n : 1;
    out->n = n;
    out->pair_bleu_stats = bb_calloc(m, sizeof *out->pair_bleu_stats);
    out->pair_bleu4 = bb_calloc(m, sizeof(double));
    out->pair_rouge1_f = bb_calloc(m, sizeof(double));
    out->pair_rouge2_f = bb_calloc(m, sizeof(double));
    out->pair_rougeL_f = bb_calloc(m, sizeof(double));
    out->pair_rougeLsum_f = bb_calloc(m, sizeof(double));

    text_score_bleu(refs, ref_lens, cands, cand_lens, n, opt->tokenizer, opt->smoothing,
                    opt->threads, out->bleu, &out->bleu4_sentence_mean, out->pair_bleu_stats,
                    out->pair_bleu4);
    rouge_prf means[4];
    double *pair_f[4] = {out->pair_rouge1_f, out->pair_rouge2_f, out->pair_rougeL_f,
                         out->pair_rougeLsum_f};
    text_score_rouge(refs, ref_lens, cands, cand_lens, n, opt->stem, opt->threads, means, pair_f);
    out->rouge1 = means[0];
    out->rouge2 = means[1];
    out->rougeL = means[2];
    out->rougeLsum = means[3];

    diversity_result div;
    diversity_compute(cands, cand_lens, n, &div);
    out->distinct1 = div.distinct1;
    out->distinct2 = div.distinct2;
    out->usr = div.usr;
    out->len_mean = div.len_mean;

    if (opt->vectors) {
        bertstyle_result bs;
        if (bertstyle_score(opt->vectors, refs, ref_lens, cands, cand_lens, n, &opt->bertstyle,
                            &bs, err)) {
            text_score_result_free(out);
            return BB_ERR;
        }
        out->has_bertstyle = 1;
        out->bertstyle_p = bs.precision;
        out->bertstyle_r = bs.recall;
        out->bertstyle_f = bs.f1;
        out->bertstyle_tokens = bs.tokens;
        out->bertstyle_skipped = bs.skipped;
        out->pair_bertstyle_f = bs.pair_f;
        bs.pair_f = NULL;
        bertstyle_result_free(&bs);
    }
    return BB_OK;
}
