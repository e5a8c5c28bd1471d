/* beat_phrases — interest phrases split from a user or item summary (DESIGN §4.5).
 *
 * BEAT extracts up to 10 interest phrases per entity with an LLM; beatbench splits them
 * deterministically from the summary instead:
 *   1. sentences end at '.', '!' or '?' followed by a space and an upper-case letter (or the
 *      end), outside parentheses and quotes ("St. Louis" is not an end);
 *   2. discourse openers go ("Based on the user's reviews and ratings," "Overall,"
 *      "Additionally," ...), then the lead-in: a subject ("This user", "The user", "They",
 *      "It", "Its fans", "Regulars", "Fans of", "Users who", ...), auxiliaries ("is likely
 *      to", "would", "also", ...), a verb of liking ("enjoy", "appreciates", "looks for",
 *      "is known for", "offers", "praise", "love", ...) and a generic object with its
 *      connector ("businesses that offer", "books with", "restaurants offering", ...);
 *   3. in audience-style item summaries ("Fans of X would enjoy <Name> in <City> for its Y")
 *      the verb clause and the name that follows it are cut, keeping X and Y;
 *   4. the rest splits on top-level commas, semicolons and the word "and" (not inside
 *      parentheses or quotes); each piece loses leading connectors ("and", "as well as",
 *      "especially those who enjoy", "such as", "with", ...) and end punctuation;
 *   5. pieces of 2+ words are kept, case-insensitive duplicates dropped, at most
 *      max_phrases (<= BEAT_PHRASES_MAX) in order of appearance.
 * The lead-ins of the synthetic generator (datasets/synth_text.h) are all recognised, so a
 * synthetic summary splits back into exactly its planted aspect phrases.
 *
 * Ownership: a beat_phrase_list owns its text buffer; items point into it. Free with
 * beat_phrase_list_free (also after an empty result).
 */
#ifndef BEAT_PHRASES_H
#define BEAT_PHRASES_H

#define BEAT_PHRASES_MAX 10

typedef struct beat_phrase_list {
    int n;
    const char *items[BEAT_PHRASES_MAX]; /* NUL-terminated phrases, point into buf */
    char *buf;                           /* owned */
} beat_phrase_list;

/* Splits summary (may be NULL or empty: no phrases) into at most max_phrases phrases. */
void beat_phrases_split(const char *summary, int max_phrases, beat_phrase_list *out);
void beat_phrase_list_free(beat_phrase_list *l);

#endif
