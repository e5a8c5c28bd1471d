/* lm_bpe — byte-level BPE: pre-tokenisation, training, encoding, decoding (see lm_bpe.h).
 * Saving and loading live in lm_bpe_io.c. */
#include "models/lm/lm_bpe.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

static const char *const special_names[LM_N_SPECIAL] = {"<bos>", "<eos>", "<pad>",
                                                        "<U>",   "<I>",   "<EXPLAIN>"};

const char *lm_bpe_special_name(lm_special which) {
    BB_ASSERT(which >= 0 && which < LM_N_SPECIAL, "unknown special token %d", (int)which);
    return special_names[which];
}

void lm_ids_push(lm_ids *ids, int32_t id) {
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 64;
        ids->v = bb_realloc(ids->v, ids->cap * sizeof *ids->v);
    }
    ids->v[ids->n++] = id;
}

void lm_ids_free(lm_ids *ids) {
    free(ids->v);
    memset(ids, 0, sizeof *ids);
}

/* ================================ pre-tokenisation ================================== */

enum { CLS_SPACE, CLS_LETTER, CLS_DIGIT, CLS_OTHER };

static int byte_class(unsigned char c) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return CLS_SPACE;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return CLS_LETTER;
    if (c >= '0' && c <= '9') return CLS_DIGIT;
    return CLS_OTHER;
}

static size_t run_end(const unsigned char *s, size_t len, size_t j, int cls) {
    while (j < len && byte_class(s[j]) == cls) j++;
    return j;
}

size_t lm_bpe_chunk_end(const char *text, size_t len, size_t pos) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = pos, end;
    BB_ASSERT(pos < len, "chunk start %zu beyond text length %zu", pos, len);
    int cls = byte_class(s[i]);
    if (s[i] == ' ' && i + 1 < len && byte_class(s[i + 1]) != CLS_SPACE) i++; /* lead space */
    cls = byte_class(s[i]);
    if (cls == CLS_SPACE) {
        end = run_end(s, len, i, CLS_SPACE);
        /* Leave a final space to the word that follows (" word" is the common chunk). */
        if (end < len && end - i > 1 && s[end - 1] == ' ') end--;
    } else if (s[i] == '\'' && i + 1 < len && byte_class(s[i + 1]) == CLS_LETTER) {
        end = run_end(s, len, i + 1, CLS_LETTER); /* "'s", "'ll" */
    } else {
        end = run_end(s, len, i, cls);
    }
    if (end - pos > LM_BPE_MAX_CHUNK) end = pos + LM_BPE_MAX_CHUNK;
    return end;
}

/* ==================================== training ====================================== */

typedef struct heap_entry {
    int64_t count;
    int32_t a, b;
} heap_entry;

/* Max-heap order: more frequent first; ties by the lowest (a, b) so training is
 * deterministic whatever the hash-table layout. */
static int entry_before(const heap_entry *x, const heap_entry *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

typedef struct pair_heap {
    heap_entry *e;
    size_t n, cap;
} pair_heap;

static void heap_push(pair_heap *h, heap_entry v) {
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->e = bb_realloc(h->e, h->cap * sizeof *h->e);
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!entry_before(&v, &h->e[parent])) break;
        h->e[i] = h->e[parent];
        i = parent;
    }
    h->e[i] = v;
}

static heap_entry heap_pop(pair_heap *h) {
    heap_entry top = h->e[0], last = h->e[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && entry_before(&h->e[c + 1], &h->e[c])) c++;
        if (!entry_before(&h->e[c], &last)) break;
        h->e[i] = h->e[c];
        i = c;
    }
    if (h->n) h->e[i] = last;
    return top;
}

typedef struct word_list {
    int32_t *w;
    size_t n, cap;
} word_list;

/* Pair statistics: slot per distinct pair, found through a (a << 32 | b) map. */
typedef struct pair_stats {
    lm_u64map index;
    int64_t *count;
    int32_t *a, *b;
    word_list *where; /* words that contain (or once contained) the pair */
    uint32_t *stamp;  /* de-duplicates the "touched" list of one merge */
    size_t n, cap;
} pair_stats;

