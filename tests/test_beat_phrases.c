/* Tests for the interest-phrase splitter (models/beat/beat_phrases.h): the synthetic
 * generator's summaries split back into exactly the planted aspect phrases (every lead-in,
 * every phrase), hand-made summaries in the style of the XRec ones, edge cases, and
 * properties on the real summaries of ../shared/datasets when present. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "datasets/dataset.h"
#include "datasets/synth.h"
#include "datasets/synth_text.h"
#include "models/base/bb_io.h"
#include "models/beat/beat_phrases.h"
#include "tests/testhelp.h"

/* Splits text and compares with the expected phrases (NULL-terminated list). */
static int check_split(const char *text, int max, const char *const *want, char *why, size_t cap) {
    beat_phrase_list l;
    beat_phrases_split(text, max, &l);
    int n_want = 0;
    while (want[n_want]) n_want++;
    int ok = l.n == n_want;
    for (int k = 0; ok && k < n_want; k++) ok = strcmp(l.items[k], want[k]) == 0;
    if (!ok) {
        int at = snprintf(why, cap, "\"%s\" -> %d phrases:", text, l.n);
        for (int k = 0; k < l.n && at < (int)cap; k++)
            at += snprintf(why + at, cap - (size_t)at, " [%s]", l.items[k]);
    }
    beat_phrase_list_free(&l);
    return ok;
}

#define CHECK_SPLIT(text, max, ...)                                                         \
    do {                                                                                    \
        const char *const want_[] = {__VA_ARGS__, NULL};                                   \
        char why_[1024];                                                                    \
        if (!check_split((text), (max), want_, why_, sizeof why_)) {                        \
            bb_test_fail(__FILE__, __LINE__, "%s", why_);                                   \
            return;                                                                         \
        }                                                                                   \
    } while (0)

static int count_phrases(const char *text) {
    beat_phrase_list l;
    beat_phrases_split(text, BEAT_PHRASES_MAX, &l);
    int n = l.n;
    beat_phrase_list_free(&l);
    return n;
}

/* ------------------------------------------------------------------------------------------
 * Synthetic */

static void test_every_synthetic_leadin_and_phrase(void) {
    /* "<lead-in> p1, p2 and p3." for every lead-in and every phrase of the table */
    char text[512];
    for (int user = 0; user < 2; user++) {
        int n_leadins = user ? BB_SYNTH_USER_LEADINS : BB_SYNTH_ITEM_LEADINS;
        for (int li = 0; li < n_leadins; li++)
            for (int th = 0; th < BB_SYNTH_THEMES; th++)
                for (int k = 0; k + 2 < BB_SYNTH_PHRASES_PER_THEME; k += 3) {
                    const char *p[3] = {bb_synth_phrase(th, k), bb_synth_phrase(th, k + 1),
                                        bb_synth_phrase(th, k + 2)};
                    snprintf(text, sizeof text, "%s %s, %s and %s.",
                             user ? bb_synth_user_leadin(li) : bb_synth_item_leadin(li), p[0],
                             p[1], p[2]);
                    const char *const want[] = {p[0], p[1], p[2], NULL};
                    char why[1024];
                    if (!check_split(text, 10, want, why, sizeof why)) {
                        bb_test_fail(__FILE__, __LINE__, "%s", why);
                        return;
                    }
                }
    }
    /* the phrases left over by the triples above (k = 6, 7 of each theme), in pairs */
    for (int th = 0; th < BB_SYNTH_THEMES; th++) {
        snprintf(text, sizeof text, "%s %s and %s.", bb_synth_user_leadin(th % 4),
                 bb_synth_phrase(th, 6), bb_synth_phrase(th, 7));
        const char *const want[] = {bb_synth_phrase(th, 6), bb_synth_phrase(th, 7), NULL};
        char why[1024];
        if (!check_split(text, 10, want, why, sizeof why)) {
            bb_test_fail(__FILE__, __LINE__, "%s", why);
            return;
        }
    }
}

