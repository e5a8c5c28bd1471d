/* Tests for `beatbench score` and `beatbench tokenize` (DESIGN §10): the --json keys and
 * values (equal to the library's), the inputs (CSV with quoted newlines, line files, stdin),
 * empty lines, and every bad input as a clear error with the right exit code. They run the
 * binary named by BB_BIN (set by `make test`). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/glove_vectors.h"
#include "models/base/bb_io.h"
#include "metrics/text_pairs.h"
#include "metrics/text_score.h"
#include "tests/testhelp.h"
#include "tests/util/text_testutil.h"

static char out_path[1100], err_path[1100];

static int run(const char *args, const char *stdin_path) {
    snprintf(out_path, sizeof out_path, "%s", bb_test_tmp_path("cli.out"));
    snprintf(err_path, sizeof err_path, "%s", bb_test_tmp_path("cli.err"));
    return tt_run_cli(args, stdin_path, out_path, err_path);
}

static char *write_file(const char *name, const char *text) {
    return bb_strdup(tt_write_tmp(name, text, strlen(text)));
}

#define NEED_BIN()                                                                         \
    do {                                                                                   \
        if (!getenv("BB_BIN")) TEST_SKIP("BB_BIN not set (run through make test)");        \
    } while (0)

#define TEST_STDERR_HAS(text)                                                              \
    do {                                                                                   \
        char *e_ = tt_slurp(err_path);                                                     \
        int ok_ = strstr(e_, (text)) != NULL;                                              \
        if (!ok_) bb_test_fail(__FILE__, __LINE__, "stderr lacks \"%s\": %s", (text), e_);   \
        free(e_);                                                                          \
        if (!ok_) return;                                                                  \
    } while (0)

static const char *const PAIRS_CSV =
    "id,reference,candidate\n"
    "1,\"The user would enjoy \"\"Drums\"\", a long, cozy read.\",\"The user likes cozy reads.\"\n"
    "2,\"Great food.\nFriendly staff, too.\",\"Friendly staff\nand great food!\"\n"
    "3,Plain text here,plain TEXT there\n";

static void test_score_json_keys_and_values(void) {
    NEED_BIN();
    char *csv = write_file("pairs.csv", PAIRS_CSV);
    char args[2048];
    snprintf(args, sizeof args, "score --pairs %s --json --smoothing method2 --stem", csv);
    TEST_EQ_INT(run(args, NULL), 0);
    char *json = tt_slurp(out_path);
    cJSON *root = cJSON_Parse(json);
    TEST_TRUE(root != NULL);
    static const char *const keys[] = {
        "n", "bleu1", "bleu2", "bleu3", "bleu4", "bleu4_sentence_mean", "rouge1_p", "rouge1_r",
        "rouge1_f", "rouge2_p", "rouge2_r", "rouge2_f", "rougeL_p", "rougeL_r", "rougeL_f",
        "rougeLsum_p", "rougeLsum_r", "rougeLsum_f", "distinct1", "distinct2", "usr", "len_mean",
        "signature"};
    const cJSON *item = root->child;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++, item = item->next) {
        TEST_TRUE(item != NULL);
        TEST_STR_EQ(item->string, keys[k]);
    }
    TEST_TRUE(item == NULL);
    TEST_EQ_INT(strchr(json, '\n') - json, (long long)strlen(json) - 1); /* one line */
    TEST_STR_EQ(cJSON_GetObjectItemCaseSensitive(root, "signature")->valuestring,
                "tok:treebank|smooth:method2|case:lc|stem:yes|beatbench:0.1.0");

    /* the numbers are the library's, printed with 17 significant digits (exact round trip) */
    text_pairs pairs;
    bb_error err;
    TEST_OK(text_pairs_load_csv(csv, NULL, NULL, &pairs, &err), &err);
    TEST_EQ_INT(pairs.n, 3);
    TEST_TRUE(strchr(pairs.refs[1], '\n') != NULL); /* the quoted newline survived */
    text_score_options opt = text_score_defaults();
    opt.smoothing = BLEU_SMOOTH_METHOD2;
    opt.stem = 1;
    text_score_result r;
    TEST_OK(text_score_compute((const char *const *)pairs.refs, pairs.ref_lens,
                               (const char *const *)pairs.cands, pairs.cand_lens, pairs.n, &opt,
                               &r, &err), &err);
    double want[] = {(double)r.n, r.bleu[0], r.bleu[1], r.bleu[2], r.bleu[3],
                     r.bleu4_sentence_mean, r.rouge1.precision, r.rouge1.recall, r.rouge1.fmeasure,
                     r.rouge2.precision, r.rouge2.recall, r.rouge2.fmeasure, r.rougeL.precision,
                     r.rougeL.recall, r.rougeL.fmeasure, r.rougeLsum.precision, r.rougeLsum.recall,
                     r.rougeLsum.fmeasure, r.distinct1, r.distinct2, r.usr, r.len_mean};
    item = root->child;
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++, item = item->next)
        TEST_NEAR(item->valuedouble, want[k], 0);
    /* the two-line texts make ROUGE-Lsum differ from ROUGE-L */
    TEST_TRUE(r.rougeLsum.fmeasure != r.rougeL.fmeasure);
    text_score_result_free(&r);
    text_pairs_free(&pairs);
    cJSON_Delete(root);
    free(json);
    free(csv);
}