static uint64_t pair_key(int32_t a, int32_t b) {
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

static size_t pair_slot(pair_stats *ps, int32_t a, int32_t b) {
    int added;
    int64_t *slot = lm_u64map_upsert(&ps->index, pair_key(a, b), (int64_t)ps->n, &added);
    if (added) {
        if (ps->n == ps->cap) {
            ps->cap = ps->cap ? ps->cap * 2 : 4096;
            ps->count = bb_realloc(ps->count, ps->cap * sizeof *ps->count);
            ps->a = bb_realloc(ps->a, ps->cap * sizeof *ps->a);
            ps->b = bb_realloc(ps->b, ps->cap * sizeof *ps->b);
            ps->where = bb_realloc(ps->where, ps->cap * sizeof *ps->where);
            ps->stamp = bb_realloc(ps->stamp, ps->cap * sizeof *ps->stamp);
        }
        size_t s = ps->n++;
        ps->count[s] = 0;
        ps->a[s] = a;
        ps->b[s] = b;
        memset(&ps->where[s], 0, sizeof ps->where[s]);
        ps->stamp[s] = 0;
    }
    return (size_t)*slot;
}

static void word_list_push(word_list *l, int32_t w) {
    if (l->n && l->w[l->n - 1] == w) return; /* a word repeating a pair is listed once */
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->w = bb_realloc(l->w, l->cap * sizeof *l->w);
    }
    l->w[l->n++] = w;
}

static void pair_stats_free(pair_stats *ps) {
    for (size_t i = 0; i < ps->n; i++) free(ps->where[i].w);
    free(ps->count);
    free(ps->a);
    free(ps->b);
    free(ps->where);
    free(ps->stamp);
    lm_u64map_free(&ps->index);
}

/* The distinct chunks of the corpus as token sequences; merges only shrink them. */
typedef struct word_set {
    int32_t *ids; /* all words' ids, word w at ids + off[w] */
    size_t *off;
    int32_t *len;
    int64_t *freq;
    uint32_t *stamp;
    size_t n;
} word_set;

static void collect_words(const char *const *texts, const size_t *lens, size_t n_texts,
                          word_set *ws) {
    lm_strmap counts;
    lm_strmap_init(&counts, 1 << 16);
    for (size_t t = 0; t < n_texts; t++) {
        const char *s = texts[t];
        size_t len = lens ? lens[t] : strlen(s);
        for (size_t pos = 0; pos < len;) {
            size_t end = lm_bpe_chunk_end(s, len, pos);
            (*lm_strmap_upsert(&counts, s + pos, end - pos, 0, NULL))++;
            pos = end;
        }
    }
    ws->n = counts.n;
    ws->off = bb_malloc((ws->n + 1) * sizeof *ws->off);
    ws->len = bb_malloc((ws->n + 1) * sizeof *ws->len);
    ws->freq = bb_malloc((ws->n + 1) * sizeof *ws->freq);
    ws->stamp = bb_calloc(ws->n + 1, sizeof *ws->stamp);
    ws->ids = bb_malloc((counts.blob_len + 1) * sizeof *ws->ids);
    size_t w = 0, total = 0;
    for (size_t slot = 0; slot < counts.cap; slot++) {
        size_t klen;
        const char *key = lm_strmap_key(&counts, slot, &klen);
        if (!key) continue;
        ws->off[w] = total;
        ws->len[w] = (int32_t)klen;
        ws->freq[w] = counts.vals[slot];
        for (size_t i = 0; i < klen; i++) ws->ids[total + i] = (unsigned char)key[i];
        total += klen;
        w++;
    }
    lm_strmap_free(&counts);
}

/* Removes (sign -1) or adds (sign +1) the pairs of word w to the statistics; touched pairs
 * are listed once per merge (stamp) so their new counts can be pushed on the heap. */
static void account_word(pair_stats *ps, const word_set *ws, int32_t w, int sign, int32_t new_id,
                         uint32_t stamp, word_list *touched) {
    const int32_t *ids = ws->ids + ws->off[w];
    for (int32_t i = 0; i + 1 < ws->len[w]; i++) {
        size_t s = pair_slot(ps, ids[i], ids[i + 1]);
        ps->count[s] += sign * ws->freq[w];
        if (sign > 0 && (ids[i] == new_id || ids[i + 1] == new_id))
            word_list_push(&ps->where[s], w);
        if (ps->stamp[s] != stamp) {
            ps->stamp[s] = stamp;
            word_list_push(touched, (int32_t)s);
        }
    }
}

