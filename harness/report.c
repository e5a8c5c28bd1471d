/* report — `beatbench report`: staging, tables, figures, report.md, JSON. See report.h. */
#include "harness/report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/cli.h"
#include "harness/report_data.h"
#include "harness/report_figures.h"
#include "harness/report_gnuplot.h"
#include "harness/report_signif.h"
#include "harness/report_tables.h"

/* ------------------------------------------------------------------------------------------
 * Lists and the summary */

void bb_report_list_add(bb_report_list *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = bb_realloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n++] = bb_strdup(s);
}

void bb_report_list_free(bb_report_list *l) {
    for (size_t k = 0; k < l->n; k++) free(l->items[k]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

void bb_report_warn(bb_report_summary *s, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    for (char *c = line; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    bb_report_list_add(&s->warnings, line);
}

void bb_report_summary_free(bb_report_summary *s) {
    free(s->out_dir);
    bb_report_list_free(&s->tables);
    bb_report_list_free(&s->figures);
    bb_report_list_free(&s->skipped);
    bb_report_list_free(&s->skipped_reasons);
    bb_report_list_free(&s->warnings);
    memset(s, 0, sizeof *s);
}

static void json_list(FILE *out, const char *key, const bb_report_list *l) {
    fprintf(out, ", \"%s\": [", key);
    for (size_t k = 0; k < l->n; k++) {
        if (k) fputs(", ", out);
        bb_json_string(out, l->items[k]);
    }
    fputc(']', out);
}

void bb_report_print_json(FILE *out, const bb_report_summary *s) {
    fputs("{\"out\": ", out);
    bb_json_string(out, s->out_dir ? s->out_dir : "");
    json_list(out, "tables", &s->tables);
    json_list(out, "figures", &s->figures);
    fputs(", \"skipped\": [", out);
    for (size_t k = 0; k < s->skipped.n; k++) {
        fputs(k ? ", {\"figure\": " : "{\"figure\": ", out);
        bb_json_string(out, s->skipped.items[k]);
        fputs(", \"reason\": ", out);
        bb_json_string(out, s->skipped_reasons.items[k]);
        fputc('}', out);
    }
    fputc(']', out);
    json_list(out, "warnings", &s->warnings);
    fputs("}\n", out);
}

/* ------------------------------------------------------------------------------------------
 * Files in the staging directory */

char *bb_report_out_path(const bb_report_out *o, const char *rel) {
    return bb_path_join(o->stage, rel);
}

/* mkdir -p of the directory part of path. */
static int make_parent(const char *path, bb_error *err) {
    char *dir = bb_strdup(path);
    char *slash = strrchr(dir, '/');
    int rc = BB_OK;
    if (slash && slash != dir) {
        *slash = '\0';
        rc = bb_mkdir_p(dir, err);
    }
    free(dir);
    return rc;
}

int bb_report_out_open(bb_report_out *o, const char *rel, bb_atomic_file *af, bb_error *err) {
    char *path = bb_report_out_path(o, rel);
    int rc = make_parent(path, err);
    if (rc == BB_OK) rc = bb_atomic_open(af, path, err);
    free(path);
    return rc;
}

int bb_report_out_commit(bb_report_out *o, const char *rel, bb_atomic_file *af, bb_error *err) {
    if (bb_atomic_commit(af, err) != BB_OK) return BB_ERR;
    bb_report_list_add(&o->files, rel);
    return BB_OK;
}

/* Moves the staged report into out_dir: the whole directory when out_dir is new, else file
 * by file (each rename atomic), keeping the files of out_dir the report does not write. */
static int publish(bb_stage_dir *sd, const bb_report_out *o, bb_error *err) {
    if (!bb_path_exists(sd->final)) return bb_stage_dir_commit(sd, err);
    for (size_t k = 0; k < o->files.n; k++) {
        char *src = bb_path_join(sd->staging, o->files.items[k]);
        char *dst = bb_path_join(sd->final, o->files.items[k]);
        int rc = make_parent(dst, err);
        if (rc == BB_OK && rename(src, dst) != 0)
            rc = bb_fail(err, "%s: cannot rename into place: %s", dst, strerror(errno));
        free(src);
        free(dst);
        if (rc != BB_OK) {
            bb_stage_dir_abort(sd);
            return BB_ERR;
        }
    }
    bb_stage_dir_abort(sd); /* what is left: empty directories */
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * The report */

typedef struct membuf {
    FILE *fp;
    char *buf;
    size_t len;
} membuf;

static void mb_open(membuf *m) {
    m->buf = NULL;
    m->len = 0;
    m->fp = open_memstream(&m->buf, &m->len);
    BB_ASSERT(m->fp, "report: open_memstream failed");
}

static int write_table(const bb_report_data *d, const bb_report_table *t, bb_report_out *o,
                       FILE *report_md, bb_error *err) {
    const char *ds = d->datasets.names[t->dataset];
    const char *name = bb_report_table_name(t->kind);
    char rel[300];
    bb_atomic_file af;
    snprintf(rel, sizeof rel, "%s/%s.csv", ds, name);
    if (bb_report_out_open(o, rel, &af, err) != BB_OK) return BB_ERR;
    bb_report_table_csv(d, t, af.fp);
    if (bb_report_out_commit(o, rel, &af, err) != BB_OK) return BB_ERR;
    bb_report_list_add(&o->sum->tables, rel);
    snprintf(rel, sizeof rel, "%s/%s.md", ds, name);
    if (bb_report_out_open(o, rel, &af, err) != BB_OK) return BB_ERR;
    bb_report_table_markdown(d, t, af.fp);
    if (bb_report_out_commit(o, rel, &af, err) != BB_OK) return BB_ERR;
    bb_report_list_add(&o->sum->tables, rel);
    fputc('\n', report_md);
    bb_report_table_markdown(d, t, report_md);
    return BB_OK;
}

static int report_dataset(const bb_report_data *d, int ds, bb_report_gens *gens,
                          const bb_report_plotter *plotter, bb_report_out *o, FILE *md,
                          bb_error *err) {
    const char *name = d->datasets.names[ds];
    fprintf(md, "\n## %s\n", name);
    for (int kind = 0; kind < BB_N_TABLES; kind++) {
        bb_report_table t;
        int rc = bb_report_table_build(d, ds, kind, gens, o->sum, &t, err);
        if (rc == BB_OK && t.n_rows > 0) rc = write_table(d, &t, o, md, err);
        bb_report_table_free(&t);
        if (rc != BB_OK) return BB_ERR;
    }
    const size_t first_figure = o->sum->figures.n;
    if (bb_report_figures(d, ds, plotter, o, err) != BB_OK) return BB_ERR;
    if (o->sum->figures.n > first_figure) fprintf(md, "\n### %s: figures\n\n", name);
    for (size_t k = first_figure; k < o->sum->figures.n; k++) {
        const char *fig = o->sum->figures.items[k];
        size_t len = strlen(fig);
        if (len > 4 && strcmp(fig + len - 4, ".png") == 0)
            fprintf(md, "![%.*s](%s)\n\n", (int)(len - 4), fig, fig);
    }
    return BB_OK;
}

int bb_report_run(const char *sweep_dir, const char *out_dir, const bb_report_options *opt,
                  bb_report_summary *sum, bb_error *err) {
    memset(sum, 0, sizeof *sum);
    sum->out_dir = bb_strdup(out_dir);
    struct stat st;
    if (stat(out_dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return bb_fail(err, "%s: exists and is not a directory", out_dir);
    bb_report_data d;
    if (bb_report_data_load(&d, sweep_dir, err) != BB_OK) return BB_ERR;
    if (d.datasets.n == 0) {
        char *path = bb_path_join(sweep_dir, "results.csv");
        bb_fail(err, "%s:1: no result rows (did every cell of the sweep fail?)", path);
        free(path);
        bb_report_data_free(&d);
        return BB_ERR;
    }
    bb_stage_dir sd;
    if (bb_stage_dir_begin(&sd, out_dir, err) != BB_OK) {
        bb_report_data_free(&d);
        return BB_ERR;
    }
    bb_report_out o = {bb_strdup(sd.staging), {0}, sum};
    char *gnuplot = bb_report_gnuplot_find(opt ? opt->gnuplot : NULL);
    char *plots = bb_report_plots_find(opt ? opt->plots_dir : NULL);
    if (!gnuplot)
        bb_report_warn(sum, "gnuplot not found (set BB_GNUPLOT or install gnuplot-nox): tables "
                            "written, figures skipped (their .dat and .gp files are written)");
    else if (!plots)
        bb_report_warn(sum, "plot templates not found (set BB_PLOTS_DIR to the plots/ "
                            "directory): tables written, figures skipped");
    const bb_report_plotter plotter = {plots ? gnuplot : NULL, plots};
    bb_report_gens *gens = bb_report_gens_create(&d);
    membuf md;
    mb_open(&md);
    fprintf(md.fp, "# beatbench report\n\nFrom results.csv: %zu rows over %zu dataset%s. "
                   "Per dataset: tables as CSV (every number) and Markdown, figures as PNG and "
                   "SVG with the data (.dat) and gnuplot script (.gp) that drew them.\n",
            d.n_rows, d.datasets.n, d.datasets.n == 1 ? "" : "s");
    int rc = BB_OK;
    for (size_t ds = 0; ds < d.datasets.n && rc == BB_OK; ds++)
        rc = report_dataset(&d, (int)ds, gens, &plotter, &o, md.fp, err);
    fclose(md.fp);
    if (rc == BB_OK) {
        bb_atomic_file af;
        rc = bb_report_out_open(&o, "report.md", &af, err);
        if (rc == BB_OK) {
            fwrite(md.buf, 1, md.len, af.fp);
            rc = bb_report_out_commit(&o, "report.md", &af, err);
        }
        if (rc == BB_OK) bb_report_list_add(&sum->tables, "report.md");
    }
    free(md.buf);
    if (rc == BB_OK)
        rc = publish(&sd, &o, err);
    else
        bb_stage_dir_abort(&sd);
    bb_report_gens_free(gens);
    bb_report_list_free(&o.files);
    free(o.stage);
    free(gnuplot);
    free(plots);
    bb_report_data_free(&d);
    return rc;
}
