/* Tests for the text tokenizers, the Porter stemmer, Unicode helpers and token ids:
 * token-for-token parity with nltk (oracles/treebank_tokens.jsonl, oracles/porter.jsonl),
 * hand-picked cases with nltk's answers (tests/fixtures/text/gen_reference_values.py), and
 * rouge_score's tokenizer rules. */
#include <stdlib.h>
#include <string.h>

#include "metrics/porter.h"
#include "metrics/text_tokenize.h"
#include "metrics/text_unicode.h"
#include "metrics/text_vocab.h"
#include "metrics/treebank.h"
#include "tests/testhelp.h"
#include "tests/util/text_testutil.h"

/* Joins tokens with "|" into buf. */
static const char *joined(const text_span *t, size_t n, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o + t[i].len + 2 < cap; i++) {
        if (i) buf[o++] = '|';
        memcpy(buf + o, t[i].ptr, t[i].len);
        o += t[i].len;
    }
    buf[o] = '\0';
    return buf;
}

static const char *tokenize_joined(tokenizer_kind kind, int lowercase, const char *text) {
    static char buf[4096];
    tokenizer *t = tokenizer_create(kind, lowercase);
    const text_span *spans;
    size_t n = tokenizer_run(t, text, strlen(text), &spans);
    joined(spans, n, buf, sizeof buf);
    tokenizer_free(t);
    return buf;
}

/* ------------------------------------------------------------------------------------ */
/* Treebank                                                                             */

