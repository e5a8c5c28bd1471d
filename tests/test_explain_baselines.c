/* Tests of the explanation baselines' data side and of retrieval (issue #7): the word
 * tokenizer and detokeniser, the train-only vocabulary (a word seen only in valid/test
 * explanations never enters it), the encoded corpus, retrieval against hand-computed
 * cosines (both variants, the row pick, ties, the fallback), clear errors for
 * out-of-range ids and bad configs, and the JSON configs equal to the C defaults.
 * The models (gradient checks, overfitting, determinism) are in
 * test_explain_baselines_models.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "baselines/explain_corpus.h"
#include "baselines/explain_schema.h"
#include "baselines/nrt.h"
#include "baselines/peter.h"
#include "baselines/retrieval.h"
#include "baselines/word_vocab.h"
#include "models/base/bb_config.h"
#include "tests/testhelp.h"
#include "tests/util/explain_testutil.h"

/* ------------------------------------------------------------------------------------------
 * tokenizer */

static void test_tokenize(void) {
    char *buf = NULL;
    size_t cap = 0, scap = 0;
    bb_word_span *sp = NULL;
    const char *text = "  Great FOOD, and \"fast\" service (3.5 stars; 1,000 fans)... don't-miss!";
    const char *want[] = {"great", "food", ",",     "and", "\"",  "fast", "\"",    "service",
                          "(",     "3.5",  "stars", ";",   "1,000", "fans", ")",   ".",
                          ".",     ".",    "don't-miss", "!"};
    size_t n = bb_word_tokenize(text, &buf, &cap, &sp, &scap);
    TEST_EQ_INT(n, sizeof want / sizeof *want);
    for (size_t k = 0; k < n; k++) {
        char tok[64];
        snprintf(tok, sizeof tok, "%.*s", (int)sp[k].len, buf + sp[k].start);
        TEST_STR_EQ(tok, want[k]);
    }
    TEST_EQ_INT(bb_word_tokenize("", &buf, &cap, &sp, &scap), 0);
    TEST_EQ_INT(bb_word_tokenize(" \t\n", &buf, &cap, &sp, &scap), 0);
    /* a trailing "3." is a number and a full stop */
    TEST_EQ_INT(bb_word_tokenize("rated 3.", &buf, &cap, &sp, &scap), 3);
    free(buf);
    free(sp);
}

static void test_detokenize(void) {
    const char *texts[] = {"great food, and (fast) service. \"really\" good!"};
    bb_word_vocab v;
    bb_word_vocab_build_texts(texts, 1, 100, &v);
    int32_t ids[32];
    size_t n = bb_word_vocab_encode(&v, texts[0], ids, 32, NULL);
    char *s = bb_word_vocab_decode(&v, ids, n);
    TEST_STR_EQ(s, "great food, and (fast) service. \" really \" good!");
    free(s);
    /* specials: <bos>/<eos>/<pad> are dropped, <unk> is written */
    int32_t with_specials[] = {BB_WORD_BOS, bb_word_vocab_id(&v, "good", 4), BB_WORD_UNK,
                               bb_word_vocab_id(&v, ".", 1), BB_WORD_EOS, BB_WORD_PAD};
    s = bb_word_vocab_decode(&v, with_specials, 6);
    TEST_STR_EQ(s, "good <unk>.");
    free(s);
    s = bb_word_vocab_decode(&v, NULL, 0);
    TEST_STR_EQ(s, "");
    free(s);
    bb_word_vocab_free(&v);
}

/* ------------------------------------------------------------------------------------------
 * vocabulary: counts, order, cut, and train-only */

