/* diversity — corpus-level diversity of generated texts.
 *
 *   Distinct-n (Li et al., 2016): over all candidates, tokens = text.lower().split();
 *       number of distinct n-grams / total n-grams (n-grams do not cross texts; 0 when
 *       there are none)
 *   USR, unique sentence ratio: tokens = text.split() (case kept); number of distinct token
 *       sequences / number of texts (so texts differing only in spacing count once)
 *   mean length: mean number of whitespace tokens per text
 * All zero for an empty corpus.
 */
#ifndef BB_DIVERSITY_H
#define BB_DIVERSITY_H

#include <stddef.h>

typedef struct diversity_result {
    double distinct1, distinct2, usr, len_mean;
} diversity_result;

/* texts[i] has lens[i] bytes of valid UTF-8. */
void diversity_compute(const char *const *texts, const size_t *lens, size_t n,
                       diversity_result *out);

#endif
