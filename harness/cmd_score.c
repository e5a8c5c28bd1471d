/* cmd_score — `beatbench score`: text metrics of candidates against references (DESIGN §10).
 *
 *   score (--pairs CSV [--ref-col C --cand-col C] | --refs F --cands F)
 *         [--tokenizer treebank|whitespace] [--smoothing none|method1..4] [--stem]
 *         [--vectors F | --lm DIR [--layer L]] [--idf] [--baseline B] [--threads N] [--json]
 *
 * BLEU uses the chosen tokenizer on lower-cased text, ROUGE rouge_score's tokenizer (--stem:
 * Porter), diversity the whitespace tokens of the candidates, BERTScore-style the vectors of
 * a GloVe-format file. The human table goes to stdout; with --json one object on stdout with
 * the keys of DESIGN §10, numbers as fractions with 17 significant digits. Notes (tokens
 * without vectors) go to stderr. Data errors exit 1, usage errors 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/lm_vectors.h"
#include "metrics/glove_vectors.h"
#include "models/lm/lm_io.h"
#include "metrics/text_pairs.h"
#include "metrics/text_score.h"
#include "models/base/bb_time.h"

static void json_num(const char *key, double v) {
    printf(", \"%s\": ", key);
    bb_json_number(stdout, v);
}

static void print_json(const text_score_result *r, const char *signature) {
    printf("{\"n\": %zu", r->n);
    static const char *const bleu_keys[] = {"bleu1", "bleu2", "bleu3", "bleu4"};
    for (int k = 0; k < BLEU_MAX_ORDER; k++) json_num(bleu_keys[k], r->bleu[k]);
    json_num("bleu4_sentence_mean", r->bleu4_sentence_mean);
    const char *const names[] = {"rouge1", "rouge2", "rougeL", "rougeLsum"};
    const rouge_prf *prf[] = {&r->rouge1, &r->rouge2, &r->rougeL, &r->rougeLsum};
    for (int k = 0; k < 4; k++) {
        char key[32];
        snprintf(key, sizeof key, "%s_p", names[k]);
        json_num(key, prf[k]->precision);
        snprintf(key, sizeof key, "%s_r", names[k]);
        json_num(key, prf[k]->recall);
        snprintf(key, sizeof key, "%s_f", names[k]);
        json_num(key, prf[k]->fmeasure);
    }
    json_num("distinct1", r->distinct1);
    json_num("distinct2", r->distinct2);
    json_num("usr", r->usr);
    json_num("len_mean", r->len_mean);
    if (r->has_bertstyle) {
        json_num("bertscore_p", r->bertstyle_p);
        json_num("bertscore_r", r->bertstyle_r);
        json_num("bertscore_f", r->bertstyle_f);
    }
    printf(", \"signature\": ");
    bb_json_string(stdout, signature);
    printf("}\n");
}

static void print_table(const text_score_result *r, const char *signature) {
    printf("beatbench score: %zu pairs  [%s]\n\n", r->n, signature);
    printf("  %-22s %9s\n", "metric", "value");
    for (int k = 0; k < BLEU_MAX_ORDER; k++)
        printf("  BLEU-%d (corpus)        %9.6f\n", k + 1, r->bleu[k]);
    printf("  %-22s %9.6f\n", "BLEU-4 (sentence mean)", r->bleu4_sentence_mean);
    printf("\n  %-22s %9s %9s %9s\n", "", "P", "R", "F");
    const char *const names[] = {"ROUGE-1", "ROUGE-2", "ROUGE-L", "ROUGE-Lsum"};
    const rouge_prf *prf[] = {&r->rouge1, &r->rouge2, &r->rougeL, &r->rougeLsum};
    for (int k = 0; k < 4; k++)
        printf("  %-22s %9.6f %9.6f %9.6f\n", names[k], prf[k]->precision, prf[k]->recall,
               prf[k]->fmeasure);
    if (r->has_bertstyle)
        printf("  %-22s %9.6f %9.6f %9.6f\n", "BERTScore-style", r->bertstyle_p, r->bertstyle_r,
               r->bertstyle_f);
    printf("\n  %-22s %9.6f\n", "Distinct-1", r->distinct1);
    printf("  %-22s %9.6f\n", "Distinct-2", r->distinct2);
    printf("  %-22s %9.6f\n", "USR", r->usr);
    printf("  %-22s %9.3f\n", "mean length (words)", r->len_mean);
}

int bb_cmd_score(int argc, char **argv) {
    const char *pairs_path = NULL, *ref_col = NULL, *cand_col = NULL, *refs_path = NULL,
               *cands_path = NULL, *tok_name = "treebank", *smooth_name = "method1",
               *vectors_path = NULL, *lm_dir = NULL;
    int stem = 0, idf = 0, json = 0, threads = bb_num_cores(), layer = -1;
    double baseline = 0;
    int has_baseline = 0;
    const bb_opt opts[] = {
        {"--pairs", BB_OPT_STR, &pairs_path, "CSV", "pairs file with a header row (RFC 4180)"},
        {"--ref-col", BB_OPT_STR, &ref_col, "C", "reference column (default \"reference\")"},
        {"--cand-col", BB_OPT_STR, &cand_col, "C", "candidate column (default \"candidate\")"},
        {"--refs", BB_OPT_STR, &refs_path, "F", "references, one per line ('-' = stdin)"},
        {"--cands", BB_OPT_STR, &cands_path, "F", "candidates, one per line ('-' = stdin)"},
        {"--tokenizer", BB_OPT_STR, &tok_name, "NAME", "BLEU tokens: treebank (default) or whitespace"},
        {"--smoothing", BB_OPT_STR, &smooth_name, "S", "none, method1 (default), method2..method4"},
        {"--stem", BB_OPT_FLAG, &stem, NULL, "Porter stemming for ROUGE (rouge_score's use_stemmer)"},
        {"--vectors", BB_OPT_STR, &vectors_path, "F", "GloVe-format vectors: BERTScore-style P/R/F"},
        {"--lm", BB_OPT_STR, &lm_dir, "DIR", "token vectors from a frozen LM directory (lm pretrain)"},
        {"--layer", BB_OPT_INT, &layer, "L", "LM layer for --lm: 0 = embeddings .. n_layers (default, last)"},
        {"--idf", BB_OPT_FLAG, &idf, NULL, "idf weights for BERTScore-style (from the references)"},
        {"--baseline", BB_OPT_DOUBLE, &baseline, "B", "rescale BERTScore-style as (s - B) / (1 - B)"},
        {"--threads", BB_OPT_INT, &threads, "N", "worker threads (default: all cores; same results)"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print one JSON object on stdout"},
        {0}};
    const bb_cmd_spec spec = {
        "score",
        "(--pairs CSV [--ref-col C --cand-col C] | --refs F --cands F) [options]",
        "Text metrics of candidates against references: BLEU-1..4 (nltk), ROUGE-1/2/L/Lsum "
        "(rouge_score),\nDistinct-1/2, USR, mean length, and BERTScore-style similarity with "
        "--vectors.",
        0, 0, NULL};
    /* --baseline is optional and 0 is a legal value: see whether it was given */
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "--baseline", 10) == 0 && (argv[i][10] == '\0' || argv[i][10] == '='))
            has_baseline = 1;
    int rc = bb_opts_parse(&spec, opts, argc, argv, NULL);
    if (rc < 0) return BB_EXIT_OK;
    if (rc) return rc;

    if (lm_dir && vectors_path) return bb_cli_usage("score", "give --vectors or --lm, not both");
    if (layer != -1 && !lm_dir) return bb_cli_usage("score", "--layer applies to --lm only");
    if (pairs_path && (refs_path || cands_path))
        return bb_cli_usage("score", "give either --pairs or --refs/--cands, not both");
    if (!pairs_path && !(refs_path && cands_path))
        return bb_cli_usage("score", "give --pairs CSV, or both --refs F and --cands F");
    if (!pairs_path && (ref_col || cand_col))
        return bb_cli_usage("score", "--ref-col/--cand-col apply to --pairs only");
    if (!vectors_path && !lm_dir && (idf || has_baseline))
        return bb_cli_usage("score", "--idf and --baseline apply to BERTScore-style (--vectors or --lm)");
    if (has_baseline && !(baseline < 1))
        return bb_cli_usage("score", "--baseline must be below 1, got %g", baseline);

    if (threads < 1) return bb_cli_usage("score", "--threads must be at least 1, got %d", threads);
    text_score_options opt = text_score_defaults();
    opt.threads = threads;
    if (tokenizer_kind_parse(tok_name, &opt.tokenizer) || opt.tokenizer == TOKENIZER_ROUGE)
        return bb_cli_usage("score", "--tokenizer: expected treebank or whitespace, got \"%s\"",
                            tok_name);
    if (bleu_smoothing_parse(smooth_name, &opt.smoothing))
        return bb_cli_usage("score", "--smoothing: expected none or method1..method4, got \"%s\"",
                            smooth_name);
    opt.stem = stem;
    opt.bertstyle.idf = idf;
    opt.bertstyle.rescale = has_baseline;
    opt.bertstyle.baseline = baseline;

    bb_error err;
    text_pairs pairs;
    if (pairs_path ? text_pairs_load_csv(pairs_path, ref_col, cand_col, &pairs, &err)
                   : text_pairs_load_lines(refs_path, cands_path, &pairs, &err))
        return bb_cli_fail(&err);
    if (pairs.n == 0) {
        text_pairs_free(&pairs);
        bb_fail(&err, "%s: no pairs to score", pairs_path ? pairs_path : refs_path);
        return bb_cli_fail(&err);
    }

    glove_vectors *glove = NULL;
    bertstyle_lookup *lookup = NULL;
    bertstyle_source source;
    if (vectors_path) {
        if (glove_load(vectors_path, &glove, &err)) {
            text_pairs_free(&pairs);
            return bb_cli_fail(&err);
        }
        lookup = glove_source_create(glove);
        source = bertstyle_lookup_source(lookup);
        opt.vectors = &source;
    }
    lm_bundle lm = {0};
    bb_lm_vectors lm_vec;
    if (lm_dir) {
        if (lm_bundle_load(lm_dir, &lm, &err)) {
            text_pairs_free(&pairs);
            return bb_cli_fail(&err);
        }
        int n_layers = lm.model->arch.n_layers;
        if (layer < -1 || layer > n_layers) {
            lm_bundle_free(&lm);
            text_pairs_free(&pairs);
            return bb_cli_usage("score", "--layer: expected 0..%d for this LM, got %d", n_layers,
                                layer);
        }
        lm_set_threads(lm.model, threads);
        source = bb_lm_vector_source(&lm_vec, lm.model, lm.tok, layer < 0 ? n_layers : layer);
        opt.vectors = &source;
    }

    text_score_result res;
    rc = BB_EXIT_OK;
    if (text_score_compute((const char *const *)pairs.refs, pairs.ref_lens,
                           (const char *const *)pairs.cands, pairs.cand_lens, pairs.n, &opt, &res,
                           &err)) {
        rc = bb_cli_fail(&err);
    } else {
        char signature[256];
        text_score_signature(&opt, BB_VERSION, signature, sizeof signature);
        if (res.has_bertstyle && res.bertstyle_skipped)
            fprintf(stderr,
                    "beatbench: score: note: %zu of %zu tokens have no vector in %s and were "
                    "skipped by BERTScore-style\n",
                    res.bertstyle_skipped, res.bertstyle_skipped + res.bertstyle_tokens,
                    lm_dir ? lm_dir : vectors_path);
        if (json)
            print_json(&res, signature);
        else
            print_table(&res, signature);
        text_score_result_free(&res);
    }
    bertstyle_lookup_free(lookup);
    glove_free(glove);
    if (lm_dir) lm_bundle_free(&lm);
    text_pairs_free(&pairs);
    return rc;
}
