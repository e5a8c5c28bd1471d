/* cmd_run — `beatbench run`: one explanation experiment, dataset x method x seed, end to end
 * (DESIGN §10; harness/run_driver.h has the steps and the run directory).
 *
 *   run --data DIR --method beat|id-prompt|xrec|peter|nrt|retrieval --out RUNDIR
 *       [--seed S] [--config FILE] [--threads N] [--json] [--lm DIR] [--split FILE]
 *       [--domain auto|book|business] [--set KEY=VALUE[,KEY=VALUE...]] [--tokens RUNDIR]
 *
 * --tokens (beat only) uses an existing stage-1 run directory (`beat tokenize --out`) and its
 * split.csv instead of the cached stage 1, as `beat explain` does.
 * Options resolve in order: defaults (harness/configs/run/default.json holds the same values),
 * then --config FILE (harness/run_config.h: keys method, domain, lm_config, stage1_config,
 * bertscore, explain.*, id_prompt.*, xrec.*, peter.*, nrt.*, retrieval.*), then --set, then
 * the flags --method and --domain (command-line flags win). --method is required unless the
 * config file names one.
 * --json prints the metrics object (metrics.json: `method`, `seed` and the `score --json`
 * keys) on stdout; progress goes to stderr. Usage errors exit 2, data/config errors exit 1
 * with one line; no run directory is left behind on error.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "harness/run_config.h"
#include "harness/run_driver.h"
#include "models/base/bb_time.h"

int bb_cmd_run(int argc, char **argv) {
    const char *data = NULL, *method = NULL, *out = NULL, *config = NULL, *lm = NULL;
    const char *split = NULL, *domain = NULL, *sets = NULL, *tokens = NULL;
    uint64_t seed = 1;
    int threads = bb_num_cores(), json = 0;
    const bb_opt opts[] = {
        {"--data", BB_OPT_STR, &data, "DIR", "dataset directory (train/valid/test, explanations)"},
        {"--method", BB_OPT_STR, &method, "M", "beat | id-prompt | xrec | peter | nrt | retrieval"},
        {"--out", BB_OPT_STR, &out, "RUNDIR", "run directory to write"},
        {"--seed", BB_OPT_U64, &seed, "S", "random seed (default 1)"},
        {"--config", BB_OPT_STR, &config, "FILE", "run config JSON (harness/configs/run/)"},
        {"--threads", BB_OPT_INT, &threads, "N", "worker threads (default: all cores)"},
        {"--lm", BB_OPT_STR, &lm, "DIR", "frozen LM (default: cached LM of the config's lm_config)"},
        {"--split", BB_OPT_STR, &split, "FILE", "zero-shot split (default: made from --seed, cached)"},
        {"--domain", BB_OPT_STR, &domain, "D", "auto | book | business (prompt wording)"},
        {"--set", BB_OPT_STR, &sets, "K=V,..", "any config key, e.g. explain.max_epochs=3"},
        {"--tokens", BB_OPT_STR, &tokens, "RUNDIR", "beat: this stage-1 run (default: cached stage 1)"},
        {"--json", BB_OPT_FLAG, &json, NULL, "print the metrics object on stdout"},
        {0}};
    const bb_cmd_spec spec = {"run", "--data DIR --method M --out RUNDIR [options]",
                              "Run one explanation method on one dataset with one seed: split, "
                              "LM and stage 1 made or reused, train, generate the test pairs, "
                              "score them, write generations.csv, metrics.json, manifest.json.",
                              0, 0, NULL};
    bb_positionals pos;
    int rc = bb_opts_parse(&spec, opts, argc, argv, &pos);
    if (rc) return rc < 0 ? BB_EXIT_OK : rc;
    if (!data) return bb_cli_usage(spec.name, "--data DIR is required");
    if (!out) return bb_cli_usage(spec.name, "--out RUNDIR is required");
    if (threads < 1) return bb_cli_usage(spec.name, "--threads: expected at least 1, got %d", threads);
    if (method && !bb_run_method_known(method))
        return bb_cli_usage(spec.name, "--method: expected beat, id-prompt, xrec, peter, nrt or "
                                       "retrieval, got \"%s\"", method);
    if (!method && !config) return bb_cli_usage(spec.name, "--method M is required");

    bb_error err = {{0}};
    bb_run_config cfg;
    bb_run_config_default(&cfg);
    if (config) {
        cfg.method[0] = '\0'; /* the file must name one when --method is absent */
        if (bb_run_config_load(config, &cfg, &err) != BB_OK) return bb_cli_fail(&err);
        if (!method && !cfg.method[0])
            return bb_cli_usage(spec.name, "--method M is required (%s names no method)", config);
    }
    if (sets && bb_run_config_set_list(&cfg, sets, "--set", &err) != BB_OK)
        return bb_cli_usage(spec.name, "%s", err.msg);
    if (method && bb_run_config_set(&cfg, "method", method, "--method", &err) != BB_OK)
        return bb_cli_usage(spec.name, "%s", err.msg);
    if (domain && bb_run_config_set(&cfg, "domain", domain, "--domain", &err) != BB_OK)
        return bb_cli_usage(spec.name, "%s", err.msg);

    if (tokens && strcmp(cfg.method, "beat") != 0)
        return bb_cli_usage(spec.name, "--tokens is for --method beat (got %s)", cfg.method);
    bb_run_opts o = {.data_dir = data, .out_dir = out, .lm_dir = lm, .tokens_dir = tokens,
                     .split_path = split, .seed = seed, .threads = threads, .command = "run"};
    bb_run_result res;
    if (bb_run_execute(&cfg, &o, &res, &err) != BB_OK) return bb_cli_fail(&err);
    const text_score_result *s = &res.score;
    fprintf(stderr, "run %s seed %llu: %zu test pairs, BLEU-4 %.4f, ROUGE-L F %.4f, Distinct-2 %.4f, "
                    "USR %.4f (%d epochs, best %d, %.1f s)\nrun directory: %s\n",
            res.method, (unsigned long long)res.seed, s->n, s->bleu[3], s->rougeL.fmeasure,
            s->distinct2, s->usr, res.epochs_run, res.best_epoch, res.total_seconds, out);
    if (json) bb_run_print_metrics(stdout, &res);
    bb_run_result_free(&res);
    return BB_EXIT_OK;
}
