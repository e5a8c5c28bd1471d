/* bb_json — writing cJSON documents as result files (manifests, metrics).
 *   bb_json_write_in_dir(dir, name, root, err)  DIR/NAME = formatted JSON + newline, atomic
 * The caller keeps ownership of root.
 */
#ifndef BB_JSON_H
#define BB_JSON_H

#include <cJSON.h>

#include "models/base/bb_error.h"

int bb_json_write_in_dir(const char *dir, const char *name, const cJSON *root, bb_error *err);

#endif
