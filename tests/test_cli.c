/* Tests for the CLI conventions (option parsing, exit codes) and config validation. */
#include <stdint.h>
#include <stdlib.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "models/base/bb_config.h"
#include "models/base/bb_io.h"
#include "tests/testhelp.h"

typedef struct test_cfg {
    int epochs;
    double lr;
    int use_sar;
    char model[16];
    int lm_d_model;
    char name[8];
} test_cfg;

static const bb_cfg_key schema[] = {
    BB_CFG_INT_KEY(test_cfg, epochs, 1, 1000, "epochs"),
    BB_CFG_DOUBLE_KEY(test_cfg, lr, 0, 1, "learning rate"),
    BB_CFG_BOOL_KEY(test_cfg, use_sar, "SAR on/off"),
    BB_CFG_ENUM_KEY(test_cfg, model, "pop|mf|lightgcn", "model"),
    {"lm.d_model", BB_CFG_INT, offsetof(test_cfg, lm_d_model), 0, 8, 4096, NULL, "LM width"},
    BB_CFG_STRING_KEY(test_cfg, name, "short name"),
    {0},
};

static test_cfg defaults(void) {
    test_cfg c = {10, 1e-3, 1, "mf", 256, "x"};
    return c;
}

static void test_config_valid_and_nested(void) {
    test_cfg c = defaults();
    bb_error err;
    const char *text = "{\n  \"epochs\": 5,\n  \"lr\": 0.01,\n  \"use_sar\": false,\n"
                       "  \"model\": \"lightgcn\",\n  \"lm\": {\"d_model\": 128}\n}\n";
    TEST_OK(bb_config_parse("c.json", text, schema, &c, &err), &err);
    TEST_EQ_INT(c.epochs, 5);
    TEST_NEAR(c.lr, 0.01, 0);
    TEST_EQ_INT(c.use_sar, 0);
    TEST_STR_EQ(c.model, "lightgcn");
    TEST_EQ_INT(c.lm_d_model, 128);
    TEST_STR_EQ(c.name, "x"); /* absent keys keep their defaults */
}

static void test_config_unknown_key_suggests_closest(void) {
    test_cfg c = defaults();
    bb_error err;
    const char *text = "{\n  \"epochs\": 5,\n  \"lrr\": 0.01\n}\n";
    TEST_ERR_CONTAINS(bb_config_parse("c.json", text, schema, &c, &err), &err,
                      "c.json:3: key 'lrr': unknown key (did you mean 'lr'?)");
    const char *nested = "{\"lm\": {\"d_modle\": 3}}";
    TEST_ERR_CONTAINS(bb_config_parse("n.json", nested, schema, &c, &err), &err,
                      "key 'lm.d_modle': unknown key (did you mean 'lm.d_model'?)");
    const char *far = "{\"zzzzzzzzzz\": 1}";
    TEST_ERR_CONTAINS(bb_config_parse("f.json", far, schema, &c, &err), &err,
                      "key 'zzzzzzzzzz': unknown key");
    TEST_TRUE(strstr(err.msg, "did you mean") == NULL);
}