static void test_vocab_order_and_cut(void) {
    const char *texts[] = {"b a c a", "a b d <eos>", "c e"};
    bb_word_vocab v;
    bb_word_vocab_build_texts(texts, 3, 3, &v);
    /* counts: a 3, b 2, c 2, d 1, e 1; ties in byte order; <eos> as text counts as <unk> */
    TEST_EQ_INT(v.size, BB_WORD_SPECIALS + 3);
    TEST_STR_EQ(bb_word_vocab_word(&v, 0), "<pad>");
    TEST_STR_EQ(bb_word_vocab_word(&v, 3), "<eos>");
    TEST_STR_EQ(bb_word_vocab_word(&v, 4), "a");
    TEST_STR_EQ(bb_word_vocab_word(&v, 5), "b");
    TEST_STR_EQ(bb_word_vocab_word(&v, 6), "c");
    TEST_EQ_INT(v.count[4], 3);
    TEST_EQ_INT(v.count[5], 2);
    TEST_EQ_INT(v.count[BB_WORD_UNK], 3); /* d, e, and the "<eos>" text */
    TEST_EQ_INT(v.distinct_train_words, 5);
    TEST_EQ_INT(v.train_tokens, 10);
    TEST_EQ_INT(bb_word_vocab_id(&v, "d", 1), BB_WORD_UNK);
    TEST_EQ_INT(bb_word_vocab_id(&v, "<eos>", 5), BB_WORD_UNK);
    int32_t ids[8];
    int cut = 0;
    TEST_EQ_INT(bb_word_vocab_encode(&v, "A b <bos> zz", ids, 3, &cut), 3);
    TEST_EQ_INT(cut, 1);
    TEST_EQ_INT(ids[0], 4);
    TEST_EQ_INT(ids[1], 5);
    TEST_EQ_INT(ids[2], BB_WORD_UNK);
    bb_word_vocab_free(&v);
}

static const int32_t toy_train_u[] = {0, 0, 1, 1, 1, 2, 2, 3, 3, 4};
static const int32_t toy_train_i[] = {0, 1, 0, 1, 2, 2, 3, 3, 4, 0};

static void test_vocab_train_only(void) {
    xtest_row rows[] = {
        {0, 1, BB_SPLIT_TRAIN, "Cozy corners and strong espresso."},
        {1, 2, BB_SPLIT_VALID, "Zebra stripes and strong espresso."},
        {2, 3, BB_SPLIT_TRAIN, "Quiet corners, cozy."},
        {4, 0, BB_SPLIT_TEST, "A quokka smiles at espresso."},
    };
    xtest_fix f;
    xtest_fix_init(&f, 5, 5, toy_train_u, toy_train_i, 10, rows, 4);
    bb_xcorpus c;
    bb_error err;
    TEST_OK(bb_xcorpus_build(&f.task, 100, 64, &c, &err), &err);
    /* only train words: cozy corners and strong espresso . quiet , */
    TEST_EQ_INT(c.vocab.size, BB_WORD_SPECIALS + 8);
    TEST_EQ_INT(bb_word_vocab_id(&c.vocab, "zebra", 5), BB_WORD_UNK);
    TEST_EQ_INT(bb_word_vocab_id(&c.vocab, "stripes", 7), BB_WORD_UNK);
    TEST_EQ_INT(bb_word_vocab_id(&c.vocab, "quokka", 6), BB_WORD_UNK);
    TEST_EQ_INT(bb_word_vocab_id(&c.vocab, "smiles", 6), BB_WORD_UNK);
    TEST_EQ_INT(bb_word_vocab_id(&c.vocab, "a", 1), BB_WORD_UNK);
    TEST_TRUE(bb_word_vocab_id(&c.vocab, "espresso", 8) != BB_WORD_UNK);
    TEST_TRUE(bb_word_vocab_id(&c.vocab, "quiet", 5) != BB_WORD_UNK);
    for (int32_t id = BB_WORD_SPECIALS; id < c.vocab.size; id++) {
        const char *w = bb_word_vocab_word(&c.vocab, id);
        TEST_TRUE(strstr("cozy corners and strong espresso . quiet ,", w) != NULL);
    }
    /* parts, encodings: the valid row keeps <unk> for its unseen words; test rows are empty */
    TEST_EQ_INT(c.n_train, 2);
    TEST_EQ_INT(c.n_valid, 1);
    TEST_EQ_INT(c.n_test, 1);
    TEST_EQ_INT(c.test_rows[0], 3);
    TEST_EQ_INT(c.tok_off[4] - c.tok_off[3], 0);
    TEST_EQ_INT(c.tok_off[2] - c.tok_off[1], 6);
    TEST_EQ_INT(c.tok[c.tok_off[1]], BB_WORD_UNK);
    TEST_EQ_INT(c.tok[c.tok_off[1] + 3], bb_word_vocab_id(&c.vocab, "strong", 6));
    TEST_EQ_INT(c.train_words, 6 + 5);
    /* a batch of the two train rows: <bos> inputs, <eos> targets, padding ignored */
    bb_xbatch b = {0};
    bb_xbatch_fill(&b, &c, c.train_rows, 2);
    TEST_EQ_INT(b.T, 7);
    TEST_EQ_INT(b.input[0], BB_WORD_BOS);
    TEST_EQ_INT(b.input[1], bb_word_vocab_id(&c.vocab, "cozy", 4));
    TEST_EQ_INT(b.target[0], bb_word_vocab_id(&c.vocab, "cozy", 4));
    TEST_EQ_INT(b.target[5], bb_word_vocab_id(&c.vocab, ".", 1));
    TEST_EQ_INT(b.target[6], BB_WORD_EOS);
    TEST_EQ_INT(b.input[7 + 0], BB_WORD_BOS);
    TEST_EQ_INT(b.target[7 + 4], bb_word_vocab_id(&c.vocab, ".", 1));
    TEST_EQ_INT(b.target[7 + 5], BB_WORD_EOS);
    TEST_EQ_INT(b.target[7 + 6], -1);
    TEST_EQ_INT(b.input[7 + 6], BB_WORD_PAD);
    TEST_EQ_INT(b.len[1], 6);
    TEST_EQ_INT(b.n_targets, 7 + 6);
    bb_xbatch_free(&b);
    bb_xcorpus_free(&c);
    xtest_fix_free(&f);
}

