/* diversity — Distinct-1/2, USR and mean length. See diversity.h.
 *
 * Distinct unigrams are distinct vocabulary ids; bigrams are packed into one 64-bit key
 * (two 32-bit ids, exact) in a hash set; token sequences for USR are kept in one id array
 * and compared exactly after a hash lookup.
 */
#include "metrics/diversity.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/text_tokenize.h"
#include "metrics/text_vocab.h"
#include "models/base/bb_io.h"

typedef struct key_set {
    uint64_t *keys; /* key + 1 stored, 0 = empty (keys are < 2^64 - 1) */
    size_t mask, count;
} key_set;

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    return x ^ (x >> 33);
}

static void key_set_insert(key_set *s, uint64_t key);

static void key_set_grow(key_set *s) {
    key_set bigger = {bb_calloc(2 * (s->mask + 1), sizeof(uint64_t)), 2 * (s->mask + 1) - 1, 0};
    for (size_t i = 0; i <= s->mask; i++)
        if (s->keys[i]) key_set_insert(&bigger, s->keys[i] - 1);
    free(s->keys);
    *s = bigger;
}

static void key_set_insert(key_set *s, uint64_t key) {
    size_t i = (size_t)mix64(key) & s->mask;
    while (s->keys[i]) {
        if (s->keys[i] == key + 1) return;
        i = (i + 1) & s->mask;
    }
    s->keys[i] = key + 1;
    if (2 * ++s->count > s->mask + 1) key_set_grow(s);
}

/* Distinct token sequences: each sequence is ids[start[k] .. start[k] + len[k]). */
typedef struct seq_set {
    int32_t *slots; /* sequence index + 1 */
    size_t mask, count;
} seq_set;

static uint64_t seq_hash(const int32_t *ids, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (size_t i = 0; i < n; i++) h = mix64(h ^ (uint32_t)ids[i]);
    return h;
}

void diversity_compute(const char *const *texts, const size_t *lens, size_t n,
                       diversity_result *out) {
    memset(out, 0, sizeof *out);
    if (n == 0) return;
    text_vocab *lower_vocab = text_vocab_create(), *case_vocab = text_vocab_create();
    text_encoder *lower_enc = text_encoder_create(TOKENIZER_WHITESPACE, 1, 0, lower_vocab);
    text_encoder *case_enc = text_encoder_create(TOKENIZER_WHITESPACE, 0, 0, case_vocab);
    key_set bigrams = {bb_calloc(1024, sizeof(uint64_t)), 1023, 0};
    size_t total_tokens = 0, total_bigrams = 0, words = 0;

    int32_t *all = NULL; /* every text's case-kept ids, back to back */
    size_t all_n = 0, all_cap = 0;
    size_t *start = bb_malloc(n * sizeof *start), *len = bb_malloc(n * sizeof *len);
    seq_set seqs = {NULL, 0, 0};
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    seqs.slots = bb_calloc(cap, sizeof *seqs.slots);
    seqs.mask = cap - 1;

    for (size_t t = 0; t < n; t++) {
        const int32_t *ids;
        size_t k = text_encoder_encode(lower_enc, texts[t], lens[t], &ids);
        total_tokens += k;
        for (size_t i = 0; i + 1 < k; i++)
            key_set_insert(&bigrams, ((uint64_t)(uint32_t)ids[i] << 32) | (uint32_t)ids[i + 1]);
        total_bigrams += k > 1 ? k - 1 : 0;

        k = text_encoder_encode(case_enc, texts[t], lens[t], &ids);
        words += k;
        if (all_n + k > all_cap) {
            all_cap = 2 * (all_n + k) + 64;
            all = bb_realloc(all, all_cap * sizeof *all);
        }
        if (k) memcpy(all + all_n, ids, k * sizeof *ids);
        start[t] = all_n;
        len[t] = k;
        all_n += k;
        size_t i = (size_t)seq_hash(all + start[t], k) & seqs.mask;
        for (;;) {
            int32_t s = seqs.slots[i];
            if (!s) {
                seqs.slots[i] = (int32_t)t + 1;
                seqs.count++;
                break;
            }
            size_t o = (size_t)(s - 1);
            if (len[o] == k && (k == 0 || memcmp(all + start[o], all + start[t], k * sizeof *all) == 0))
                break;
            i = (i + 1) & seqs.mask;
        }
    }
    /* distinct unigrams: every id of lower_vocab came from a candidate token */
    out->distinct1 = total_tokens ? (double)text_vocab_size(lower_vocab) / (double)total_tokens : 0;
    out->distinct2 = total_bigrams ? (double)bigrams.count / (double)total_bigrams : 0;
    out->usr = (double)seqs.count / (double)n;
    out->len_mean = (double)words / (double)n;

    free(seqs.slots);
    free(all);
    free(start);
    free(len);
    free(bigrams.keys);
    text_encoder_free(lower_enc);
    text_encoder_free(case_enc);
    text_vocab_free(lower_vocab);
    text_vocab_free(case_vocab);
}
