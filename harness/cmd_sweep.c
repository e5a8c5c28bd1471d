/* cmd_sweep — `beatbench sweep` (issue #8): under construction in this session. */
#include <stdio.h>

#include "harness/cli.h"
#include "harness/commands.h"

int bb_cmd_sweep(int argc, char **argv) {
    (void)argc, (void)argv;
    fprintf(stderr, "beatbench sweep: not built yet\n");
    return BB_EXIT_USAGE;
}