/* ------------------------------------------------------------------------------------------
 * retrieval on a hand-computed toy:
 *   train interactions  U(i0)={0,1,4} U(i1)={0,1} U(i2)={1,2} U(i3)={2,3} U(i4)={3}
 *                       I(u0)={0,1} I(u1)={0,1,2} I(u2)={2,3} I(u3)={3,4} I(u4)={0}
 *   train rows r0 (u0,i3) r1 (u1,i1) r2 (u2,i2) r6 (u3,i3, same text as r2)
 * Test r3 = (u4, i0):
 *   item: sim(i0,i1) = 2/sqrt(6) = .816 > sim(i0,i2) = 1/sqrt(6) > sim(i0,i3) = 0 -> r1
 *   user: sim(u4,u0) = 1/sqrt(2) = .707 > sim(u4,u1) = 1/sqrt(3) > sim(u4,u2) = 0 -> r0
 * Test r5 = (u5, i5), neither with interactions -> most frequent train text (r2's)
 * Test r7 = (u5, i4): item i3 (1/sqrt(2)); its rows r0 (u0) and r6 (u3) are both at user
 *   similarity 0 to u5 -> lowest row r0.
 * Test r8 = (u2, i4): item i3; sim(u2,u0) = 0 < sim(u2,u3) = 1/2 -> r6; by user, u2 has
 *   a train row of their own (r2, similarity 1). */

static const xtest_row retr_rows[] = {
    {0, 3, BB_SPLIT_TRAIN, "zero three"}, {1, 1, BB_SPLIT_TRAIN, "one one"},
    {2, 2, BB_SPLIT_TRAIN, "two two"},    {4, 0, BB_SPLIT_TEST, "reference a"},
    {3, 4, BB_SPLIT_VALID, "valid text"}, {5, 5, BB_SPLIT_TEST, "reference b"},
    {3, 3, BB_SPLIT_TRAIN, "two two"},    {5, 4, BB_SPLIT_TEST, "reference c"},
    {2, 4, BB_SPLIT_TEST, "reference d"},
};
static const int32_t retr_u[] = {0, 0, 1, 1, 1, 2, 2, 3, 3, 4};
static const int32_t retr_i[] = {0, 1, 0, 1, 2, 2, 3, 3, 4, 0};

static void test_retrieval_item(void) {
    xtest_fix f;
    xtest_fix_init(&f, 6, 6, retr_u, retr_i, 10, retr_rows, 9);
    bb_retrieval_config cfg;
    bb_retrieval_default_config(&cfg);
    TEST_STR_EQ(cfg.variant, "item");
    bb_explain_output out;
    bb_retrieval_trace tr;
    bb_error err;
    TEST_OK(bb_retrieval_explain_traced(&f.task, &cfg, &out, &tr, &err), &err);
    TEST_EQ_INT(out.n, 4);
    TEST_EQ_INT(out.row[0], 3);
    TEST_STR_EQ(out.generated[0], "one one");
    TEST_EQ_INT(tr.source[0], BB_RETRIEVAL_BY_ITEM);
    TEST_EQ_INT(tr.source_row[0], 1);
    TEST_NEAR(tr.similarity[0], 2.0 / sqrt(6.0), 1e-15);
    TEST_STR_EQ(out.generated[1], "two two");
    TEST_EQ_INT(tr.source[1], BB_RETRIEVAL_BY_COMMON);
    TEST_EQ_INT(tr.source_row[1], 2);
    TEST_STR_EQ(out.generated[2], "zero three");
    TEST_EQ_INT(tr.source_row[2], 0);
    TEST_NEAR(tr.similarity[2], 1.0 / sqrt(2.0), 1e-15);
    TEST_EQ_INT(tr.source_row[3], 6);
    TEST_STR_EQ(out.generated[3], "two two");
    bb_retrieval_trace_free(&tr);
    bb_explain_output_free(&out);
    xtest_fix_free(&f);
}

