/* report_figures — figure data, gnuplot scripts and rendering. See report_figures.h. */
#include "harness/report_figures.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/report_gnuplot.h"
#include "models/base/bb_io.h"

/* Most series in one panel of the curves figure (more would be unreadable). */
#define MAX_CURVE_SERIES 12

typedef struct fig_ctx {
    const bb_report_data *d;
    int dataset;
    const char *ds; /* dataset name */
    const bb_report_plotter *p;
    bb_report_out *o;
} fig_ctx;

/* ------------------------------------------------------------------------------------------
 * gnuplot text */

/* A gnuplot single-quoted string ('' stands for a quote inside). */
static void gp_string(FILE *fp, const char *s) {
    fputc('\'', fp);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', fp);
        fputc(*s, fp);
    }
    fputc('\'', fp);
}

/* One word of a gnuplot word list: no blanks or quotes. */
static void gp_word(FILE *fp, const char *s) {
    for (; *s; s++) fputc(strchr(" \t\"'\\", *s) ? '_' : *s, fp);
}

/* The preamble's common part: where the data is, the output name and the size. */
static void preamble_begin(FILE *fp, const fig_ctx *c, const char *name, int width, int height,
                           const char *title) {
    fprintf(fp, "# beatbench report: %s/%s (data: %s.dat)\n", c->ds, name, name);
    fprintf(fp, "datafile = '%s.dat'\noutbase = '%s'\nwidth = %d\nheight = %d\nplot_title = ",
            name, name, width, height);
    gp_string(fp, title);
    fputc('\n', fp);
}

/* Text built in memory (open_memstream); mb_close makes buf a NUL-terminated string. */
typedef struct membuf {
    FILE *fp;
    char *buf; /* owned after mb_close */
    size_t len;
} membuf;

static void mb_open(membuf *m) {
    m->buf = NULL;
    m->len = 0;
    m->fp = open_memstream(&m->buf, &m->len);
    BB_ASSERT(m->fp, "report: open_memstream failed");
}

static void mb_close(membuf *m) {
    if (m->fp) fclose(m->fp);
    m->fp = NULL;
}

static void mb_free(membuf *m) {
    mb_close(m);
    free(m->buf);
    m->buf = NULL;
}

static int write_rel(bb_report_out *o, const char *rel, const char *data, size_t len,
                     bb_error *err) {
    bb_atomic_file af;
    if (bb_report_out_open(o, rel, &af, err) != BB_OK) return BB_ERR;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        bb_atomic_abort(&af);
        return bb_fail(err, "%s: write error", rel);
    }
    return bb_report_out_commit(o, rel, &af, err);
}

static void skip(const fig_ctx *c, const char *name, const char *reason) {
    char fig[300];
    snprintf(fig, sizeof fig, "%s/%s", c->ds, name);
    bb_report_list_add(&c->o->sum->skipped, fig);
    bb_report_list_add(&c->o->sum->skipped_reasons, reason);
}

/* ------------------------------------------------------------------------------------------
 * Writing one figure: NAME.dat, NAME.gp (preamble + common.gp + template), the render */

static int render(const fig_ctx *c, const char *name, const char *figdir_rel) {
    char *figdir = bb_report_out_path(c->o, figdir_rel);
    char script[300], log_rel[400], msg[600];
    snprintf(script, sizeof script, "%s.gp", name);
    snprintf(log_rel, sizeof log_rel, "gnuplot-%s-%s.log", c->ds, name);
    char *log = bb_report_out_path(c->o, log_rel);
    int rc = bb_report_gnuplot_run(c->p->gnuplot, figdir, script, log, msg, sizeof msg);
    unlink(log);
    free(log);
    static const char *const formats[] = {"png", "svg"};
    for (int f = 0; f < 2; f++) {
        char part_name[320], final_rel[700];
        snprintf(part_name, sizeof part_name, "%s.%s.part", name, formats[f]);
        snprintf(final_rel, sizeof final_rel, "%s/%s.%s", figdir_rel, name, formats[f]);
        char *part = bb_path_join(figdir, part_name);
        char *final = bb_report_out_path(c->o, final_rel);
        FILE *probe = rc == 0 ? fopen(part, "rb") : NULL;
        int nonempty = probe && fgetc(probe) != EOF;
        if (probe) fclose(probe);
        if (rc == 0 && !nonempty) {
            snprintf(msg, sizeof msg, "gnuplot wrote no %s output", formats[f]);
            rc = -1;
        }
        if (rc == 0 && rename(part, final) != 0) {
            snprintf(msg, sizeof msg, "cannot rename %s into place", part_name);
            rc = -1;
        }
        if (rc == 0) {
            bb_report_list_add(&c->o->files, final_rel);
            bb_report_list_add(&c->o->sum->figures, final_rel);
        }
        unlink(part);
        free(part);
        free(final);
    }
    if (rc != 0) bb_report_warn(c->o->sum, "figure %s/%s not drawn: %s", c->ds, name, msg);
    free(figdir);
    return BB_OK;
}

