/* Tests for the byte-level BPE tokenizer (models/lm/lm_bpe.h): pre-tokenisation rules,
 * a hand-worked training run, exact round trips, special tokens, save/load, bad files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/base/bb_rng.h"
#include "models/lm/lm_bpe.h"
#include "tests/testhelp.h"

static void test_chunks_follow_the_rules(void) {
    const char *text = "Hello, world's  42x\n\n ok...";
    const char *want[] = {"Hello", ",", " world", "'s", " ", " 42", "x", "\n\n", " ok", "..."};
    size_t len = strlen(text), pos = 0, k = 0;
    while (pos < len) {
        size_t end = lm_bpe_chunk_end(text, len, pos);
        TEST_TRUE(k < sizeof want / sizeof *want);
        TEST_EQ_INT(end - pos, strlen(want[k]));
        TEST_TRUE(memcmp(text + pos, want[k], end - pos) == 0);
        pos = end;
        k++;
    }
    TEST_EQ_INT(k, sizeof want / sizeof *want);
    /* UTF-8 letters stay in the word; long runs are cut at LM_BPE_MAX_CHUNK. */
    const char *utf = " caf\xc3\xa9!";
    TEST_EQ_INT(lm_bpe_chunk_end(utf, strlen(utf), 0), 6);
    char longrun[300];
    memset(longrun, 'a', sizeof longrun);
    TEST_EQ_INT(lm_bpe_chunk_end(longrun, sizeof longrun, 0), LM_BPE_MAX_CHUNK);
}

/* "ab ab ab cd" -> chunks "ab", " ab" x2, " cd". Pair counts: (a,b) 3, (' ',a) 2, then after
 * merging: (' ',ab) 2; then (' ',c) and (c,d) tie at 1 and (' ',c) wins as the lower pair. */
static void test_train_hand_worked(void) {
    const char *texts[] = {"ab ab ab cd"};
    lm_bpe *tok;
    bb_error err;
    TEST_OK(lm_bpe_train(texts, NULL, 1, 256 + 4 + LM_N_SPECIAL, 1, &tok, &err), &err);
    TEST_EQ_INT(tok->n_merges, 4);
    int32_t want[8] = {'a', 'b', ' ', 256, ' ', 'c', 258, 'd'};
    for (int i = 0; i < 8; i++) TEST_EQ_INT(tok->merges[i], want[i]);
    TEST_EQ_INT(tok->vocab_size, 256 + 4 + LM_N_SPECIAL);
    lm_ids ids = {0};
    lm_bpe_encode(tok, "ab cd ab", 8, &ids);
    TEST_EQ_INT(ids.n, 3);
    TEST_EQ_INT(ids.v[0], 256);
    TEST_EQ_INT(ids.v[1], 259);
    TEST_EQ_INT(ids.v[2], 257);
    size_t len;
    const char *b = lm_bpe_token_bytes(tok, 259, &len);
    TEST_EQ_INT(len, 3);
    TEST_TRUE(memcmp(b, " cd", 3) == 0);
    lm_ids_free(&ids);
    lm_bpe_free(tok);
    /* min_frequency 2 stops before the pairs seen once. */
    TEST_OK(lm_bpe_train(texts, NULL, 1, 300, 2, &tok, &err), &err);
    TEST_EQ_INT(tok->n_merges, 2);
    lm_bpe_free(tok);
}

static const char *corpus[] = {
    "The user would enjoy this restaurant for its friendly staff and fresh food.",
    "The user would enjoy the book because of its gripping plot and vivid characters.",
    "Fans of spicy food would enjoy the authentic Thai dishes at this cozy place.",
    "This user likes quick service, clean tables, and fresh ingredients!",
};

static lm_bpe *small_tokenizer(int vocab) {
    lm_bpe *tok = NULL;
    bb_error err;
    if (lm_bpe_train(corpus, NULL, 4, vocab, 1, &tok, &err) != BB_OK) return NULL;
    return tok;
}