static void test_synthetic_summaries_give_planted_phrases(void) {
    bb_synth_config cfg;
    bb_synth_default_config(&cfg);
    bb_synth s;
    bb_error err;
    TEST_OK(bb_synth_generate(&cfg, &s, &err), &err);
    int mismatches = 0, checked = 0;
    char first_bad[512] = "";
    for (size_t r = 0; r < s.expl.n; r++) {
        for (int side = 0; side < 2; side++) {
            const bb_explanation *row = &s.expl.rows[r];
            const bb_aspect_lists *al = side ? &s.item_aspects : &s.user_aspects;
            int32_t e = side ? row->iid : row->uid;
            beat_phrase_list l;
            beat_phrases_split(side ? row->item_summary : row->user_summary, 10, &l);
            int ok = l.n == al->off[e + 1] - al->off[e];
            for (int k = 0; ok && k < l.n; k++)
                ok = strcmp(l.items[k], s.aspect_phrase[al->list[al->off[e] + k]]) == 0;
            if (!ok && !mismatches)
                snprintf(first_bad, sizeof first_bad, "%s",
                         side ? row->item_summary : row->user_summary);
            mismatches += !ok;
            checked++;
            beat_phrase_list_free(&l);
        }
    }
    bb_synth_free(&s);
    if (mismatches) bb_test_fail(__FILE__, __LINE__, "first mismatch: \"%s\"", first_bad);
    TEST_EQ_INT(mismatches, 0);
    TEST_TRUE(checked >= 2000);
}

/* ------------------------------------------------------------------------------------------
 * Hand-made summaries in the style of the XRec ones */

static void test_user_summary_styles(void) {
    CHECK_SPLIT("This user is likely to enjoy businesses that offer smoky barbecue, crisp "
                "salads, and friendly staff.",
                10, "smoky barbecue", "crisp salads", "friendly staff");
    CHECK_SPLIT("The user is likely to enjoy restaurants with attentive service and fresh "
                "pasta. They appreciate quiet patios, affordable wine and good music.",
                10, "attentive service", "fresh pasta", "quiet patios", "affordable wine",
                "good music");
    CHECK_SPLIT("Based on the user's reviews and ratings, this user is likely to enjoy books "
                "that are suspenseful and well paced, books with strong heroines and witty "
                "dialogue.",
                10, "suspenseful and well paced", "strong heroines", "witty dialogue");
    /* a one-word left side of "and" is a coordinated modifier, not a phrase */
    CHECK_SPLIT("It can be inferred that the user enjoys warm and flaky pastries; strong "
                "espresso. Overall, the user prefers quiet corners.",
                10, "warm and flaky pastries", "strong espresso", "quiet corners");
}

static void test_item_summary_styles(void) {
    /* the name between "would enjoy" and the reasons is cut */
    CHECK_SPLIT("Fans of spicy noodles and late night snacks would enjoy Golden Bowl in "
                "Tucson for its generous portions, quick service, and cozy booths.",
                10, "spicy noodles", "late night snacks", "generous portions", "quick service",
                "cozy booths");
    CHECK_SPLIT("Users who enjoy craft cocktails, live music, and outdoor seating would "
                "appreciate Blue Fig House, especially those who love small plates.",
                10, "craft cocktails", "live music", "outdoor seating", "small plates");
    CHECK_SPLIT("Readers who enjoy slow burn romance with a touch of mystery would enjoy this "
                "book.",
                10, "slow burn romance with a touch of mystery");
}

/* ------------------------------------------------------------------------------------------
 * Edge cases */

static void test_edge_cases(void) {
    TEST_EQ_INT(count_phrases(NULL), 0);
    TEST_EQ_INT(count_phrases(""), 0);
    TEST_EQ_INT(count_phrases("   "), 0);
    TEST_EQ_INT(count_phrases("This user enjoys."), 0);
    TEST_EQ_INT(count_phrases("This user enjoys pizza, pasta, bread."), 0); /* one word each */
    /* "pasta and bread": a one-word left side stays with the right side */
    TEST_EQ_INT(count_phrases("This user enjoys pizza, pasta and bread."), 1);
    /* parentheses and quotes are not split */
    CHECK_SPLIT("This user enjoys bars (pubs, taverns and lounges) and \"dinner, then dancing\" "
                "nights, plus quiet cafes.",
                10, "bars (pubs, taverns and lounges)", "\"dinner, then dancing\" nights",
                "quiet cafes");
    /* abbreviations and initials do not end a sentence */
    CHECK_SPLIT("This user enjoys diners in St. Louis and novels by J. K. Rowling.", 10,
                "diners in St. Louis", "novels by J. K. Rowling");
    /* case-insensitive duplicates go, the limit cuts */
    CHECK_SPLIT("This user enjoys live music, Live Music, cold beer, hot wings, late hours.", 2,
                "live music", "cold beer");
    beat_phrase_list l;
    beat_phrases_split("This user enjoys a b, c d, e f, g h, i j, k l, m n, o p, q r, s t, u v, "
                       "w x.", 99, &l);
    TEST_EQ_INT(l.n, BEAT_PHRASES_MAX); /* never more than 10 */
    TEST_STR_EQ(l.items[9], "s t");
    beat_phrase_list_free(&l);
    /* leading connectors of a piece */
    CHECK_SPLIT("They enjoy warm bread, as well as strong coffee, and especially those who "
                "love fresh fruit.",
                10, "warm bread", "strong coffee", "fresh fruit");
}