static void test_treebank_hand_cases(void) {
    /* nltk 3.8: NLTKWordTokenizer().tokenize(text.lower()) */
    static const char *const cases[][2] = {
        {"He said, \"I can't go.\" Then he left...",
         "he|said|,|``|i|ca|n't|go.|''|then|he|left|..."},
        {"'Tis the season; we're gonna win, cannot lose!",
         "'t|is|the|season|;|we|'re|gon|na|win|,|can|not|lose|!"},
        {"Price: $3.88 (roughly 3,36 euros) at 10:30, ok?",
         "price|:|$|3.88|(|roughly|3,36|euros|)|at|10:30|,|ok|?"},
        {"She wanna know 'bout d'ye and more'n that -- really?!",
         "she|wan|na|know|'bout|d|'ye|and|more|'n|that|--|really|?|!"},
        {"``Quoted'' text and \xe2\x80\x9csmart\xe2\x80\x9d quotes \xe2\x80\x98here\xe2\x80\x99.",
         "``|quoted|''|text|and|\xe2\x80\x9c|smart|\xe2\x80\x9d|quotes|\xe2\x80\x98|here|"
         "\xe2\x80\x99|."},
        {"They'll say I'd've known, wouldn't they?  Yes.  ",
         "they|'ll|say|i'd|'ve|known|,|would|n't|they|?|yes|."},
        {"U.S.A. is big. Dr. Who.", "u.s.a.|is|big.|dr.|who|."},
        {"a*b=c & d@e #tag 50% [x] {y} <z>", "a|*|b=c|&|d|@|e|#|tag|50|%|[|x|]|{|y|}|<|z|>"},
        {"caf\xc3\xa9 na\xc3\xafve \xc2\xab" "bonjour\xc2\xbb",
         "caf\xc3\xa9|na\xc3\xafve|\xc2\xab|bonjour|\xc2\xbb"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        TEST_STR_EQ(tokenize_joined(TOKENIZER_TREEBANK, 1, cases[i][0]), cases[i][1]);
}

static void test_treebank_matches_nltk_oracle(void) {
    const char *path = tt_oracle_path("treebank_tokens.jsonl");
    if (!path) TEST_SKIP("no ../shared/oracles/treebank_tokens.jsonl");
    char *data = tt_slurp(path);
    treebank *tb = treebank_create();
    size_t lines = 0, line_no = 0, mismatches = 0;
    char first[2048] = "";
    for (char *line = data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        line_no++;
        cJSON *rec = cJSON_Parse(line);
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(rec, "text");
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(rec, "tokens");
        if (!cJSON_IsString(text) || !cJSON_IsArray(want)) {
            bb_test_fail(__FILE__, __LINE__, "%s:%zu: not a {text, tokens} record", path, line_no);
            cJSON_Delete(rec);
            break;
        }
        const text_span *got;
        size_t n = treebank_tokenize(tb, text->valuestring, strlen(text->valuestring), 1, &got);
        size_t k = 0, want_n = (size_t)cJSON_GetArraySize(want);
        const cJSON *tok;
        int same = n == want_n;
        cJSON_ArrayForEach(tok, want) {
            if (!same) break;
            const char *w = tok->valuestring;
            if (strlen(w) != got[k].len || memcmp(w, got[k].ptr, got[k].len) != 0) {
                if (!mismatches)
                    snprintf(first, sizeof first, "line %zu, token %zu: expected \"%s\", got \"%.*s\"",
                             line_no, k, w, (int)got[k].len, got[k].ptr);
                same = 0;
            }
            k++;
        }
        if (!same) {
            if (!mismatches && !first[0])
                snprintf(first, sizeof first, "line %zu: expected %zu tokens, got %zu", line_no,
                         want_n, n);
            mismatches++;
        }
        lines++;
        cJSON_Delete(rec);
    }
    treebank_free(tb);
    free(data);
    TEST_TRUE(lines > 1000);
    if (mismatches)
        bb_test_fail(__FILE__, __LINE__, "%zu of %zu lines differ from nltk; first: %s", mismatches,
                     lines, first);
}

static void test_treebank_keeps_case_when_asked(void) {
    /* NLTKWordTokenizer().tokenize on the raw text: the clitic rules are case-sensitive */
    TEST_STR_EQ(tokenize_joined(TOKENIZER_TREEBANK, 0, "I CAN'T, She'S \"OK\"."),
                "I|CA|N'T|,|She|'S|``|OK|''|.");
    TEST_STR_EQ(tokenize_joined(TOKENIZER_TREEBANK, 0, "Cannot GONNA"), "Can|not|GON|NA");
}

/* ------------------------------------------------------------------------------------ */
/* Whitespace and rouge tokenizers                                                      */

static void test_whitespace_tokenizer_is_str_split(void) {
    /* Python's str.split() also splits on NBSP, ideographic space and \x1c..\x1f */
    TEST_STR_EQ(tokenize_joined(TOKENIZER_WHITESPACE, 1, "  The CAT\tsat\xc2\xa0on\xe3\x80\x80the\x1fmat \n"),
                "the|cat|sat|on|the|mat");
    TEST_STR_EQ(tokenize_joined(TOKENIZER_WHITESPACE, 0, "Keep Case, please."), "Keep|Case,|please.");
    TEST_STR_EQ(tokenize_joined(TOKENIZER_WHITESPACE, 1, ""), "");
    TEST_STR_EQ(tokenize_joined(TOKENIZER_WHITESPACE, 1, " \t "), "");
}

static void test_rouge_tokenizer_rules(void) {
    /* rouge_score: lower-case, [^a-z0-9]+ -> " ", split */
    TEST_STR_EQ(tokenize_joined(TOKENIZER_ROUGE, 1, "Hello, WORLD-42! It's 3.5"),
                "hello|world|42|it|s|3|5");
    TEST_STR_EQ(tokenize_joined(TOKENIZER_ROUGE, 1, "caf\xc3\xa9 cr\xc3\xa8me"), "caf|cr|me");
    /* U+0130 lowers to "i" + U+0307 and the Kelvin sign to "k" */
    TEST_STR_EQ(tokenize_joined(TOKENIZER_ROUGE, 1, "A\xc4\xb0" "B \xe2\x84\xaam"), "ai|b|km");
    TEST_STR_EQ(tokenize_joined(TOKENIZER_ROUGE, 1, "!!! ..."), "");
}

static void test_encoder_stems_long_tokens_once(void) {
    text_vocab *v = text_vocab_create();
    text_encoder *e = text_encoder_create(TOKENIZER_ROUGE, 1, 1, v);
    const int32_t *ids;
    const char *text = "Running runs ran the runners running";
    size_t n = text_encoder_encode(e, text, strlen(text), &ids);
    TEST_EQ_INT(n, 6);
    /* rouge_score stems only tokens longer than 3 characters: "ran" and "the" stay */
    static const char *const want[] = {"run", "run", "ran", "the", "runner", "run"};
    for (size_t i = 0; i < n; i++) TEST_STR_EQ(text_vocab_str(v, ids[i], NULL), want[i]);
    TEST_EQ_INT(ids[0], ids[5]);
    text_encoder_free(e);
    text_vocab_free(v);
}

/* ------------------------------------------------------------------------------------ */
/* Porter                                                                               */

static const char *stem(const char *w) {
    static char out[256];
    size_t k = porter_stem(w, strlen(w), out);
    out[k] = '\0';
    return out;
}

static void test_porter_hand_cases(void) {
    /* the paper's examples and nltk's NLTK_EXTENSIONS (dying, skies, news, spied, dies) */
    static const char *const cases[][2] = {
        {"caresses", "caress"},   {"ponies", "poni"},      {"ties", "tie"},
        {"cats", "cat"},          {"feed", "feed"},        {"agreed", "agre"},
        {"plastered", "plaster"}, {"motoring", "motor"},   {"hopping", "hop"},
        {"falling", "fall"},      {"filing", "file"},      {"happy", "happi"},
        {"relational", "relat"},  {"conditional", "condit"}, {"valenci", "valenc"},
        {"digitizer", "digit"},   {"triplicate", "triplic"}, {"hopefulness", "hope"},
        {"adjustable", "adjust"}, {"adoption", "adopt"},   {"controll", "control"},
        {"dying", "die"},         {"skies", "sky"},        {"news", "news"},
        {"generously", "gener"},  {"enjoy", "enjoy"},      {"spied", "spi"},
        {"dies", "die"},          {"apology", "apolog"},   {"running", "run"},
        {"a", "a"},               {"is", "is"},            {"sky", "sky"},
        {"RUNNING", "run"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) TEST_STR_EQ(stem(cases[i][0]), cases[i][1]);
}

static void test_porter_matches_nltk_oracle(void) {
    const char *path = tt_oracle_path("porter.jsonl");
    if (!path) TEST_SKIP("no ../shared/oracles/porter.jsonl");
    char *data = tt_slurp(path);
    size_t words = 0, line_no = 0, mismatches = 0;
    char first[512] = "";
    for (char *line = data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        line_no++;
        cJSON *rec = cJSON_Parse(line);
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(rec, "word");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, "stem_nltk_extensions");
        if (!cJSON_IsString(w) || !cJSON_IsString(s)) {
            bb_test_fail(__FILE__, __LINE__, "%s:%zu: not a {word, stem} record", path, line_no);
            cJSON_Delete(rec);
            break;
        }
        const char *got = stem(w->valuestring);
        if (strcmp(got, s->valuestring) != 0 && mismatches++ == 0)
            snprintf(first, sizeof first, "line %zu: %s -> expected %s, got %s", line_no,
                     w->valuestring, s->valuestring, got);
        words++;
        cJSON_Delete(rec);
    }
    free(data);
    TEST_TRUE(words > 3000);
    if (mismatches)
        bb_test_fail(__FILE__, __LINE__, "%zu of %zu stems differ from nltk; first: %s", mismatches,
                     words, first);
}

/* ------------------------------------------------------------------------------------ */
/* Unicode and ids                                                                      */

static void test_utf8_check_rejects_what_python_rejects(void) {
    size_t bad = 99;
    TEST_TRUE(uni_utf8_check("caf\xc3\xa9 \xf0\x9f\xa4\x97", 10, &bad));
    TEST_TRUE(!uni_utf8_check("ab\xff", 3, &bad));
    TEST_EQ_INT(bad, 2);
    TEST_TRUE(!uni_utf8_check("\xc0\xaf", 2, &bad)); /* overlong "/" */
    TEST_EQ_INT(bad, 0);
    TEST_TRUE(!uni_utf8_check("x\xed\xa0\x80", 4, &bad)); /* UTF-16 surrogate */
    TEST_EQ_INT(bad, 1);
    TEST_TRUE(!uni_utf8_check("\xe2\x80", 2, &bad)); /* truncated */
    TEST_TRUE(!uni_utf8_check("\xf4\x90\x80\x80", 4, &bad)); /* above U+10FFFF */
}

static void test_lower_is_python_str_lower(void) {
    char out[64];
    /* final sigma after a letter, U+0130 to "i" + U+0307, Kelvin sign to "k", long ASCII run */
    const char *in = "\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\xa3 \xc4\xb0 \xe2\x84\xaa ABCDEFGHIJ";
    size_t n = uni_lower(in, strlen(in), out);
    out[n] = '\0';
    TEST_STR_EQ(out, "\xce\xbf\xce\xb4\xce\xbf\xcf\x82 \xcf\x83 i\xcc\x87 k abcdefghij");
    TEST_TRUE(uni_is_word(0xE9) && uni_is_word('_') && !uni_is_word('-'));
    TEST_TRUE(uni_is_digit(0x663) && !uni_is_digit(0xB2)); /* Arabic-Indic three; superscript 2 */
    TEST_TRUE(uni_is_space(0x3000) && uni_is_space(0x1F) && !uni_is_space(0x200B));
}

static void test_vocab_and_span_ids(void) {
    text_vocab *v = text_vocab_create();
    char word[32];
    for (int i = 0; i < 5000; i++) { /* forces several table growths */
        snprintf(word, sizeof word, "w%d", i);
        TEST_EQ_INT(text_vocab_intern(v, word, strlen(word)), i);
    }
    TEST_EQ_INT(text_vocab_find(v, "w4321", 5), 4321);
    TEST_EQ_INT(text_vocab_find(v, "w5000", 5), -1);
    TEST_STR_EQ(text_vocab_str(v, 17, NULL), "w17");
    TEST_EQ_INT(text_vocab_size(v), 5000);
    text_vocab_free(v);

    text_span_ids *ids = text_span_ids_create();
    const char *text = "a b a c b a";
    TEST_EQ_INT(text_span_ids_get(ids, text, 1), 0);
    TEST_EQ_INT(text_span_ids_get(ids, text + 2, 1), 1);
    TEST_EQ_INT(text_span_ids_get(ids, text + 4, 1), 0);
    TEST_EQ_INT(text_span_ids_get(ids, text + 6, 1), 2);
    TEST_EQ_INT(text_span_ids_count(ids), 3);
    text_span_ids_reset(ids);
    TEST_EQ_INT(text_span_ids_get(ids, text + 6, 1), 0);
    for (int i = 0; i < 3000; i++) { /* growth keeps earlier ids */
        static char words[3000][16]; /* room for "x" and any int, as -Wformat-truncation asks */
        snprintf(words[i], sizeof words[i], "x%d", i);
        TEST_EQ_INT(text_span_ids_get(ids, words[i], strlen(words[i])), i + 1);
    }
    TEST_EQ_INT(text_span_ids_get(ids, "c", 1), 0);
    text_span_ids_free(ids);
}

const bb_test bb_suite_text_tokenize[] = {
    {"treebank_hand_cases", test_treebank_hand_cases},
    {"treebank_matches_nltk_oracle", test_treebank_matches_nltk_oracle},
    {"treebank_keeps_case_when_asked", test_treebank_keeps_case_when_asked},
    {"whitespace_tokenizer_is_str_split", test_whitespace_tokenizer_is_str_split},
    {"rouge_tokenizer_rules", test_rouge_tokenizer_rules},
    {"encoder_stems_long_tokens_once", test_encoder_stems_long_tokens_once},
    {"porter_hand_cases", test_porter_hand_cases},
    {"porter_matches_nltk_oracle", test_porter_matches_nltk_oracle},
    {"utf8_check_rejects_what_python_rejects", test_utf8_check_rejects_what_python_rejects},
    {"lower_is_python_str_lower", test_lower_is_python_str_lower},
    {"vocab_and_span_ids", test_vocab_and_span_ids},
    {NULL, NULL},
};
