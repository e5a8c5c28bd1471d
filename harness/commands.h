/* commands — the entry point of each `beatbench COMMAND` (argv starts after COMMAND).
 * Each returns the process exit code (cli.h). Implemented in harness/cmd_<name>.c. */
#ifndef BB_COMMANDS_H
#define BB_COMMANDS_H

int bb_cmd_data(int argc, char **argv);     /* data synth | stats | split */
int bb_cmd_tokenize(int argc, char **argv); /* tokenize */
int bb_cmd_score(int argc, char **argv);    /* score */
int bb_cmd_rank(int argc, char **argv);     /* rank */
int bb_cmd_lm(int argc, char **argv);       /* lm pretrain | generate | encode | bench */
int bb_cmd_beat(int argc, char **argv);     /* beat tokenize | explain */
int bb_cmd_run(int argc, char **argv);      /* run: one dataset x method x seed, end to end */
int bb_cmd_sweep(int argc, char **argv);    /* sweep: a grid of runs (resumable, --jobs, MPI) */
int bb_cmd_report(int argc, char **argv);   /* report: tables and figures of a sweep */
int bb_cmd_compare(int argc, char **argv);  /* compare: results.csv against golden numbers */
int bb_cmd_reproduce(int argc, char **argv); /* reproduce: the paper tables and ablations */

/* Runs argv[0] as a command; used by main and by tests. */
int bb_cli_main(int argc, char **argv);

#endif