static void test_retrieval_user(void) {
    xtest_fix f;
    xtest_fix_init(&f, 6, 6, retr_u, retr_i, 10, retr_rows, 9);
    bb_retrieval_config cfg;
    bb_retrieval_default_config(&cfg);
    bb_error err;
    TEST_OK(bb_config_set(bb_retrieval_config_keys, &cfg, "variant", "user", "--variant", &err),
            &err);
    bb_explain_output out;
    bb_retrieval_trace tr;
    TEST_OK(bb_retrieval_explain_traced(&f.task, &cfg, &out, &tr, &err), &err);
    TEST_STR_EQ(out.generated[0], "zero three");
    TEST_EQ_INT(tr.source[0], BB_RETRIEVAL_BY_USER);
    TEST_NEAR(tr.similarity[0], 1.0 / sqrt(2.0), 1e-15);
    /* (u5, i4): u5 has no interactions, so the item path answers: i3, row r0 */
    TEST_EQ_INT(tr.source[2], BB_RETRIEVAL_BY_ITEM);
    TEST_EQ_INT(tr.source_row[2], 0);
    /* (u2, i4): u2 itself (similarity 1) beats u1 and u3 (1/2 each) -> r2 */
    TEST_EQ_INT(tr.source[3], BB_RETRIEVAL_BY_USER);
    TEST_EQ_INT(tr.source_row[3], 2);
    TEST_NEAR(tr.similarity[3], 1.0, 1e-15);
    TEST_EQ_INT(tr.source[1], BB_RETRIEVAL_BY_COMMON);
    bb_retrieval_trace_free(&tr);
    bb_explain_output_free(&out);
    xtest_fix_free(&f);
}

/* Equal similarities go to the lowest item id: i1 and i2 both have U = {0}. */
static void test_retrieval_ties(void) {
    static const int32_t u[] = {0, 0, 0, 1};
    static const int32_t i[] = {0, 2, 1, 0}; /* i2 is reached first */
    xtest_row rows[] = {
        {1, 2, BB_SPLIT_TRAIN, "from two"},
        {1, 1, BB_SPLIT_TRAIN, "from one"},
        {2, 0, BB_SPLIT_TEST, "ref"},
    };
    xtest_fix f;
    xtest_fix_init(&f, 3, 3, u, i, 4, rows, 3);
    bb_retrieval_config cfg;
    bb_retrieval_default_config(&cfg);
    bb_explain_output out;
    bb_error err;
    TEST_OK(bb_retrieval_explain(&f.task, &cfg, &out, &err), &err);
    /* sim(i0,i1) = sim(i0,i2) = 1/sqrt(2): lowest id i1 */
    TEST_STR_EQ(out.generated[0], "from one");
    bb_explain_output_free(&out);
    xtest_fix_free(&f);
}

/* ------------------------------------------------------------------------------------------
 * errors */

static void test_out_of_range_ids(void) {
    bb_error err;
    bb_explain_output out;
    bb_retrieval_config rc;
    bb_retrieval_default_config(&rc);
    bb_nrt_config nc;
    bb_nrt_tiny_config(&nc);
    bb_peter_config pc;
    bb_peter_tiny_config(&pc);
    for (int which = 0; which < 3; which++) {
        xtest_row rows[] = {
            {0, 1, BB_SPLIT_TRAIN, "fine words."},
            {which == 1 ? -1 : 0, which == 2 ? 7 : 1, BB_SPLIT_TEST, "ref."},
            {which == 0 ? 5 : 1, 0, BB_SPLIT_TEST, "ref."},
        };
        xtest_fix f;
        xtest_fix_init(&f, 5, 5, toy_train_u, toy_train_i, 10, rows, 3);
        const char *want = which == 0 ? "explanations.csv:4: field 'uid': id 5 is outside [0, 5)"
                           : which == 1 ? "explanations.csv:3: field 'uid': id -1"
                                        : "explanations.csv:3: field 'iid': id 7 is outside [0, 5)";
        TEST_ERR_CONTAINS(bb_retrieval_explain(&f.task, &rc, &out, &err), &err, want);
        TEST_ERR_CONTAINS(bb_nrt_explain(&f.task, &nc, &out, &err), &err, want);
        TEST_ERR_CONTAINS(bb_peter_explain(&f.task, &pc, &out, &err), &err, want);
        xtest_fix_free(&f);
    }
    /* no train rows */
    xtest_row only_test[] = {{0, 1, BB_SPLIT_TEST, "ref."}};
    xtest_fix f;
    xtest_fix_init(&f, 5, 5, toy_train_u, toy_train_i, 10, only_test, 1);
    TEST_ERR_CONTAINS(bb_peter_explain(&f.task, &pc, &out, &err), &err, "no train rows");
    TEST_ERR_CONTAINS(bb_retrieval_explain(&f.task, &rc, &out, &err), &err, "no train rows");
    xtest_fix_free(&f);
}

