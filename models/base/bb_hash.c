/* bb_hash — see bb_hash.h. */
#include "models/base/bb_hash.h"

#include <stdlib.h>

#include "models/base/bb_io.h"

uint64_t bb_hash_bytes(const void *data, size_t n, uint64_t h) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001B3ULL; /* FNV-1a 64 prime */
    }
    return h;
}

int bb_hash_file(const char *path, uint64_t *h, bb_error *err) {
    char *bytes = NULL;
    size_t len = 0;
    if (bb_read_file(path, &bytes, &len, err) != BB_OK) return BB_ERR;
    *h = bb_hash_bytes(bytes, len, *h);
    free(bytes);
    return BB_OK;
}