static void test_training_is_order_independent(void) {
    const char *reversed[] = {corpus[3], corpus[2], corpus[1], corpus[0]};
    lm_bpe *a = small_tokenizer(400), *b = NULL;
    bb_error err;
    TEST_TRUE(a != NULL);
    TEST_OK(lm_bpe_train(reversed, NULL, 4, 400, 1, &b, &err), &err);
    TEST_EQ_INT(a->n_merges, b->n_merges);
    TEST_TRUE(a->n_merges > 50);
    TEST_TRUE(memcmp(a->merges, b->merges, 2 * (size_t)a->n_merges * sizeof(int32_t)) == 0);
    lm_bpe_free(a);
    lm_bpe_free(b);
}

static int round_trips(lm_bpe *tok, const char *s, size_t len) {
    lm_ids ids = {0};
    lm_bpe_encode(tok, s, len, &ids);
    size_t out_len;
    char *back = lm_bpe_decode(tok, ids.v, ids.n, 1, &out_len);
    int ok = out_len == len && memcmp(back, s, len) == 0;
    for (size_t i = 0; i < ids.n; i++) ok = ok && !lm_bpe_is_special(tok, ids.v[i]);
    free(back);
    lm_ids_free(&ids);
    return ok;
}

static void test_round_trip_random_bytes(void) {
    lm_bpe *tok = small_tokenizer(500);
    TEST_TRUE(tok != NULL);
    bb_rng rng;
    bb_rng_seed(&rng, 7, "test/bpe-bytes");
    char buf[2000];
    for (int trial = 0; trial < 200; trial++) {
        size_t len = bb_rng_below(&rng, sizeof buf);
        for (size_t i = 0; i < len; i++) {
            /* Half the trials from a small alphabet so merges actually fire. */
            buf[i] = trial % 2 ? (char)bb_rng_below(&rng, 256)
                               : " etaoin,.'\n\xc3"[bb_rng_below(&rng, 12)];
        }
        TEST_TRUE(round_trips(tok, buf, len));
    }
    /* Twice the same text: the second pass comes from the chunk cache. */
    const char *s = "The user would enjoy <eos> this restaurant.";
    TEST_TRUE(round_trips(tok, s, strlen(s)));
    TEST_TRUE(round_trips(tok, s, strlen(s)));
    lm_bpe_free(tok);
}

static void test_specials_only_on_request(void) {
    lm_bpe *tok = small_tokenizer(400);
    TEST_TRUE(tok != NULL);
    const char *s = "<bos>hi <U> there<EXPLAIN>";
    lm_ids plain = {0}, special = {0};
    lm_bpe_encode(tok, s, strlen(s), &plain);
    for (size_t i = 0; i < plain.n; i++) TEST_TRUE(!lm_bpe_is_special(tok, plain.v[i]));
    lm_bpe_encode_special(tok, s, strlen(s), &special);
    TEST_EQ_INT(special.v[0], lm_bpe_special(tok, LM_BOS));
    int n_user = 0;
    for (size_t i = 0; i < special.n; i++) n_user += special.v[i] == lm_bpe_special(tok, LM_USER);
    TEST_EQ_INT(n_user, 1);
    TEST_EQ_INT(special.v[special.n - 1], lm_bpe_special(tok, LM_EXPLAIN));
    char *kept = lm_bpe_decode(tok, special.v, special.n, 1, NULL);
    char *dropped = lm_bpe_decode(tok, special.v, special.n, 0, NULL);
    TEST_STR_EQ(kept, s);
    TEST_STR_EQ(dropped, "hi  there");
    free(kept);
    free(dropped);
    lm_ids_free(&plain);
    lm_ids_free(&special);
    lm_bpe_free(tok);
}

static void test_save_load_identical(void) {
    lm_bpe *tok = small_tokenizer(450), *back = NULL;
    bb_error err;
    TEST_TRUE(tok != NULL);
    const char *path = bb_test_tmp_path("tokenizer.json");
    TEST_OK(lm_bpe_save(tok, path, &err), &err);
    TEST_OK(lm_bpe_load(path, &back, &err), &err);
    TEST_EQ_INT(back->vocab_size, tok->vocab_size);
    TEST_TRUE(memcmp(back->merges, tok->merges, 2 * (size_t)tok->n_merges * sizeof(int32_t)) == 0);
    for (int i = 0; i < 4; i++) {
        lm_ids a = {0}, b = {0};
        lm_bpe_encode(tok, corpus[i], strlen(corpus[i]), &a);
        lm_bpe_encode(back, corpus[i], strlen(corpus[i]), &b);
        TEST_EQ_INT(a.n, b.n);
        TEST_TRUE(memcmp(a.v, b.v, a.n * sizeof(int32_t)) == 0);
        lm_ids_free(&a);
        lm_ids_free(&b);
    }
    lm_bpe_free(tok);
    lm_bpe_free(back);
}