static void test_score_line_files_stdin_and_empty_lines(void) {
    NEED_BIN();
    /* line 2 has an empty reference, line 3 an empty candidate: ROUGE 0 there, and BLEU as
     * nltk computes it (corpus_bleu with method1: 0.7, 0.7245688373094719,
     * 0.7211247851537042, 0.7071067811865475; sentence mean 1/3) */
    char *refs = write_file("refs.txt", "The cat sat on the mat.\n\na b\n");
    char *cands = write_file("cands.txt", "The cat sat on the mat.\r\nfoo bar\n\n");
    char args[2048];
    snprintf(args, sizeof args, "score --refs %s --cands - --json --threads 2", refs);
    TEST_EQ_INT(run(args, cands), 0);
    char *json = tt_slurp(out_path);
    cJSON *root = cJSON_Parse(json);
    TEST_TRUE(root != NULL);
    TEST_NEAR(tt_json_number(root, "n"), 3, 0);
    TEST_NEAR(tt_json_number(root, "bleu1"), 0.7, 1e-15);
    TEST_NEAR(tt_json_number(root, "bleu2"), 0.7245688373094719, 1e-15);
    TEST_NEAR(tt_json_number(root, "bleu3"), 0.7211247851537042, 1e-15);
    TEST_NEAR(tt_json_number(root, "bleu4"), 0.7071067811865475, 1e-15);
    TEST_NEAR(tt_json_number(root, "bleu4_sentence_mean"), 1.0 / 3, 1e-15);
    TEST_NEAR(tt_json_number(root, "rouge1_f"), 1.0 / 3, 1e-15);
    TEST_NEAR(tt_json_number(root, "rougeLsum_p"), 1.0 / 3, 1e-15);
    cJSON_Delete(root);
    free(json);
    /* the human table goes to stdout without --json */
    snprintf(args, sizeof args, "score --refs %s --cands %s", refs, cands);
    TEST_EQ_INT(run(args, NULL), 0);
    json = tt_slurp(out_path);
    TEST_TRUE(strstr(json, "BLEU-4 (corpus)") && strstr(json, "ROUGE-Lsum") && strstr(json, "USR"));
    free(json);
    free(refs);
    free(cands);
}

