/* dispatch — `beatbench COMMAND ...`: the table of commands, --help and --version. */
#include <stdio.h>
#include <string.h>

#include "harness/cli.h"
#include "harness/commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"data", bb_cmd_data, "synthetic data, dataset statistics, zero-shot split"},
    {"tokenize", bb_cmd_tokenize, "tokenize stdin lines (treebank, rouge, whitespace)"},
    {"score", bb_cmd_score, "text metrics: BLEU, ROUGE, BERTScore-style, diversity"},
    {"rank", bb_cmd_rank, "train and evaluate a ranking model (pop, mf, lightgcn)"},
    {"lm", bb_cmd_lm, "the frozen LM: pretrain, generate, encode, bench"},
    {"beat", bb_cmd_beat, "BEAT stage 1 (behaviour tokens) and stage 2 (explainer)"},
    {"run", bb_cmd_run, "one experiment (dataset x method x seed), end to end"},
    {"sweep", bb_cmd_sweep, "a grid of experiments over config keys x seeds (resumable)"},
    {"report", bb_cmd_report, "tables (CSV, Markdown) and gnuplot figures of a sweep"},
    {"compare", bb_cmd_compare, "compare a sweep's results.csv with golden numbers"},
    {"reproduce", bb_cmd_reproduce, "the paper's tables and ablations on every dataset found"},
    {NULL, NULL, NULL},
};

static void print_help(FILE *out) {
    fprintf(out,
            "beatbench %s — benchmark harness for explainable recommendation (BEAT and "
            "baselines)\n\nusage: beatbench COMMAND [options]   (beatbench COMMAND --help)\n\n"
            "commands:\n",
            BB_VERSION);
    for (const command *c = commands; c->name; c++) fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\nexit codes: 0 ok, 1 data or config error, 2 usage error\n");
}

int bb_cli_main(int argc, char **argv) {
    if (argc < 1) {
        print_help(stderr);
        return BB_EXIT_USAGE;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        print_help(stdout);
        return BB_EXIT_OK;
    }
    if (strcmp(argv[0], "--version") == 0) {
        printf("beatbench %s\n", BB_VERSION);
        return BB_EXIT_OK;
    }
    for (const command *c = commands; c->name; c++)
        if (strcmp(argv[0], c->name) == 0) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "beatbench: unknown command \"%s\" (see 'beatbench --help')\n", argv[0]);
    return BB_EXIT_USAGE;
}