static void test_config_type_and_range_errors(void) {
    test_cfg c = defaults();
    bb_error err;
    TEST_ERR_CONTAINS(bb_config_parse("c.json", "{\"epochs\": \"ten\"}", schema, &c, &err), &err,
                      "c.json:1: key 'epochs': expected an integer, got a string");
    TEST_ERR_CONTAINS(bb_config_parse("c.json", "{\n\"epochs\": -3}", schema, &c, &err), &err,
                      "c.json:2: key 'epochs': expected an integer in [1, 1000], got -3");
    TEST_ERR_CONTAINS(bb_config_parse("c.json", "{\"epochs\": 2.5}", schema, &c, &err), &err,
                      "expected an integer in [1, 1000], got 2.5");
    TEST_ERR_CONTAINS(bb_config_parse("c.json", "{\"lr\": 3}", schema, &c, &err), &err,
                      "key 'lr': expected a number in [0, 1], got 3");
    TEST_ERR_CONTAINS(bb_config_parse("c.json", "{\"model\": \"gcn\"}", schema, &c, &err), &err,
                      "key 'model': expected one of pop|mf|lightgcn, got \"gcn\"");
    TEST_ERR_CONTAINS(bb_config_parse("c.json", "{\"use_sar\": 1}", schema, &c, &err), &err,
                      "key 'use_sar': expected true or false, got a number");
    TEST_ERR_CONTAINS(bb_config_parse("c.json", "{\"name\": \"much too long\"}", schema, &c, &err),
                      &err, "longer than 7 characters");
    TEST_ERR_CONTAINS(bb_config_parse("c.json", "{\n\n \"epochs\": ,}", schema, &c, &err), &err,
                      "c.json:3: invalid JSON");
    TEST_ERR_CONTAINS(bb_config_parse("c.json", "[1,2]", schema, &c, &err), &err,
                      "expected a JSON object");
}

static void test_config_set_overrides(void) {
    test_cfg c = defaults();
    bb_error err;
    TEST_OK(bb_config_set(schema, &c, "epochs", "42", "--epochs", &err), &err);
    TEST_EQ_INT(c.epochs, 42);
    TEST_OK(bb_config_set(schema, &c, "use_sar", "false", "--use-sar", &err), &err);
    TEST_EQ_INT(c.use_sar, 0);
    TEST_ERR_CONTAINS(bb_config_set(schema, &c, "lr", "fast", "--lr", &err), &err,
                      "--lr: key 'lr': expected a number, got \"fast\"");
    TEST_ERR_CONTAINS(bb_config_set(schema, &c, "epoch", "3", "--set", &err), &err,
                      "did you mean 'epochs'?");
}

static void test_config_load_file_and_roundtrip_json(void) {
    bb_error err;
    const char *path = bb_test_tmp_path("cfg.json");
    const char *text = "{\"epochs\": 7, \"model\": \"pop\"}";
    TEST_OK(bb_write_file_atomic(path, text, strlen(text), &err), &err);
    test_cfg c = defaults();
    TEST_OK(bb_config_load(path, schema, &c, &err), &err);
    TEST_EQ_INT(c.epochs, 7);
    char *json = bb_config_to_json(schema, &c);
    test_cfg d = defaults();
    d.epochs = 1;
    /* The flat manifest form uses dotted names, which parse back to the same values. */
    TEST_OK(bb_config_parse("manifest", json, schema, &d, &err), &err);
    free(json);
    TEST_EQ_INT(d.epochs, 7);
    TEST_STR_EQ(d.model, "pop");
    TEST_ERR_CONTAINS(bb_config_load("/nonexistent.json", schema, &c, &err), &err,
                      "/nonexistent.json");
}