/* ------------------------------------------------------------------------------------------
 * Real summaries */

static int starts_with_ci(const char *s, const char *prefix) {
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static void test_real_summaries_properties(void) {
    if (getenv("BB_VALGRIND")) TEST_SKIP("real summaries: 18,000 texts, slow under valgrind");
    const char *shared = bb_test_shared_dir();
    if (!shared) TEST_SKIP("no ../shared/datasets");
    const char *names[3] = {"amazon", "yelp", "google"};
    /* never at the start of a phrase */
    static const char *const banned[] = {"based on", "fans of", "users who", "and ", "or ",
                                         "as well as ", NULL};
    /* rare: lead-ins the word lists do not know ("The user does not mind X") */
    static const char *const rare[] = {"this user ", "the user ", "they ", "it ", NULL};
    int datasets = 0;
    for (int k = 0; k < 3; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/datasets/%s/explanations.csv", shared, names[k]);
        if (!bb_path_exists(path)) continue;
        bb_explanations ex;
        bb_error err;
        TEST_OK(bb_explanations_load(path, &ex, &err), &err);
        size_t texts = 0, empty = 0, total = 0, leftover = 0;
        char bad[512] = "";
        for (size_t r = 0; r < ex.n; r++)
            for (int side = 0; side < 2; side++) {
                const char *s = side ? ex.rows[r].item_summary : ex.rows[r].user_summary;
                beat_phrase_list l;
                beat_phrases_split(s, 10, &l);
                texts++;
                total += (size_t)l.n;
                empty += l.n == 0;
                for (int p = 0; p < l.n && !bad[0]; p++) {
                    const char *ph = l.items[p];
                    size_t len = strlen(ph);
                    int words = 0, in = 0;
                    for (const char *c = ph; *c; c++) {
                        if (!isspace((unsigned char)*c) && !in) words++;
                        in = !isspace((unsigned char)*c);
                    }
                    int ok = words >= 2 && len > 0 && !isspace((unsigned char)ph[0]) &&
                             !isspace((unsigned char)ph[len - 1]) && !strchr(",;:.", ph[len - 1]);
                    for (int b = 0; ok && banned[b]; b++) ok = !starts_with_ci(ph, banned[b]);
                    for (int b = 0; rare[b]; b++) leftover += starts_with_ci(ph, rare[b]);
                    if (!ok) snprintf(bad, sizeof bad, "%s: [%s] from \"%s\"", names[k], ph, s);
                }
                if (l.n > 10 && !bad[0]) snprintf(bad, sizeof bad, "%s: %d phrases", names[k], l.n);
                beat_phrase_list_free(&l);
            }
        bb_explanations_free(&ex);
        if (bad[0]) bb_test_fail(__FILE__, __LINE__, "%s", bad);
        if (bad[0]) return;
        /* nearly every summary yields phrases, several on average */
        TEST_TRUE(empty * 100 <= texts);
        TEST_TRUE(total >= 3 * texts);
        TEST_TRUE(leftover * 100 <= total);
        datasets++;
    }
    if (!datasets) TEST_SKIP("no explanations.csv under ../shared/datasets");
}

const bb_test bb_suite_beat_phrases[] = {
    {"every_synthetic_leadin_and_phrase", test_every_synthetic_leadin_and_phrase},
    {"synthetic_summaries_give_planted_phrases", test_synthetic_summaries_give_planted_phrases},
    {"user_summary_styles", test_user_summary_styles},
    {"item_summary_styles", test_item_summary_styles},
    {"edge_cases", test_edge_cases},
    {"real_summaries_properties", test_real_summaries_properties},
    {NULL, NULL},
};