/* Writes NAME.dat and NAME.gp and draws the figure; frees dat and pre. */
static int emit_figure(const fig_ctx *c, const char *name, const char *template_name,
                       membuf *dat, membuf *pre, bb_error *err) {
    mb_close(dat);
    mb_close(pre);
    char figdir_rel[300], rel[400];
    snprintf(figdir_rel, sizeof figdir_rel, "%s/figures", c->ds);
    snprintf(rel, sizeof rel, "%s/%s.dat", figdir_rel, name);
    int rc = write_rel(c->o, rel, dat->buf, dat->len, err);
    char *common = NULL, *tmpl = NULL;
    int have_script = 0;
    if (rc == BB_OK && c->p->plots_dir) {
        char file[300];
        snprintf(file, sizeof file, "%s.gp", template_name);
        char *common_path = bb_path_join(c->p->plots_dir, "common.gp");
        char *tmpl_path = bb_path_join(c->p->plots_dir, file);
        bb_error terr;
        if (bb_read_file(common_path, &common, NULL, &terr) != BB_OK ||
            bb_read_file(tmpl_path, &tmpl, NULL, &terr) != BB_OK) {
            bb_report_warn(c->o->sum, "figure %s/%s not drawn: %s", c->ds, name, terr.msg);
        } else {
            membuf gp;
            mb_open(&gp);
            fprintf(gp.fp, "%s\n%s\n%s", pre->buf, common, tmpl);
            mb_close(&gp);
            snprintf(rel, sizeof rel, "%s/%s.gp", figdir_rel, name);
            rc = write_rel(c->o, rel, gp.buf, gp.len, err);
            mb_free(&gp);
            have_script = rc == BB_OK;
        }
        free(common_path);
        free(tmpl_path);
    }
    if (have_script && c->p->gnuplot) rc = render(c, name, figdir_rel);
    free(common);
    free(tmpl);
    mb_free(dat);
    mb_free(pre);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Codebook-size variants: "stage1.codebook_size=64+explain.lr=0.001" -> K = 64, rest
 * "explain.lr=0.001" */

typedef struct cb_entry {
    int method, variant;
    long size;
    char *rest; /* owned: the other grid keys, "" when none */
} cb_entry;

static int parse_codebook_variant(const char *v, long *size, char **rest) {
    char *copy = bb_strdup(v), *save = NULL;
    size_t cap = strlen(v) + 1, len = 0;
    *rest = bb_calloc(cap, 1);
    int found = 0;
    for (char *part = strtok_r(copy, "+", &save); part; part = strtok_r(NULL, "+", &save)) {
        char *eq = strchr(part, '=');
        size_t klen = eq ? (size_t)(eq - part) : 0;
        int is_size = eq && (klen == 13 || (klen > 13 && part[klen - 14] == '.')) &&
                      strncmp(eq - 13, "codebook_size", 13) == 0;
        if (is_size && !found && eq[1] && strspn(eq + 1, "0123456789") == strlen(eq + 1)) {
            *size = strtol(eq + 1, NULL, 10);
            found = *size > 0;
            if (found) continue;
        }
        len += (size_t)snprintf(*rest + len, cap - len, "%s%s", len ? "+" : "", part);
    }
    free(copy);
    if (!found) {
        free(*rest);
        *rest = NULL;
    }
    return found;
}

static int cmp_cb(const void *va, const void *vb) {
    const cb_entry *a = va, *b = vb;
    if (a->method != b->method) return a->method < b->method ? -1 : 1;
    int r = strcmp(a->rest, b->rest);
    if (r) return r;
    return a->size < b->size ? -1 : a->size > b->size;
}

/* Every (method, variant) of the dataset with a codebook size, sorted into series. */
static size_t codebook_entries(const fig_ctx *c, cb_entry **out) {
    const bb_report_data *d = c->d;
    cb_entry *e = bb_malloc((d->n_groups ? d->n_groups : 1) * sizeof *e);
    size_t n = 0;
    for (size_t k = 0; k < d->n_groups; k++) {
        const bb_report_group *g = &d->groups[k];
        if (g->dataset != c->dataset) continue;
        if (n && e[n - 1].method == g->method && e[n - 1].variant == g->variant) continue;
        long size;
        char *rest;
        if (!parse_codebook_variant(d->variants.names[g->variant], &size, &rest)) continue;
        e[n++] = (cb_entry){g->method, g->variant, size, rest};
    }
    if (n) qsort(e, n, sizeof *e, cmp_cb);
    *out = e;
    return n;
}

static void free_entries(cb_entry *e, size_t n) {
    for (size_t k = 0; k < n; k++) free(e[k].rest);
    free(e);
}

/* Series k runs over entries [start[k], start[k + 1]). */
static size_t series_starts(const cb_entry *e, size_t n, size_t *start) {
    size_t ns = 0;
    for (size_t k = 0; k < n; k++)
        if (k == 0 || e[k].method != e[k - 1].method || strcmp(e[k].rest, e[k - 1].rest) != 0)
            start[ns++] = k;
    start[ns] = n;
    return ns;
}

static void series_title(FILE *fp, const bb_report_data *d, const cb_entry *e) {
    gp_word(fp, d->methods.names[e->method]);
    if (e->rest[0]) {
        fputc(':', fp);
        gp_word(fp, e->rest);
    }
}

/* The K tics and x range of the plotted sizes. */
static void size_axis(FILE *pre, const long *sizes, size_t n) {
    long lo = sizes[0], hi = sizes[0];
    fputs("sizes = '", pre);
    for (size_t k = 0; k < n; k++) {
        int seen = 0;
        for (size_t j = 0; j < k; j++) seen |= sizes[j] == sizes[k];
        if (!seen) fprintf(pre, "%s%ld", k ? " " : "", sizes[k]);
        if (sizes[k] < lo) lo = sizes[k];
        if (sizes[k] > hi) hi = sizes[k];
    }
    fprintf(pre, "'\nxmin = %.6g\nxmax = %.6g\n", (double)lo / sqrt(2.0), (double)hi * sqrt(2.0));
}

static int fig_codebook_metric(const fig_ctx *c, const cb_entry *e, size_t n, const char *metric,
                               const char *label, bb_error *err) {
    char name[100];
    snprintf(name, sizeof name, "codebook_%s", metric);
    for (char *s = name; *s; s++)
        if (*s == '@') *s = '_';
    if (n == 0) {
        skip(c, name, "no variant with a codebook_size");
        return BB_OK;
    }
    const bb_report_data *d = c->d;
    const int m = bb_report_names_find(&d->metrics, metric);
    size_t *start = bb_malloc((n + 1) * sizeof *start);
    const size_t ns = series_starts(e, n, start);
    long *sizes = bb_malloc(n * sizeof *sizes);
    size_t n_sizes = 0, n_series = 0;
    membuf dat, titles, pre;
    mb_open(&dat);
    mb_open(&titles);
    fprintf(dat.fp, "# %s/%s: %s (split test) against codebook size\n# K mean std seeds\n",
            c->ds, name, metric);
    for (size_t s = 0; s < ns; s++) {
        int any = 0;
        for (size_t k = start[s]; k < start[s + 1]; k++) {
            const bb_report_group *g =
                bb_report_find(d, c->dataset, e[k].method, e[k].variant, BB_REPORT_TEST, m);
            if (!g) continue;
            double mean, std;
            bb_report_group_stats(d, g, &mean, &std);
            if (!any && n_series) fputs("\n\n", dat.fp);
            fprintf(dat.fp, "%ld %.17g %.17g %zu\n", e[k].size, mean, std, g->count);
            sizes[n_sizes++] = e[k].size;
            any = 1;
        }
        if (!any) continue;
        if (n_series) fputc(' ', titles.fp);
        series_title(titles.fp, d, &e[start[s]]);
        n_series++;
    }
    mb_close(&titles);
    free(start);
    if (n_series == 0) {
        mb_free(&dat);
        mb_free(&titles);
        free(sizes);
        char why[200];
        snprintf(why, sizeof why, "no %s rows for the codebook_size variants", metric);
        skip(c, name, why);
        return BB_OK;
    }
    mb_open(&pre);
    char title[300];
    snprintf(title, sizeof title, "%s: %s vs codebook size", c->ds, label);
    preamble_begin(pre.fp, c, name, 640, 420, title);
    fprintf(pre.fp, "ylabel = '%s'\nnseries = %zu\ntitles = '%s'\n", label, n_series, titles.buf);
    size_axis(pre.fp, sizes, n_sizes);
    mb_free(&titles);
    free(sizes);
    return emit_figure(c, name, "codebook_metric", &dat, &pre, err);
}

static const char *const codebook_names[] = {"user_macro", "user_micro", "item_macro",
                                             "item_micro"};

/* One codebook statistic of one entry: group of "STAT/CODEBOOK" at split tokens. */
static const bb_report_group *token_group(const fig_ctx *c, const cb_entry *e, const char *stat,
                                          const char *codebook) {
    char metric[64];
    snprintf(metric, sizeof metric, "%s/%s", stat, codebook);
    int m = bb_report_names_find(&c->d->metrics, metric);
    return bb_report_find(c->d, c->dataset, e->method, e->variant, BB_REPORT_TOKENS, m);
}

/* " mean std" of offset + scale * value over seeds, or " ? ?" (gnuplot's missing value). */
static void put_stat(FILE *fp, const bb_report_data *d, const bb_report_group *g, double scale,
                     double offset) {
    if (!g) {
        fputs(" ? ?", fp);
        return;
    }
    double mean, std;
    bb_report_group_stats(d, g, &mean, &std);
    fprintf(fp, " %.17g %.17g", offset + scale * mean, fabs(scale) * std);
}

static int fig_codebook_usage(const fig_ctx *c, const cb_entry *e, size_t n, bb_error *err) {
    const char *name = "codebook_usage";
    if (n == 0) {
        skip(c, name, "no variant with a codebook_size");
        return BB_OK;
    }
    const bb_report_data *d = c->d;
    size_t *start = bb_malloc((n + 1) * sizeof *start);
    const size_t ns = series_starts(e, n, start);
    long *sizes = bb_malloc(n * 4 * sizeof *sizes);
    size_t n_sizes = 0, n_series = 0;
    membuf dat, titles, pre;
    mb_open(&dat);
    mb_open(&titles);
    fprintf(dat.fp, "# %s/%s: codebook statistics (split tokens) against codebook size\n"
                    "# K perplexity_mean perplexity_std used_share_mean used_share_std seeds\n",
            c->ds, name);
    for (size_t s = 0; s < ns; s++)
        for (int cb = 0; cb < 4; cb++) {
            int any = 0;
            for (size_t k = start[s]; k < start[s + 1]; k++) {
                const char *book = codebook_names[cb];
                const bb_report_group *ppl = token_group(c, &e[k], "perplexity", book);
                const bb_report_group *used = token_group(c, &e[k], "used", book);
                const bb_report_group *dead = token_group(c, &e[k], "dead_codes", book);
                if (!ppl && !used && !dead) continue;
                if (!any && n_series) fputs("\n\n", dat.fp);
                fprintf(dat.fp, "%ld", e[k].size);
                put_stat(dat.fp, d, ppl, 1.0, 0.0);
                /* share used = used / K, or (K - dead) / K when only dead codes are known */
                const double inv_k = 1.0 / (double)e[k].size;
                if (used)
                    put_stat(dat.fp, d, used, inv_k, 0.0);
                else
                    put_stat(dat.fp, d, dead, -inv_k, 1.0);
                const bb_report_group *seeds = ppl ? ppl : used ? used : dead;
                fprintf(dat.fp, " %zu\n", seeds->count);
                sizes[n_sizes++] = e[k].size;
                any = 1;
            }
            if (!any) continue;
            if (n_series) fputc(' ', titles.fp);
            gp_word(titles.fp, codebook_names[cb]);
            if (ns > 1) {
                fputc(':', titles.fp);
                series_title(titles.fp, d, &e[start[s]]);
            }
            n_series++;
        }
    mb_close(&titles);
    free(start);
    if (n_series == 0) {
        mb_free(&dat);
        mb_free(&titles);
        free(sizes);
        skip(c, name, "no split tokens rows for the codebook_size variants");
        return BB_OK;
    }
    mb_open(&pre);
    char title[300];
    snprintf(title, sizeof title, "%s: codebook usage vs codebook size", c->ds);
    preamble_begin(pre.fp, c, name, 1100, 440, title);
    fprintf(pre.fp, "nseries = %zu\ntitles = '%s'\n", n_series, titles.buf);
    size_axis(pre.fp, sizes, n_sizes);
    mb_free(&titles);
    free(sizes);
    return emit_figure(c, name, "codebook_usage", &dat, &pre, err);
}

/* ------------------------------------------------------------------------------------------
 * Tokenization variants as grouped bars */

static const char *const bar_metrics[] = {"bleu1",    "bleu4",      "rouge1_f",
                                          "rouge2_f", "rougeL_f",   "bertscore_f"};
static const char *const bar_labels[] = {"BLEU-1",    "BLEU-4",    "ROUGE-1 F",
                                         "ROUGE-2 F", "ROUGE-L F", "BERTScore-style F"};
enum { N_BAR_METRICS = sizeof bar_metrics / sizeof bar_metrics[0] };

static int has_text_rows(const fig_ctx *c, int method, int variant) {
    for (int k = 0; k < N_BAR_METRICS; k++) {
        int m = bb_report_names_find(&c->d->metrics, bar_metrics[k]);
        if (bb_report_find(c->d, c->dataset, method, variant, BB_REPORT_TEST, m)) return 1;
    }
    return 0;
}

static void bar_title(FILE *fp, const bb_report_data *d, int beat, int method, int variant) {
    const char *v = d->variants.names[variant], *m = d->methods.names[method];
    if (method == beat) {
        gp_word(fp, v);
        return;
    }
    gp_word(fp, m);
    if (strcmp(v, "default") != 0 && strcmp(v, m) != 0) {
        fputc(':', fp);
        gp_word(fp, v);
    }
}

static int fig_variants(const fig_ctx *c, bb_error *err) {
    const char *name = "variants_text";
    const bb_report_data *d = c->d;
    const int beat = bb_report_names_find(&d->methods, "beat");
    const int idp = bb_report_names_find(&d->methods, "id-prompt");
    const size_t nv = d->variants.n;
    int *bar_m = bb_malloc(2 * (nv ? nv : 1) * sizeof *bar_m);
    int *bar_v = bb_malloc(2 * (nv ? nv : 1) * sizeof *bar_v);
    size_t nbars = 0, named = 0;
    for (size_t v = 0; v < nv && beat >= 0; v++)
        if (!strchr(d->variants.names[v], '=') && has_text_rows(c, beat, (int)v)) {
            bar_m[nbars] = beat;
            bar_v[nbars++] = (int)v;
            named++;
        }
    for (size_t v = 0; v < nv && idp >= 0 && named >= 2; v++)
        if (has_text_rows(c, idp, (int)v)) {
            bar_m[nbars] = idp;
            bar_v[nbars++] = (int)v;
        }
    if (named < 2) {
        free(bar_m);
        free(bar_v);
        skip(c, name, "fewer than two named beat variants with text metrics");
        return BB_OK;
    }
    membuf dat, pre;
    mb_open(&dat);
    fprintf(dat.fp, "# %s/%s: text metrics (split test) per variant\n# metric", c->ds, name);
    for (size_t b = 0; b < nbars; b++) fprintf(dat.fp, " mean%zu std%zu", b + 1, b + 1);
    fputc('\n', dat.fp);
    for (int k = 0; k < N_BAR_METRICS; k++) {
        int m = bb_report_names_find(&d->metrics, bar_metrics[k]);
        int any = 0;
        for (size_t b = 0; b < nbars; b++)
            any |= bb_report_find(d, c->dataset, bar_m[b], bar_v[b], BB_REPORT_TEST, m) != NULL;
        if (!any) continue;
        fprintf(dat.fp, "\"%s\"", bar_labels[k]);
        for (size_t b = 0; b < nbars; b++)
            put_stat(dat.fp, d,
                     bb_report_find(d, c->dataset, bar_m[b], bar_v[b], BB_REPORT_TEST, m), 1.0,
                     0.0);
        fputc('\n', dat.fp);
    }
    mb_open(&pre);
    char title[300];
    snprintf(title, sizeof title, "%s: tokenization variants", c->ds);
    preamble_begin(pre.fp, c, name, 800, 440, title);
    fprintf(pre.fp, "nbars = %zu\ntitles = '", nbars);
    for (size_t b = 0; b < nbars; b++) {
        if (b) fputc(' ', pre.fp);
        bar_title(pre.fp, d, beat, bar_m[b], bar_v[b]);
    }
    fputs("'\n", pre.fp);
    free(bar_m);
    free(bar_v);
    return emit_figure(c, name, "variants_text", &dat, &pre, err);
}

/* ------------------------------------------------------------------------------------------
 * Training curves */

typedef struct curve_pt {
    int method, variant, metric, epoch;
    double value;
} curve_pt;

static int cmp_curve(const void *va, const void *vb) {
    const curve_pt *a = va, *b = vb;
    const int ka[4] = {a->method, a->variant, a->metric, a->epoch};
    const int kb[4] = {b->method, b->variant, b->metric, b->epoch};
    for (int k = 0; k < 4; k++)
        if (ka[k] != kb[k]) return ka[k] < kb[k] ? -1 : 1;
    return 0;
}

/* The metrics a stage's panel shows (DESIGN §4.6, §5): preferred names, else the first. */
static size_t stage_metrics(const fig_ctx *c, int stage, int *out) {
    const bb_report_data *d = c->d;
    static const char *const stage1[] = {"loss", NULL};
    static const char *const stage2[] = {"train_loss", "valid_loss", NULL};
    static const char *const rank[] = {"recall@20", NULL};
    const char *sname = d->stages.names[stage];
    const char *const *want = strcmp(sname, "stage1") == 0   ? stage1
                              : strcmp(sname, "stage2") == 0 ? stage2
                                                             : rank;
    unsigned char *has = bb_calloc(d->curve_metrics.n ? d->curve_metrics.n : 1, 1);
    int first = -1;
    for (size_t k = 0; k < d->n_curves; k++) {
        const bb_report_curve *p = &d->curves[k];
        if (p->dataset != c->dataset || p->stage != stage || !isfinite(p->value)) continue;
        has[p->metric] = 1;
        if (first < 0) first = p->metric;
    }
    size_t n = 0;
    for (int k = 0; want[k]; k++) {
        int m = bb_report_names_find(&d->curve_metrics, want[k]);
        if (m >= 0 && has[m]) out[n++] = m;
    }
    if (n == 0 && first >= 0) out[n++] = first;
    free(has);
    return n;
}

static void curve_title(FILE *fp, const bb_report_data *d, const curve_pt *p, size_t n_metrics) {
    gp_word(fp, d->methods.names[p->method]);
    if (strcmp(d->variants.names[p->variant], "default") != 0) {
        fputc('/', fp);
        gp_word(fp, d->variants.names[p->variant]);
    }
    if (n_metrics > 1) {
        fputc(':', fp);
        gp_word(fp, d->curve_metrics.names[p->metric]);
    }
}

/* Writes the blocks of one stage's panel (series in method, variant, metric order; points
 * averaged over the seeds at each epoch); returns the number of series written. */
static size_t curve_panel(const fig_ctx *c, int stage, const int *metrics, size_t n_metrics,
                          curve_pt *pts, size_t *n_blocks, membuf *dat, membuf *titles) {
    const bb_report_data *d = c->d;
    size_t np = 0;
    for (size_t k = 0; k < d->n_curves; k++) {
        const bb_report_curve *p = &d->curves[k];
        if (p->dataset != c->dataset || p->stage != stage || !isfinite(p->value)) continue;
        for (size_t j = 0; j < n_metrics; j++)
            if (p->metric == metrics[j])
                pts[np++] = (curve_pt){p->method, p->variant, p->metric, p->epoch, p->value};
    }
    if (np) qsort(pts, np, sizeof *pts, cmp_curve);
    size_t n_series = 0, dropped = 0;
    for (size_t k = 0; k < np;) {
        size_t end = k;
        while (end < np && pts[end].method == pts[k].method &&
               pts[end].variant == pts[k].variant && pts[end].metric == pts[k].metric)
            end++;
        if (n_series == MAX_CURVE_SERIES) {
            dropped++;
            k = end;
            continue;
        }
        if (*n_blocks) fputs("\n\n", dat->fp);
        for (size_t j = k; j < end;) {
            size_t e = j;
            double sum = 0;
            while (e < end && pts[e].epoch == pts[j].epoch) sum += pts[e++].value;
            fprintf(dat->fp, "%d %.17g %zu\n", pts[j].epoch, sum / (double)(e - j), e - j);
            j = e;
        }
        if (*n_blocks) fputc(' ', titles->fp);
        curve_title(titles->fp, d, &pts[k], n_metrics);
        ++*n_blocks;
        n_series++;
        k = end;
    }
    if (dropped)
        bb_report_warn(c->o->sum, "figure %s/curves: the %s panel shows the first %d of %zu series",
                       c->ds, d->stages.names[stage], MAX_CURVE_SERIES,
                       (size_t)MAX_CURVE_SERIES + dropped);
    return n_series;
}

static int fig_curves(const fig_ctx *c, bb_error *err) {
    const char *name = "curves";
    const bb_report_data *d = c->d;
    static const char *const stage_order[] = {"stage1", "stage2", "rank"};
    curve_pt *pts = bb_malloc((d->n_curves ? d->n_curves : 1) * sizeof *pts);
    membuf dat, titles, first, count, ylabels, panels, pre;
    mb_open(&dat);
    mb_open(&titles);
    mb_open(&first);
    mb_open(&count);
    mb_open(&ylabels);
    mb_open(&panels);
    fprintf(dat.fp, "# %s/%s: training curves (curves.csv), mean over seeds\n# epoch mean seeds\n",
            c->ds, name);
    size_t n_blocks = 0, n_panels = 0;
    for (int so = 0; so < 3; so++) {
        const int stage = bb_report_names_find(&d->stages, stage_order[so]);
        if (stage < 0) continue;
        int metrics[4];
        const size_t n_metrics = stage_metrics(c, stage, metrics);
        const size_t first_block = n_blocks;
        size_t n_series =
            n_metrics ? curve_panel(c, stage, metrics, n_metrics, pts, &n_blocks, &dat, &titles)
                      : 0;
        if (n_series == 0) continue;
        const char *sep = n_panels ? " " : "";
        fprintf(first.fp, "%s%zu", sep, first_block);
        fprintf(count.fp, "%s%zu", sep, n_series);
        fprintf(panels.fp, "%s%s", sep, stage_order[so]);
        for (size_t j = 0; j < n_metrics; j++) {
            fputs(j ? "," : sep, ylabels.fp);
            gp_word(ylabels.fp, d->curve_metrics.names[metrics[j]]);
        }
        n_panels++;
    }
    free(pts);
    mb_close(&titles), mb_close(&first), mb_close(&count), mb_close(&ylabels), mb_close(&panels);
    int rc = BB_OK;
    if (n_panels == 0) {
        mb_free(&dat);
        skip(c, name, d->have_curves ? "no curves for this dataset" : "no curves.csv");
    } else {
        mb_open(&pre);
        char title[300];
        snprintf(title, sizeof title, "%s: training curves", c->ds);
        preamble_begin(pre.fp, c, name, 480 * (int)n_panels + 80, 420, title);
        fprintf(pre.fp, "npanels = %zu\npanels = '%s'\npanel_first = '%s'\npanel_count = '%s'\n",
                n_panels, panels.buf, first.buf, count.buf);
        fprintf(pre.fp, "panel_ylabels = '%s'\ntitles = '%s'\n", ylabels.buf, titles.buf);
        rc = emit_figure(c, name, "curves", &dat, &pre, err);
    }
    mb_free(&titles), mb_free(&first), mb_free(&count), mb_free(&ylabels), mb_free(&panels);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */

int bb_report_figures(const bb_report_data *d, int dataset, const bb_report_plotter *p,
                      bb_report_out *o, bb_error *err) {
    const fig_ctx c = {d, dataset, d->datasets.names[dataset], p, o};
    cb_entry *e;
    size_t n = codebook_entries(&c, &e);
    static const char *const metrics[] = {"bleu4", "rougeL_f", "recall@20"};
    static const char *const labels[] = {"BLEU-4", "ROUGE-L F", "Recall@20"};
    int rc = BB_OK;
    for (int k = 0; k < 3 && rc == BB_OK; k++)
        rc = fig_codebook_metric(&c, e, n, metrics[k], labels[k], err);
    if (rc == BB_OK) rc = fig_codebook_usage(&c, e, n, err);
    free_entries(e, n);
    if (rc == BB_OK) rc = fig_variants(&c, err);
    if (rc == BB_OK) rc = fig_curves(&c, err);
    return rc;
}