/* Replaces every (a, b) in the word by new_id, scanning left to right. */
static int merge_in_word(word_set *ws, int32_t w, int32_t a, int32_t b, int32_t new_id) {
    int32_t *ids = ws->ids + ws->off[w];
    int32_t n = ws->len[w], out = 0, changed = 0;
    for (int32_t i = 0; i < n; i++) {
        if (i + 1 < n && ids[i] == a && ids[i + 1] == b) {
            ids[out++] = new_id;
            i++;
            changed = 1;
        } else {
            ids[out++] = ids[i];
        }
    }
    ws->len[w] = out;
    return changed;
}

static int word_has_pair(const word_set *ws, int32_t w, int32_t a, int32_t b) {
    const int32_t *ids = ws->ids + ws->off[w];
    for (int32_t i = 0; i + 1 < ws->len[w]; i++)
        if (ids[i] == a && ids[i + 1] == b) return 1;
    return 0;
}

static lm_bpe *bpe_from_merges(const int32_t *merges, int32_t n_merges);

int lm_bpe_train(const char *const *texts, const size_t *lens, size_t n_texts, int vocab_size,
                 int min_frequency, lm_bpe **out, bb_error *err) {
    *out = NULL;
    if (vocab_size < 256 + LM_N_SPECIAL)
        return bb_fail(err, "BPE vocab_size %d is below the %d byte and special tokens", vocab_size,
                       256 + LM_N_SPECIAL);
    if (min_frequency < 1) min_frequency = 1;
    word_set ws;
    collect_words(texts, lens, n_texts, &ws);

    pair_stats ps;
    memset(&ps, 0, sizeof ps);
    lm_u64map_init(&ps.index, 1 << 14);
    pair_heap heap = {0};
    word_list touched = {0};
    uint32_t stamp = 1;
    for (size_t w = 0; w < ws.n; w++) account_word(&ps, &ws, (int32_t)w, +1, -1, stamp, &touched);
    /* Initial pairs: every word is recorded in the lists of its own pairs. */
    for (size_t w = 0; w < ws.n; w++) {
        const int32_t *ids = ws.ids + ws.off[w];
        for (int32_t i = 0; i + 1 < ws.len[w]; i++)
            word_list_push(&ps.where[pair_slot(&ps, ids[i], ids[i + 1])], (int32_t)w);
    }
    for (size_t s = 0; s < ps.n; s++)
        if (ps.count[s] > 0) heap_push(&heap, (heap_entry){ps.count[s], ps.a[s], ps.b[s]});

    int32_t max_merges = vocab_size - 256 - LM_N_SPECIAL, n_merges = 0;
    int32_t *merges = bb_malloc(2 * (size_t)(max_merges + 1) * sizeof *merges);
    while (n_merges < max_merges && heap.n) {
        heap_entry top = heap_pop(&heap);
        int64_t cur;
        lm_u64map_get(&ps.index, pair_key(top.a, top.b), &cur);
        size_t slot = (size_t)cur;
        if (ps.count[slot] != top.count) continue; /* stale entry */
        if (top.count < min_frequency) break;
        int32_t new_id = 256 + n_merges;
        merges[2 * n_merges] = top.a;
        merges[2 * n_merges + 1] = top.b;
        n_merges++;

        stamp++;
        touched.n = 0;
        word_list users = ps.where[slot]; /* taken: the slot's list is rebuilt below */
        memset(&ps.where[slot], 0, sizeof ps.where[slot]);
        for (size_t k = 0; k < users.n; k++) {
            int32_t w = users.w[k];
            if (ws.stamp[w] == stamp || !word_has_pair(&ws, w, top.a, top.b)) continue;
            ws.stamp[w] = stamp;
            account_word(&ps, &ws, w, -1, new_id, stamp, &touched);
            merge_in_word(&ws, w, top.a, top.b, new_id);
            account_word(&ps, &ws, w, +1, new_id, stamp, &touched);
        }
        free(users.w);
        for (size_t k = 0; k < touched.n; k++) {
            size_t s = (size_t)touched.w[k];
            BB_ASSERT(ps.count[s] >= 0, "BPE pair count went negative for (%d, %d)", ps.a[s],
                      ps.b[s]);
            if (ps.count[s] > 0) heap_push(&heap, (heap_entry){ps.count[s], ps.a[s], ps.b[s]});
        }
    }
    *out = bpe_from_merges(merges, n_merges);
    free(merges);
    free(heap.e);
    free(touched.w);
    pair_stats_free(&ps);
    free(ws.ids);
    free(ws.off);
    free(ws.len);
    free(ws.freq);
    free(ws.stamp);
    return BB_OK;
}

