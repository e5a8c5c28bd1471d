/* bb_hash — content hashes for artifact caches and manifests (FNV-1a 64).
 *
 * Not cryptographic: it keys caches (an LM or stage-1 run is reused when the hash of its
 * inputs matches) and labels data in manifests. Hashes chain: start from BB_HASH_INIT and
 * pass the previous value to hash several inputs in order.
 *   bb_hash_bytes(data, n, h)      continue h over n bytes
 *   bb_hash_file(path, &h, err)    continue *h over a file's bytes
 */
#ifndef BB_HASH_H
#define BB_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "models/base/bb_error.h"

#define BB_HASH_INIT 0xCBF29CE484222325ULL /* FNV-1a 64 offset basis */

uint64_t bb_hash_bytes(const void *data, size_t n, uint64_t h);
int bb_hash_file(const char *path, uint64_t *h, bb_error *err);

#endif
