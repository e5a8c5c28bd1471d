/* synth_text — word lists and sentence templates of the synthetic generator.
 * See synth_text.h. The templates imitate the XRec explanations ("The user would enjoy X
 * because ...") and LLM-written profiles ("This user is likely to enjoy ...").
 */
#include "datasets/synth_text.h"

#include <stdio.h>
#include <string.h>

#include "models/base/bb_error.h"

/* ------------------------------------------------------------------------------------ */
/* aspect phrases, one theme per row                                                    */

static const char *const phrases[BB_SYNTH_THEMES][BB_SYNTH_PHRASES_PER_THEME] = {
    /* dining */
    {"generous portions", "fresh ingredients", "spicy dishes", "homemade desserts",
     "authentic recipes", "seasonal menu", "crispy fries", "slow cooked meats"},
    /* cafe */
    {"cozy atmosphere", "strong espresso", "fresh pastries", "quiet corners", "free wifi",
     "latte art", "loose leaf tea", "sunny patio"},
    /* service */
    {"quick service", "friendly staff", "fair prices", "easy parking", "clean restrooms",
     "online ordering", "late night hours", "helpful owners"},
    /* nightlife */
    {"craft beer", "live music", "creative cocktails", "happy hour deals", "packed dance floor",
     "rooftop views", "trivia nights", "lively crowd"},
    /* mystery */
    {"twisty plot", "clever detectives", "dark secrets", "surprise endings",
     "small town crimes", "slow burn suspense", "unreliable narrators",
     "cold case investigations"},
    /* romance */
    {"strong characters", "witty banter", "second chance romance", "steamy scenes",
     "emotional depth", "happy endings", "enemies to lovers", "small town charm"},
    /* fantasy and science fiction */
    {"epic world building", "clever magic systems", "space battles", "dragon lore",
     "time travel", "found family", "political intrigue", "ancient prophecies"},
    /* history and nonfiction */
    {"vivid historical detail", "wartime settings", "careful research", "real life heroes",
     "royal courts", "family sagas", "practical advice", "inspiring memoirs"},
    /* outdoors */
    {"scenic trails", "ocean views", "shaded picnic areas", "dog friendly grounds",
     "quiet gardens", "wildlife watching", "well kept paths", "sunset views"},
    /* fitness and wellness */
    {"modern equipment", "patient trainers", "relaxing massages", "small group classes",
     "spotless locker rooms", "flexible schedules", "hot yoga sessions", "calm music"},
    /* shopping */
    {"unique gifts", "vintage finds", "wide selection", "local artists",
     "hand crafted jewelry", "rare records", "bargain prices", "knowledgeable clerks"},
    /* family entertainment */
    {"kid friendly activities", "arcade games", "thrilling rides", "live performances",
     "interactive exhibits", "big screens", "board game nights", "seasonal festivals"},
};

const char *bb_synth_phrase(int theme, int k) {
    BB_ASSERT(theme >= 0 && theme < BB_SYNTH_THEMES && k >= 0 && k < BB_SYNTH_PHRASES_PER_THEME,
              "phrase (%d, %d) out of the %dx%d table", theme, k, BB_SYNTH_THEMES,
              BB_SYNTH_PHRASES_PER_THEME);
    return phrases[theme][k];
}

/* ------------------------------------------------------------------------------------ */
/* titles                                                                               */

static const char *const title_adjectives[] = {
    "Silent", "Golden", "Hidden", "Crooked", "Wandering", "Velvet", "Quiet", "Burning",
    "Painted", "Lucky", "Hollow", "Northern", "Secret", "Little", "Wild", "Gentle",
    "Broken", "Shining", "Last", "Restless", "Lonely", "Brave", "Sleeping", "Copper"};
static const char *const title_nouns[] = {
    "Harbor", "Lantern", "Garden", "Orchard", "Bridge", "Compass", "Meadow", "Lighthouse",
    "Kettle", "Tavern", "Window", "River", "Station", "Atlas", "Forest", "Market",
    "Crown", "Island", "Mirror", "Canyon", "Anchor", "Workshop", "Pantry", "Violin"};
static const char *const title_colors[] = {"Blue", "Red", "Green", "Amber", "Silver",
                                           "Scarlet", "Ivory", "Indigo", "Olive", "Coral",
                                           "Jade", "Saffron"};
static const char *const title_fruits[] = {"Fig", "Plum", "Pear", "Lemon", "Cherry",
                                           "Quince", "Peach", "Apricot", "Walnut", "Maple"};
static const char *const title_suffixes[] = {"House", "Corner", "Club", "Hall", "Room",
                                             "Kitchen", "Studio", "Collective"};
