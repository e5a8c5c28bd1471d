/* text_testutil — see text_testutil.h. */
#include "tests/util/text_testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "models/base/bb_io.h"
#include "tests/testhelp.h"

const char *tt_oracle_path(const char *name) {
    static char path[2048];
    const char *shared = bb_test_shared_dir();
    if (!shared) return NULL;
    snprintf(path, sizeof path, "%s/oracles/%s", shared, name);
    return bb_path_exists(path) ? path : NULL;
}

const char *tt_fixture_path(const char *name) {
    static char path[1024];
    snprintf(path, sizeof path, "tests/fixtures/text/%s", name);
    return path;
}

cJSON *tt_read_json(const char *path) {
    char *text = NULL;
    bb_error err;
    if (bb_read_file(path, &text, NULL, &err) != BB_OK) {
        fprintf(stderr, "    %s\n", err.msg);
        return NULL;
    }
    cJSON *root = cJSON_Parse(text);
    if (!root) fprintf(stderr, "    %s: not valid JSON\n", path);
    free(text);
    return root;
}

double tt_json_number(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const char *tt_write_tmp(const char *name, const char *text, size_t len) {
    static char path[1100];
    snprintf(path, sizeof path, "%s", bb_test_tmp_path(name));
    bb_error err;
    if (bb_write_file_atomic(path, text, len, &err) != BB_OK) fprintf(stderr, "    %s\n", err.msg);
    return path;
}

int tt_run_cli(const char *args, const char *in, const char *out, const char *err) {
    const char *bin = getenv("BB_BIN");
    if (!bin || !*bin) return -1;
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s < %s > %s 2> %s", bin, args, in ? in : "/dev/null", out, err);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

char *tt_slurp(const char *path) {
    char *text = NULL;
    bb_error err;
    if (bb_read_file(path, &text, NULL, &err) != BB_OK) return bb_strdup("");
    return text;
}