static void test_score_bad_inputs(void) {
    NEED_BIN();
    char *two = write_file("two.txt", "a\nb\n");
    char *three = write_file("three.txt", "a\nb\nc\n");
    char *bad_utf = write_file("bad_utf.txt", "fine\nbad \xff byte\n");
    char *no_cand = write_file("no_cand.csv", "reference,candidat\nx,y\n");
    char *ragged_row = write_file("ragged_row.csv", "reference,candidate\nx,y\nz\n");
    char *bad_csv = write_file("bad_csv.csv", "reference,candidate\n\"x\" y,z\n");
    char *open_quote = write_file("open_quote.csv", "reference,candidate\nx,\"never closed\n");
    char *header_only = write_file("header_only.csv", "reference,candidate\n");
    char *csv_utf = write_file("csv_utf.csv", "reference,candidate\n\"multi\nline\",ok\nx,\"\xc3\x28\"\n");
    char *ragged_vec = write_file("ragged_vec.txt", "a 1 2\nb 3\n");
    char args[4096];

    snprintf(args, sizeof args, "score --refs %s --cands %s", two, three);
    TEST_EQ_INT(run(args, NULL), 1);
    TEST_STDERR_HAS("two.txt has 2 lines but");
    TEST_STDERR_HAS("three.txt has 3");
    snprintf(args, sizeof args, "score --refs %s --cands %s", two, bad_utf);
    TEST_EQ_INT(run(args, NULL), 1);
    TEST_STDERR_HAS("bad_utf.txt:2: invalid UTF-8 (byte 0xff at offset 4)");
    snprintf(args, sizeof args, "score --pairs %s", no_cand);
    TEST_EQ_INT(run(args, NULL), 1);
    TEST_STDERR_HAS("no_cand.csv:1: no column 'candidate' (columns: reference, candidat)");
    snprintf(args, sizeof args, "score --pairs %s --ref-col reference --cand-col candidat --json", no_cand);
    TEST_EQ_INT(run(args, NULL), 0);
    snprintf(args, sizeof args, "score --pairs %s", ragged_row);
    TEST_EQ_INT(run(args, NULL), 1);
    TEST_STDERR_HAS("ragged_row.csv:3: expected 2 fields as in the header, got 1");
    snprintf(args, sizeof args, "score --pairs %s", bad_csv);
    TEST_EQ_INT(run(args, NULL), 1);
    TEST_STDERR_HAS("bad_csv.csv:2: malformed CSV");
    snprintf(args, sizeof args, "score --pairs %s", open_quote);
    TEST_EQ_INT(run(args, NULL), 1);
    TEST_STDERR_HAS("malformed CSV");
    snprintf(args, sizeof args, "score --pairs %s", header_only);
    TEST_EQ_INT(run(args, NULL), 1);
    TEST_STDERR_HAS("no pairs to score");
    snprintf(args, sizeof args, "score --pairs %s", csv_utf);
    TEST_EQ_INT(run(args, NULL), 1);
    TEST_STDERR_HAS("csv_utf.csv:4: field 'candidate': invalid UTF-8");
    snprintf(args, sizeof args, "score --refs %s --cands %s --vectors %s", two, two, ragged_vec);
    TEST_EQ_INT(run(args, NULL), 1);
    TEST_STDERR_HAS("ragged_vec.txt:2: expected 2 values as on line 1, got 1");
    /* usage errors exit 2 */
    snprintf(args, sizeof args, "score --refs %s --cands %s --layer 1", two, two);
    TEST_EQ_INT(run(args, NULL), 2);
    TEST_STDERR_HAS("--layer applies to --lm only");
    snprintf(args, sizeof args, "score --refs %s --cands %s --lm /nonexistent-lm", two, two);
    TEST_EQ_INT(run(args, NULL), 1);
    TEST_STDERR_HAS("/nonexistent-lm");
    snprintf(args, sizeof args, "score --pairs %s --refs %s --cands %s", no_cand, two, two);
    TEST_EQ_INT(run(args, NULL), 2);
    snprintf(args, sizeof args, "score --refs %s", two);
    TEST_EQ_INT(run(args, NULL), 2);
    snprintf(args, sizeof args, "score --refs %s --cands %s --idf", two, two);
    TEST_EQ_INT(run(args, NULL), 2);
    snprintf(args, sizeof args, "score --refs %s --cands %s --tokenizer rouge", two, two);
    TEST_EQ_INT(run(args, NULL), 2);
    snprintf(args, sizeof args, "score --refs %s --cands %s --smoothing method9", two, two);
    TEST_EQ_INT(run(args, NULL), 2);
    snprintf(args, sizeof args, "score --refs - --cands -");
    TEST_EQ_INT(run(args, NULL), 1);
    TEST_EQ_INT(run("score --help", NULL), 0);
    free(two);
    free(three);
    free(bad_utf);
    free(no_cand);
    free(ragged_row);
    free(bad_csv);
    free(open_quote);
    free(header_only);
    free(csv_utf);
    free(ragged_vec);
}

static void test_score_with_vectors(void) {
    NEED_BIN();
    char *csv = write_file("vec_pairs.csv", PAIRS_CSV);
    const char *vectors = tt_fixture_path("toy_vectors.txt");
    char args[4096];
    snprintf(args, sizeof args, "score --pairs %s --vectors %s --idf --baseline 0.25 --json", csv,
             vectors);
    TEST_EQ_INT(run(args, NULL), 0);
    TEST_STDERR_HAS("tokens have no vector in");
    char *json = tt_slurp(out_path);
    cJSON *root = cJSON_Parse(json);
    TEST_TRUE(root != NULL);
    TEST_STR_EQ(cJSON_GetObjectItemCaseSensitive(root, "signature")->valuestring,
                "tok:treebank|smooth:method1|case:lc|stem:no|vec:glove|idf:yes|baseline:0.25|"
                "beatbench:0.1.0");
    glove_vectors *g;
    bb_error err;
    TEST_OK(glove_load(vectors, &g, &err), &err);
    bertstyle_lookup *l = glove_source_create(g);
    bertstyle_source src = bertstyle_lookup_source(l);
    text_pairs pairs;
    TEST_OK(text_pairs_load_csv(csv, NULL, NULL, &pairs, &err), &err);
    bertstyle_options opt = {1, 1, 0.25};
    bertstyle_result r;
    TEST_OK(bertstyle_score(&src, (const char *const *)pairs.refs, pairs.ref_lens,
                            (const char *const *)pairs.cands, pairs.cand_lens, pairs.n, &opt, &r,
                            &err), &err);
    TEST_NEAR(tt_json_number(root, "bertscore_p"), r.precision, 0);
    TEST_NEAR(tt_json_number(root, "bertscore_r"), r.recall, 0);
    TEST_NEAR(tt_json_number(root, "bertscore_f"), r.f1, 0);
    bertstyle_result_free(&r);
    text_pairs_free(&pairs);
    bertstyle_lookup_free(l);
    glove_free(g);
    cJSON_Delete(root);
    free(json);
    free(csv);
}