static void test_opts_parse(void) {
    int epochs = 3, json = 0;
    double lr = 0.1;
    const char *out = NULL;
    uint64_t seed = 0;
    const bb_opt opts[] = {{"--epochs", BB_OPT_INT, &epochs, "N", "epochs"},
                           {"--lr", BB_OPT_DOUBLE, &lr, "X", "lr"},
                           {"--out", BB_OPT_STR, &out, "DIR", "out"},
                           {"--seed", BB_OPT_U64, &seed, "S", "seed"},
                           {"--json", BB_OPT_FLAG, &json, NULL, "json"},
                           {0}};
    const bb_cmd_spec spec = {"demo", "[options] DIR", "demo command", 1, 1, "DIR  a dir"};
    char *argv1[] = {"--epochs", "5", "--lr=0.5", "d1", "--json", "--seed", "18446744073709551615"};
    bb_positionals pos;
    TEST_EQ_INT(bb_opts_parse(&spec, opts, 7, argv1, &pos), BB_EXIT_OK);
    TEST_EQ_INT(epochs, 5);
    TEST_NEAR(lr, 0.5, 0);
    TEST_EQ_INT(json, 1);
    TEST_EQ_INT(pos.count, 1);
    TEST_STR_EQ(pos.values[0], "d1");
    TEST_TRUE(seed == UINT64_MAX);
    char *bad_int[] = {"--epochs", "5x", "d"};
    TEST_EQ_INT(bb_opts_parse(&spec, opts, 3, bad_int, &pos), BB_EXIT_USAGE);
    char *unknown[] = {"--epoch", "5", "d"};
    TEST_EQ_INT(bb_opts_parse(&spec, opts, 3, unknown, &pos), BB_EXIT_USAGE);
    char *missing_value[] = {"d", "--out"};
    TEST_EQ_INT(bb_opts_parse(&spec, opts, 2, missing_value, &pos), BB_EXIT_USAGE);
    char *missing_pos[] = {"--json"};
    TEST_EQ_INT(bb_opts_parse(&spec, opts, 1, missing_pos, &pos), BB_EXIT_USAGE);
    char *too_many[] = {"a", "b"};
    TEST_EQ_INT(bb_opts_parse(&spec, opts, 2, too_many, &pos), BB_EXIT_USAGE);
    char *neg_seed[] = {"a", "--seed", "-1"};
    TEST_EQ_INT(bb_opts_parse(&spec, opts, 3, neg_seed, &pos), BB_EXIT_USAGE);
}

static void test_int_list(void) {
    int v[8], n = 0;
    TEST_OK(bb_parse_int_list("10,20,50", v, 8, &n), &(bb_error){{0}});
    TEST_EQ_INT(n, 3);
    TEST_EQ_INT(v[2], 50);
    TEST_EQ_INT(bb_parse_int_list("10,,20", v, 8, &n), BB_ERR);
    TEST_EQ_INT(bb_parse_int_list("0", v, 8, &n), BB_ERR);
    TEST_EQ_INT(bb_parse_int_list("-5", v, 8, &n), BB_ERR);
    TEST_EQ_INT(bb_parse_int_list("10,", v, 8, &n), BB_ERR);
    TEST_EQ_INT(bb_parse_int_list("", v, 8, &n), BB_ERR);
}

static void test_dispatch_exit_codes(void) {
    char *unknown[] = {"frobnicate"};
    TEST_EQ_INT(bb_cli_main(1, unknown), BB_EXIT_USAGE);
    TEST_EQ_INT(bb_cli_main(0, NULL), BB_EXIT_USAGE);
}

static void test_json_number_17_digits(void) {
    const char *path = bb_test_tmp_path("num.txt");
    FILE *f = fopen(path, "w");
    TEST_TRUE(f != NULL);
    bb_json_number(f, 0.1);
    fputc(' ', f);
    bb_json_number(f, NAN);
    fputc(' ', f);
    bb_json_string(f, "a\"b\n");
    fclose(f);
    char *text = NULL;
    bb_error err;
    TEST_OK(bb_read_file(path, &text, NULL, &err), &err);
    TEST_STR_EQ(text, "0.10000000000000001 null \"a\\\"b\\n\"");
    free(text);
}

const bb_test bb_suite_cli[] = {
    {"config_valid_and_nested", test_config_valid_and_nested},
    {"config_unknown_key_suggests_closest", test_config_unknown_key_suggests_closest},
    {"config_type_and_range_errors", test_config_type_and_range_errors},
    {"config_set_overrides", test_config_set_overrides},
    {"config_load_file_and_roundtrip_json", test_config_load_file_and_roundtrip_json},
    {"opts_parse", test_opts_parse},
    {"int_list", test_int_list},
    {"dispatch_exit_codes", test_dispatch_exit_codes},
    {"json_number_17_digits", test_json_number_17_digits},
    {NULL, NULL},
};