/* ============================== construction and lookup ============================== */

static lm_bpe *bpe_from_merges(const int32_t *merges, int32_t n_merges) {
    lm_bpe *tok = bb_calloc(1, sizeof *tok);
    tok->n_merges = n_merges;
    tok->vocab_size = 256 + n_merges + LM_N_SPECIAL;
    tok->merges = bb_malloc((2 * (size_t)n_merges + 1) * sizeof *tok->merges);
    if (n_merges) memcpy(tok->merges, merges, 2 * (size_t)n_merges * sizeof *merges);
    /* Token bytes: each merge's bytes are its parts' bytes (parts have lower ids). */
    size_t *lens = bb_malloc((size_t)tok->vocab_size * sizeof *lens);
    size_t total = 0;
    for (int32_t t = 0; t < tok->vocab_size; t++) {
        if (t < 256)
            lens[t] = 1;
        else if (t < 256 + n_merges)
            lens[t] = lens[merges[2 * (t - 256)]] + lens[merges[2 * (t - 256) + 1]];
        else
            lens[t] = strlen(special_names[t - 256 - n_merges]);
        total += lens[t];
    }
    tok->tok_off = bb_malloc(((size_t)tok->vocab_size + 1) * sizeof *tok->tok_off);
    tok->tok_bytes = bb_malloc(total + 1);
    size_t off = 0;
    for (int32_t t = 0; t < tok->vocab_size; t++) {
        tok->tok_off[t] = off;
        if (t < 256) {
            tok->tok_bytes[off] = (char)t;
        } else if (t < 256 + n_merges) {
            int32_t a = merges[2 * (t - 256)], b = merges[2 * (t - 256) + 1];
            memcpy(tok->tok_bytes + off, tok->tok_bytes + tok->tok_off[a], lens[a]);
            memcpy(tok->tok_bytes + off + lens[a], tok->tok_bytes + tok->tok_off[b], lens[b]);
        } else {
            memcpy(tok->tok_bytes + off, special_names[t - 256 - n_merges], lens[t]);
        }
        off += lens[t];
    }
    tok->tok_off[tok->vocab_size] = off;
    free(lens);
    lm_u64map_init(&tok->ranks, (size_t)n_merges + 1);
    for (int32_t i = 0; i < n_merges; i++)
        *lm_u64map_upsert(&tok->ranks, pair_key(merges[2 * i], merges[2 * i + 1]), i, NULL) = i;
    lm_strmap_init(&tok->cache, 1 << 12);
    return tok;
}

lm_bpe *lm_bpe_from_merges(const int32_t *merges, int32_t n_merges) {
    return bpe_from_merges(merges, n_merges);
}

void lm_bpe_free(lm_bpe *tok) {
    if (!tok) return;
    free(tok->merges);
    free(tok->tok_bytes);
    free(tok->tok_off);
    lm_u64map_free(&tok->ranks);
    lm_strmap_free(&tok->cache);
    free(tok->cache_ids);
    free(tok);
}

int32_t lm_bpe_special(const lm_bpe *tok, lm_special which) {
    BB_ASSERT(which >= 0 && which < LM_N_SPECIAL, "unknown special token %d", (int)which);
    return 256 + tok->n_merges + (int32_t)which;
}

int lm_bpe_is_special(const lm_bpe *tok, int32_t id) {
    return id >= 256 + tok->n_merges && id < tok->vocab_size;
}

const char *lm_bpe_token_bytes(const lm_bpe *tok, int32_t id, size_t *len) {
    BB_ASSERT(id >= 0 && id < tok->vocab_size, "token id %d outside the vocabulary [0, %d)", id,
              tok->vocab_size);
    *len = tok->tok_off[id + 1] - tok->tok_off[id];
    return tok->tok_bytes + tok->tok_off[id];
}

/* ===================================== encoding ===================================== */