static void test_bad_configs(void) {
    bb_error err;
    bb_peter_config pc;
    bb_peter_default_config(&pc);
    pc.n_heads = 3;
    TEST_ERR_CONTAINS(bb_peter_check_config(&pc, &err), &err, "n_heads (3) must divide d_model");
    bb_nrt_config nc;
    bb_nrt_default_config(&nc);
    nc.mlp_layers = 0;
    TEST_ERR_CONTAINS(bb_nrt_check_config(&nc, &err), &err, "mlp_layers");
    bb_retrieval_config rc;
    bb_retrieval_default_config(&rc);
    TEST_ERR_CONTAINS(bb_config_set(bb_retrieval_config_keys, &rc, "variant", "both", "--variant",
                                    &err),
                      &err, "variant");
    strcpy(rc.variant, "both");
    TEST_ERR_CONTAINS(bb_retrieval_check_config(&rc, &err), &err, "item or user");
    const char *json = "{\n  \"d_model\": 64,\n  \"n_head\": 4\n}\n";
    bb_peter_default_config(&pc);
    TEST_ERR_CONTAINS(bb_config_parse("p.json", json, bb_peter_config_keys, &pc, &err), &err,
                      "p.json:3: key 'n_head': unknown key (did you mean 'n_heads'?)");
}

/* The JSON files name every key with the C defaults (loaded into a zeroed struct). */
static void test_json_configs_match_defaults(void) {
    bb_error err;
    char path[256];
    bb_peter_config pd, pj;
    bb_nrt_config nd, nj;
    bb_retrieval_config rd, rj;
    for (int tiny = 0; tiny < 2; tiny++) {
        if (tiny) bb_peter_tiny_config(&pd);
        else bb_peter_default_config(&pd);
        memset(&pj, 0, sizeof pj);
        snprintf(path, sizeof path, "harness/configs/baselines/peter%s.json", tiny ? "_tiny" : "");
        TEST_OK(bb_config_load(path, bb_peter_config_keys, &pj, &err), &err);
        TEST_TRUE(memcmp(&pd, &pj, sizeof pd) == 0);
        if (tiny) bb_nrt_tiny_config(&nd);
        else bb_nrt_default_config(&nd);
        memset(&nj, 0, sizeof nj);
        snprintf(path, sizeof path, "harness/configs/baselines/nrt%s.json", tiny ? "_tiny" : "");
        TEST_OK(bb_config_load(path, bb_nrt_config_keys, &nj, &err), &err);
        TEST_TRUE(memcmp(&nd, &nj, sizeof nd) == 0);
    }
    bb_retrieval_default_config(&rd);
    memset(&rj, 0, sizeof rj);
    TEST_OK(bb_config_load("harness/configs/baselines/retrieval.json", bb_retrieval_config_keys,
                           &rj, &err),
            &err);
    TEST_STR_EQ(rj.variant, rd.variant);
}

const bb_test bb_suite_explain_baselines[] = {
    {"tokenize", test_tokenize},
    {"detokenize", test_detokenize},
    {"vocab_order_and_cut", test_vocab_order_and_cut},
    {"vocab_train_only", test_vocab_train_only},
    {"retrieval_item", test_retrieval_item},
    {"retrieval_user", test_retrieval_user},
    {"retrieval_ties", test_retrieval_ties},
    {"out_of_range_ids", test_out_of_range_ids},
    {"bad_configs", test_bad_configs},
    {"json_configs_match_defaults", test_json_configs_match_defaults},
    {NULL, NULL},
};
