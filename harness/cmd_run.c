/* cmd_run — placeholder until its issue lands; exits 2 so no script mistakes it for a result. */
#include <stdio.h>

#include "harness/cli.h"
#include "harness/commands.h"

int bb_cmd_run(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "beatbench: 'run' is not built yet\n");
    return BB_EXIT_USAGE;
}