static void test_bad_files_are_errors(void) {
    lm_bpe *tok = NULL;
    bb_error err;
    const char *head =
        "{\"format\":\"beatbench-bpe\",\"version\":1,\"pretokenizer\":\"beatbench-v1\",";
    char buf[512];
    TEST_ERR_CONTAINS(lm_bpe_parse("t.json", "{\"format\":\n\"beatbench-bpe\",", &tok, &err), &err,
                      "t.json:2: not valid JSON");
    snprintf(buf, sizeof buf, "%s\"vocab_size\":263,\"merges\":[[97,300]],\"specials\":[]}", head);
    TEST_ERR_CONTAINS(lm_bpe_parse("t.json", buf, &tok, &err), &err,
                      "field 'merges[0][1]': expected a token id in [0, 256)");
    snprintf(buf, sizeof buf, "%s\"vocab_size\":264,\"merges\":[[97,98]],\"specials\":[]}", head);
    TEST_ERR_CONTAINS(lm_bpe_parse("t.json", buf, &tok, &err), &err,
                      "field 'vocab_size': 264 does not equal 256 + 1 merges + 6 specials");
    snprintf(buf, sizeof buf, "%s\"vocab_size\":263,\"merges\":[[97,98]],\"specials\":[\"<bos>\"]}",
             head);
    TEST_ERR_CONTAINS(lm_bpe_parse("t.json", buf, &tok, &err), &err, "field 'specials'");
    TEST_ERR_CONTAINS(lm_bpe_load(bb_test_tmp_path("missing.json"), &tok, &err), &err,
                      "missing.json");
    TEST_TRUE(tok == NULL);
}

/* The real explanations file, byte for byte (quotes, commas, newlines, UTF-8 included). */
static void test_round_trip_real_explanations(void) {
    const char *shared = bb_test_shared_dir();
    if (!shared) TEST_SKIP("no shared data directory");
    if (getenv("BB_VALGRIND")) TEST_SKIP("6 MB of real text is too slow under valgrind");
    const char *names[] = {"yelp", "amazon", "google"};
    int done = 0;
    for (int d = 0; d < 3; d++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/datasets/%s/explanations.csv", shared, names[d]);
        if (!bb_path_exists(path)) continue;
        char *text;
        size_t len;
        bb_error err;
        TEST_OK(bb_read_file(path, &text, &len, &err), &err);
        size_t train_len = len < 400000 ? len : 400000;
        const char *texts[] = {text};
        lm_bpe *tok;
        TEST_OK(lm_bpe_train(texts, &train_len, 1, 1024, 2, &tok, &err), &err);
        TEST_EQ_INT(tok->vocab_size, 1024);
        lm_ids ids = {0};
        lm_bpe_encode(tok, text, len, &ids);
        /* A real vocabulary compresses English text well below one token per 2 bytes. */
        TEST_TRUE(ids.n * 2 < len);
        size_t out_len;
        char *back = lm_bpe_decode(tok, ids.v, ids.n, 1, &out_len);
        TEST_EQ_INT(out_len, len);
        TEST_TRUE(memcmp(back, text, len) == 0);
        free(back);
        lm_ids_free(&ids);
        lm_bpe_free(tok);
        free(text);
        done++;
    }
    if (!done) TEST_SKIP("no explanations.csv under the shared datasets");
}

const bb_test bb_suite_lm_bpe[] = {
    {"chunks_follow_the_rules", test_chunks_follow_the_rules},
    {"train_hand_worked", test_train_hand_worked},
    {"training_is_order_independent", test_training_is_order_independent},
    {"round_trip_random_bytes", test_round_trip_random_bytes},
    {"specials_only_on_request", test_specials_only_on_request},
    {"save_load_identical", test_save_load_identical},
    {"bad_files_are_errors", test_bad_files_are_errors},
    {"round_trip_real_explanations", test_round_trip_real_explanations},
    {NULL, NULL},
};
