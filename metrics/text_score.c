/* text_score — all text metrics over a list of pairs. See text_score.h. */
#include "metrics/text_score.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/diversity.h"
#include "metrics/ngram_count.h"
#include "metrics/text_vocab.h"
#include "models/base/bb_io.h"

text_score_options text_score_defaults(void) {
    text_score_options o;
    memset(&o, 0, sizeof o);
    o.tokenizer = TOKENIZER_TREEBANK;
    o.smoothing = BLEU_SMOOTH_METHOD1;
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

static void bleu_part(const char *const *refs, const size_t *ref_lens, const char *const *cands,
                      const size_t *cand_lens, size_t n, const text_score_options *opt,
                      text_score_result *out) {
    text_vocab *vocab = text_vocab_create();
    text_encoder *enc = text_encoder_create(opt->tokenizer, 1, 0, vocab);
    ngram_table *table = ngram_table_create();
    int32_t *ref_ids = NULL;
    size_t ref_cap = 0;
    bleu_stats corpus;
    memset(&corpus, 0, sizeof corpus);
    double sentence_sum = 0;
    for (size_t i = 0; i < n; i++) {
        const int32_t *ids;
        size_t nr = text_encoder_encode(enc, refs[i], ref_lens[i], &ids);
        if (nr > ref_cap) {
            ref_cap = 2 * nr;
            ref_ids = bb_realloc(ref_ids, ref_cap * sizeof *ref_ids);
        }
        memcpy(ref_ids, ids, nr * sizeof *ids);
        size_t nc = text_encoder_encode(enc, cands[i], cand_lens[i], &ids);
        const int32_t *ref_list[1] = {ref_ids};
        bleu_stats *s = &out->pair_bleu_stats[i];
        bleu_pair_stats(table, ids, nc, ref_list, &nr, 1, s);
        bleu_stats_add(&corpus, s);
        out->pair_bleu4[i] = bleu_score(s, 4, opt->smoothing);
        sentence_sum += out->pair_bleu4[i];
    }
    for (int k = 0; k < BLEU_MAX_ORDER; k++) out->bleu[k] = bleu_score(&corpus, k + 1, opt->smoothing);
    out->bleu4_sentence_mean = n ? sentence_sum / (double)n : 0;
    free(ref_ids);
    ngram_table_free(table);
    text_encoder_free(enc);
    text_vocab_free(vocab);
}

static void rouge_part(const char *const *refs, const size_t *ref_lens, const char *const *cands,
                       const size_t *cand_lens, size_t n, const text_score_options *opt,
                       text_score_result *out) {
    rouge_scorer *scorer = rouge_scorer_create(opt->stem);
    rouge_prf *sums[4] = {&out->rouge1, &out->rouge2, &out->rougeL, &out->rougeLsum};
    for (size_t i = 0; i < n; i++) {
        rouge_scores s;
        rouge_text_scores(scorer, refs[i], ref_lens[i], cands[i], cand_lens[i], &s);
        const rouge_prf *parts[4] = {&s.rouge1, &s.rouge2, &s.rougeL, &s.rougeLsum};
        for (int k = 0; k < 4; k++) {
            sums[k]->precision += parts[k]->precision;
            sums[k]->recall += parts[k]->recall;
            sums[k]->fmeasure += parts[k]->fmeasure;
        }
        out->pair_rouge1_f[i] = s.rouge1.fmeasure;
        out->pair_rouge2_f[i] = s.rouge2.fmeasure;
        out->pair_rougeL_f[i] = s.rougeL.fmeasure;
        out->pair_rougeLsum_f[i] = s.rougeLsum.fmeasure;
    }
    for (int k = 0; k < 4 && n; k++) {
        sums[k]->precision /= (double)n;
        sums[k]->recall /= (double)n;
        sums[k]->fmeasure /= (double)n;
    }
    rouge_scorer_free(scorer);
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

    bleu_part(refs, ref_lens, cands, cand_lens, n, opt, out);
    rouge_part(refs, ref_lens, cands, cand_lens, n, opt, out);

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