/* GPT-2's rule within one chunk: repeatedly apply the lowest-ranked merge present. */
static int32_t bpe_chunk(const lm_bpe *tok, const unsigned char *s, size_t len, int32_t *ids) {
    int32_t n = (int32_t)len;
    for (int32_t i = 0; i < n; i++) ids[i] = s[i];
    while (n > 1) {
        int64_t best = INT64_MAX;
        for (int32_t i = 0; i + 1 < n; i++) {
            int64_t r;
            if (lm_u64map_get(&tok->ranks, pair_key(ids[i], ids[i + 1]), &r) && r < best) best = r;
        }
        if (best == INT64_MAX) break;
        int32_t a = tok->merges[2 * best], b = tok->merges[2 * best + 1], out = 0;
        for (int32_t i = 0; i < n; i++) {
            if (i + 1 < n && ids[i] == a && ids[i + 1] == b) {
                ids[out++] = 256 + (int32_t)best;
                i++;
            } else {
                ids[out++] = ids[i];
            }
        }
        n = out;
    }
    return n;
}

/* Cache entries stop being added past this many ids, bounding memory on huge inputs. */
#define CACHE_MAX_IDS ((size_t)1 << 24)

void lm_bpe_encode(lm_bpe *tok, const char *text, size_t len, lm_ids *out) {
    int32_t ids[LM_BPE_MAX_CHUNK];
    for (size_t pos = 0; pos < len;) {
        size_t end = lm_bpe_chunk_end(text, len, pos);
        int64_t packed;
        if (lm_strmap_get(&tok->cache, text + pos, end - pos, &packed)) {
            const int32_t *cached = tok->cache_ids + (packed >> 8);
            for (int64_t i = 0; i < (packed & 255); i++) lm_ids_push(out, cached[i]);
        } else {
            int32_t n = bpe_chunk(tok, (const unsigned char *)text + pos, end - pos, ids);
            for (int32_t i = 0; i < n; i++) lm_ids_push(out, ids[i]);
            if (tok->cache_n + (size_t)n <= CACHE_MAX_IDS) {
                if (tok->cache_n + (size_t)n > tok->cache_cap) {
                    tok->cache_cap = tok->cache_cap ? tok->cache_cap * 2 : 4096;
                    while (tok->cache_n + (size_t)n > tok->cache_cap) tok->cache_cap *= 2;
                    tok->cache_ids = bb_realloc(tok->cache_ids, tok->cache_cap * sizeof(int32_t));
                }
                memcpy(tok->cache_ids + tok->cache_n, ids, (size_t)n * sizeof *ids);
                *lm_strmap_upsert(&tok->cache, text + pos, end - pos, 0, NULL) =
                    ((int64_t)tok->cache_n << 8) | n;
                tok->cache_n += (size_t)n;
            }
        }
        pos = end;
    }
}

void lm_bpe_encode_special(lm_bpe *tok, const char *text, size_t len, lm_ids *out) {
    size_t start = 0;
    for (size_t pos = 0; pos < len; pos++) {
        if (text[pos] != '<') continue;
        for (int k = 0; k < LM_N_SPECIAL; k++) {
            size_t sl = strlen(special_names[k]);
            if (pos + sl <= len && memcmp(text + pos, special_names[k], sl) == 0) {
                lm_bpe_encode(tok, text + start, pos - start, out);
                lm_ids_push(out, lm_bpe_special(tok, (lm_special)k));
                start = pos + sl;
                pos = start - 1;
                break;
            }
        }
    }
    lm_bpe_encode(tok, text + start, len - start, out);
}

char *lm_bpe_decode(const lm_bpe *tok, const int32_t *ids, size_t n, int keep_special,
                    size_t *len_out) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        lm_bpe_token_bytes(tok, ids[i], &l);
        if (keep_special || !lm_bpe_is_special(tok, ids[i])) total += l;
    }
    char *s = bb_malloc(total + 1), *p = s;
    for (size_t i = 0; i < n; i++) {
        if (!keep_special && lm_bpe_is_special(tok, ids[i])) continue;
        size_t l;
        const char *b = lm_bpe_token_bytes(tok, ids[i], &l);
        memcpy(p, b, l);
        p += l;
    }
    *p = '\0';
    if (len_out) *len_out = total;
    return s;
}
