/* beatbench — the thin executable: everything lives in libbeatbench.a. */
#include "harness/commands.h"

int main(int argc, char **argv) { return bb_cli_main(argc - 1, argv + 1); }
