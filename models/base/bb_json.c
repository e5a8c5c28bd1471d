/* bb_json — see bb_json.h. */
#include "models/base/bb_json.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

int bb_json_write_in_dir(const char *dir, const char *name, const cJSON *root, bb_error *err) {
    char *text = cJSON_Print(root);
    BB_ASSERT(text, "cJSON_Print failed writing %s", name);
    size_t len = strlen(text);
    char *with_newline = bb_malloc(len + 1);
    memcpy(with_newline, text, len);
    with_newline[len] = '\n';
    cJSON_free(text);
    int rc = bb_write_in_dir(dir, name, with_newline, len + 1, err);
    free(with_newline);
    return rc;
}