static const char *const title_names[] = {"Maya", "Oliver", "Rosa", "Theo", "Clara", "Felix",
                                          "Nora", "Hugo", "Iris", "Jonah", "Lena", "Marco",
                                          "Ada", "Silas", "June", "Otto"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(r, a) ((a)[bb_rng_below((r), COUNT(a))])

void bb_synth_title(bb_rng *r, char *out, size_t cap) {
    switch (bb_rng_below(r, 4)) {
    case 0: { /* one draw per statement: argument order is unspecified in C */
        const char *adjective = PICK(r, title_adjectives);
        snprintf(out, cap, "The %s %s", adjective, PICK(r, title_nouns));
        break;
    }
    case 1: {
        const char *name = PICK(r, title_names);
        snprintf(out, cap, "%s's %s", name, PICK(r, title_nouns));
        break;
    }
    case 2: {
        const char *color = PICK(r, title_colors);
        const char *fruit = PICK(r, title_fruits);
        snprintf(out, cap, "%s %s %s", color, fruit, PICK(r, title_suffixes));
        break;
    }
    default: {
        const char *noun = PICK(r, title_nouns);
        const char *adjective = PICK(r, title_adjectives);
        const char *other = PICK(r, title_nouns);
        while (other == noun) other = PICK(r, title_nouns); /* no "Violin of the Lonely Violin" */
        snprintf(out, cap, "%s of the %s %s", noun, adjective, other);
        break;
    }
    }
}

/* ------------------------------------------------------------------------------------ */
/* summaries and explanations                                                           */

static const char *const user_leadins[BB_SYNTH_USER_LEADINS] = {
    "This user enjoys", "The user is likely to enjoy", "This user appreciates",
    "The user looks for"};
static const char *const item_leadins[BB_SYNTH_ITEM_LEADINS] = {
    "It is known for", "It offers", "Regulars praise", "Its fans love"};

const char *bb_synth_user_leadin(int k) {
    BB_ASSERT(k >= 0 && k < BB_SYNTH_USER_LEADINS, "user lead-in %d", k);
    return user_leadins[k];
}

const char *bb_synth_item_leadin(int k) {
    BB_ASSERT(k >= 0 && k < BB_SYNTH_ITEM_LEADINS, "item lead-in %d", k);
    return item_leadins[k];
}

/* "a", "a and b", "a, b and c" appended to out (of capacity cap). */
static void append_list(char *out, size_t cap, const char *const *items, int n) {
    for (int k = 0; k < n; k++) {
        size_t used = strlen(out);
        const char *sep = k == 0 ? "" : k == n - 1 ? " and " : ", ";
        snprintf(out + used, cap - used, "%s%s", sep, items[k]);
    }
}

static void list_sentence(const char *leadin, const char *const *items, int n, char *out,
                          size_t cap) {
    snprintf(out, cap, "%s ", leadin);
    append_list(out, cap, items, n);
    size_t used = strlen(out);
    snprintf(out + used, cap - used, ".");
}

void bb_synth_user_summary(bb_rng *r, const char *const *items, int n, char *out, size_t cap) {
    list_sentence(user_leadins[bb_rng_below(r, BB_SYNTH_USER_LEADINS)], items, n, out, cap);
}

void bb_synth_item_summary(bb_rng *r, const char *const *items, int n, char *out, size_t cap) {
    list_sentence(item_leadins[bb_rng_below(r, BB_SYNTH_ITEM_LEADINS)], items, n, out, cap);
}

void bb_synth_explanation(bb_rng *r, const char *title, const char *const *mention, int n,
                          const char *user_only, char *out, size_t cap) {
    BB_ASSERT(n >= 1, "an explanation needs at least one aspect, got %d", n);
    char list[512] = "";
    append_list(list, sizeof list, mention, n);
    int template_count = user_only ? 6 : 4;
    switch (bb_rng_below(r, (uint64_t)template_count)) {
    case 0:
        snprintf(out, cap, "The user would enjoy %s because of its %s.", title, list);
        break;
    case 1:
        snprintf(out, cap, "The user would enjoy %s for its %s, which fit what they usually "
                           "look for.", title, list);
        break;
    case 2:
        snprintf(out, cap, "%s is a good match for this user, offering %s.", title, list);
        break;
    case 3:
        snprintf(out, cap, "The user would like %s since it is known for %s, just the kind of "
                           "experience they seek out.", title, list);
        break;
    case 4:
        snprintf(out, cap, "The user would enjoy %s because of its %s, which match their taste "
                           "for %s.", title, list, user_only);
        break;
    default:
        snprintf(out, cap, "Given their love of %s, the user would enjoy %s for its %s.",
                 user_only, title, list);
        break;
    }
}
