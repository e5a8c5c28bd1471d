/* bb_config — JSON experiment configs loaded with cJSON and validated against a schema.
 *
 * A schema is a table of keys describing fields of a caller's struct:
 *     typedef struct { int epochs; double lr; char model[16]; } my_cfg;
 *     static const bb_cfg_key schema[] = {
 *         BB_CFG_INT_KEY(my_cfg, epochs, 1, 100000, "training epochs"),
 *         BB_CFG_DOUBLE_KEY(my_cfg, lr, 0, 1, "learning rate"),
 *         BB_CFG_ENUM_KEY(my_cfg, model, "pop|mf|lightgcn", "ranking model"),
 *         {0}};
 * Nested JSON objects address dotted keys: {"lm": {"d_model": 256}} sets "lm.d_model".
 * Errors are one line naming the file, the line of the key and the key:
 *     cfg.json:3: key 'lrr': unknown key (did you mean 'lr'?)
 *     cfg.json:4: key 'epochs': expected an integer in [1, 100000], got -3
 * Keys absent from the file keep the struct's current (default) values.
 * bb_config_set applies one "key=value" text override (command-line flags win over files).
 */
#ifndef BB_CONFIG_H
#define BB_CONFIG_H

#include <stddef.h>

#include "models/base/bb_error.h"

typedef enum {
    BB_CFG_INT,    /* int */
    BB_CFG_DOUBLE, /* double */
    BB_CFG_BOOL,   /* int 0/1 */
    BB_CFG_STRING, /* char[cap] */
    BB_CFG_ENUM    /* char[cap], one of choices "a|b|c" */
} bb_cfg_type;

typedef struct bb_cfg_key {
    const char *name; /* dotted path, e.g. "lm.d_model" */
    bb_cfg_type type;
    size_t offset;    /* offsetof the field */
    size_t cap;       /* capacity of char[] fields */
    double min, max;  /* inclusive range for INT and DOUBLE */
    const char *choices;
    const char *help;
} bb_cfg_key;

#define BB_CFG_INT_KEY(T, f, lo, hi, h) {#f, BB_CFG_INT, offsetof(T, f), 0, (lo), (hi), NULL, (h)}
#define BB_CFG_DOUBLE_KEY(T, f, lo, hi, h) \
    {#f, BB_CFG_DOUBLE, offsetof(T, f), 0, (lo), (hi), NULL, (h)}
#define BB_CFG_BOOL_KEY(T, f, h) {#f, BB_CFG_BOOL, offsetof(T, f), 0, 0, 1, NULL, (h)}
#define BB_CFG_STRING_KEY(T, f, h) \
    {#f, BB_CFG_STRING, offsetof(T, f), sizeof(((T *)0)->f), 0, 0, NULL, (h)}
#define BB_CFG_ENUM_KEY(T, f, ch, h) \
    {#f, BB_CFG_ENUM, offsetof(T, f), sizeof(((T *)0)->f), 0, 0, (ch), (h)}

/* Loads path into out (which holds defaults on entry). */
int bb_config_load(const char *path, const bb_cfg_key *schema, void *out, bb_error *err);
/* Same from text already in memory; path is only used in messages. */
int bb_config_parse(const char *path, const char *text, const bb_cfg_key *schema, void *out,
                    bb_error *err);
/* Sets one key from its text form ("256", "1e-3", "true", "lightgcn"); source names the
 * origin in messages, e.g. "--lr". */
int bb_config_set(const bb_cfg_key *schema, void *out, const char *key, const char *value,
                  const char *source, bb_error *err);
/* The schema key closest to name by edit distance, or NULL when nothing is close. */
const char *bb_config_closest_key(const bb_cfg_key *schema, const char *name);
/* Writes the struct as a flat JSON object (for manifests) to a malloc'd string. */
char *bb_config_to_json(const bb_cfg_key *schema, const void *cfg);

#endif