static void test_tokenize_command(void) {
    NEED_BIN();
    char *in = write_file("tok_in.txt", "He said, \"I can't go.\"\n\nRunning runners, caf\xc3\xa9!\n");
    TEST_EQ_INT(run("tokenize --tokenizer treebank", in), 0);
    char *out = tt_slurp(out_path);
    TEST_STR_EQ(out, "he said , `` i ca n't go . ''\n\nrunning runners , caf\xc3\xa9 !\n");
    free(out);
    TEST_EQ_INT(run("tokenize --tokenizer rouge --stem", in), 0);
    out = tt_slurp(out_path);
    TEST_STR_EQ(out, "he said i can t go\n\nrun runner caf\n");
    free(out);
    TEST_EQ_INT(run("tokenize --tokenizer whitespace --cased", in), 0);
    out = tt_slurp(out_path);
    TEST_STR_EQ(out, "He said, \"I can't go.\"\n\nRunning runners, caf\xc3\xa9!\n");
    free(out);
    char *bad = write_file("tok_bad.txt", "ok\nnot \xc3 ok\n");
    TEST_EQ_INT(run("tokenize", bad), 1);
    TEST_STDERR_HAS("<stdin>:2: invalid UTF-8 (byte 0xc3 at offset 4)");
    TEST_EQ_INT(run("tokenize --tokenizer bpe", in), 2);
    free(bad);
    free(in);
}

/* score --lm: BERTScore-style with the frozen LM's token vectors (a tiny LM pretrained on
 * synthetic data). Identical texts give F = 1; a different text scores lower; the layer is
 * range-checked against the LM. */
static void test_score_with_lm_vectors(void) {
    NEED_BIN();
    char data[1024], lm[1024], args[4096];
    snprintf(data, sizeof data, "%s", bb_test_tmp_path("score_lm_data"));
    snprintf(lm, sizeof lm, "%s", bb_test_tmp_path("score_lm"));
    snprintf(args, sizeof args,
             "data synth --out %s --users 200 --items 120 --interactions 2000 --explained 240", data);
    TEST_EQ_INT(run(args, NULL), 0);
    snprintf(args, sizeof args, "lm pretrain --data %s --config harness/configs/lm/tiny.json --out %s",
             data, lm);
    TEST_EQ_INT(run(args, NULL), 0);
    char *refs = write_file("lm_refs.txt", "great food and friendly staff\nquiet room with a view\n");
    char *same = write_file("lm_same.txt", "great food and friendly staff\nquiet room with a view\n");
    char *other = write_file("lm_other.txt", "twisty plot\nslow start but a strong ending overall\n");
    double f_same = -1, f_other = -1;
    const char *cands[2] = {same, other};
    double *fs[2] = {&f_same, &f_other};
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args, "score --refs %s --cands %s --lm %s --json", refs, cands[k], lm);
        TEST_EQ_INT(run(args, NULL), 0);
        char *json = tt_slurp(out_path);
        cJSON *root = cJSON_Parse(json);
        free(json);
        const cJSON *f = root ? cJSON_GetObjectItem(root, "bertscore_f") : NULL;
        const cJSON *sig = root ? cJSON_GetObjectItem(root, "signature") : NULL;
        int ok = cJSON_IsNumber(f) && cJSON_IsString(sig) && strstr(sig->valuestring, "vec:lm");
        if (ok) *fs[k] = f->valuedouble;
        cJSON_Delete(root);
        TEST_TRUE(ok);
    }
    TEST_NEAR(f_same, 1.0, 1e-6);
    TEST_TRUE(f_other < f_same - 0.01);
    snprintf(args, sizeof args, "score --refs %s --cands %s --lm %s --layer 9", refs, same, lm);
    TEST_EQ_INT(run(args, NULL), 2);
    TEST_STDERR_HAS("--layer: expected 0..2");
    free(refs), free(same), free(other);
}

const bb_test bb_suite_text_cli[] = {
    {"score_with_lm_vectors", test_score_with_lm_vectors},
    {"score_json_keys_and_values", test_score_json_keys_and_values},
    {"score_line_files_stdin_and_empty_lines", test_score_line_files_stdin_and_empty_lines},
    {"score_bad_inputs", test_score_bad_inputs},
    {"score_with_vectors", test_score_with_vectors},
    {"tokenize_command", test_tokenize_command},
    {NULL, NULL},
};
