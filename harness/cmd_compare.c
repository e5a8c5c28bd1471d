/* cmd_compare — `beatbench compare` (issue #8): under construction in this session. */
#include <stdio.h>

#include "harness/cli.h"
#include "harness/commands.h"

int bb_cmd_compare(int argc, char **argv) {
    (void)argc, (void)argv;
    fprintf(stderr, "beatbench compare: not built yet\n");
    return BB_EXIT_USAGE;
}
