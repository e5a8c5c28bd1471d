/* cmd_report — `beatbench report` (issue #8): under construction in this session. */
#include <stdio.h>

#include "harness/cli.h"
#include "harness/commands.h"

int bb_cmd_report(int argc, char **argv) {
    (void)argc, (void)argv;
    fprintf(stderr, "beatbench report: not built yet\n");
    return BB_EXIT_USAGE;
}
