/* porter — the Porter stemmer exactly as nltk 3.8's PorterStemmer() (mode NLTK_EXTENSIONS,
 * the default, which rouge_score uses).
 *
 * Porter, M. "An algorithm for suffix stripping", Program 14(3), 1980, with the
 * modifications nltk applies in NLTK_EXTENSIONS mode: a pool of irregular forms
 * (dying -> die, skies -> sky, ...), words of at most two characters left alone,
 * "ies"/"ied" of four-letter words -> "ie", step 1c's y -> i only after a consonant that is
 * not the first letter, step 2's "alli" recursion, "bli" -> "ble", "fulli" -> "ful",
 * "logi" -> "log", and the two-letter *o condition.
 *
 * porter_stem(word, len, out) lower-cases word as Python's str.lower() does, stems it and
 * writes the UTF-8 stem into out, which must hold PORTER_STEM_CAPACITY(len) bytes; returns
 * the stem's length. Like nltk it works on code points, so any valid UTF-8 is accepted
 * (non-ASCII letters count as consonants). Pure and thread-safe.
 */
#ifndef BB_PORTER_H
#define BB_PORTER_H

#include <stddef.h>

#define PORTER_STEM_CAPACITY(len) ((len) + (len) / 2 + 16)

size_t porter_stem(const char *word, size_t len, char *out);

#endif
