/* synth_text — the words of the synthetic generator: aspect phrases, titles, summaries and
 * explanation sentences (DESIGN §2 "Synthetic generator").
 *
 * Aspect phrases come in themes (dining, cafe, service, nightlife, mystery, romance, ...),
 * 8 phrases each; a group draws its aspects from one theme, so groups and aspects agree.
 * Every phrase has 2+ words and holds no comma and no word "and", so a summary
 *     "<lead-in> p1, p2 and p3."
 * splits back into its phrases on commas and " and " once the lead-in is removed; the
 * lead-ins are listed in datasets/FORMAT.md and by bb_synth_user_leadin/item_leadin.
 *
 * All text is written into caller buffers with snprintf (cut at cap); nothing to free.
 */
#ifndef BB_SYNTH_TEXT_H
#define BB_SYNTH_TEXT_H

#include <stddef.h>

#include "models/base/bb_rng.h"

#define BB_SYNTH_THEMES 12
#define BB_SYNTH_PHRASES_PER_THEME 8
#define BB_SYNTH_MAX_ASPECTS (BB_SYNTH_THEMES * BB_SYNTH_PHRASES_PER_THEME)
#define BB_SYNTH_USER_LEADINS 4
#define BB_SYNTH_ITEM_LEADINS 4

/* Phrase k of theme t. */
const char *bb_synth_phrase(int theme, int k);
/* Lead-in k of user / item summaries, e.g. "This user enjoys". */
const char *bb_synth_user_leadin(int k);
const char *bb_synth_item_leadin(int k);

/* A title such as "The Silent Harbor", "Maya's Lantern" or "Blue Fig House". */
void bb_synth_title(bb_rng *r, char *out, size_t cap);
/* "<lead-in> p1, p2 and p3." */
void bb_synth_user_summary(bb_rng *r, const char *const *phrases, int n, char *out, size_t cap);
void bb_synth_item_summary(bb_rng *r, const char *const *phrases, int n, char *out, size_t cap);
/* An explanation naming the item title and its mentioned aspects; user_only (may be NULL)
 * is an aspect of the user the item lacks, used by templates that name the user's taste. */
void bb_synth_explanation(bb_rng *r, const char *title, const char *const *mention, int n,
                          const char *user_only, char *out, size_t cap);

#endif
