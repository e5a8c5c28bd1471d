/* report_tables — per-dataset tables with significance marks. See report_tables.h. */
#include "harness/report_tables.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/csv_reader.h"
#include "metrics/significance.h"
#include "models/base/bb_io.h"

static const char *const table_names[BB_N_TABLES] = {"text", "ranking", "codebook", "cost"};
static const int table_splits[BB_N_TABLES] = {BB_REPORT_TEST, BB_REPORT_TEST, BB_REPORT_TOKENS,
                                              BB_REPORT_COST};

const char *bb_report_table_name(int kind) {
    BB_ASSERT(kind >= 0 && kind < BB_N_TABLES, "report: table kind %d out of range", kind);
    return table_names[kind];
}

/* The main text metrics (DESIGN §8) and their column labels. */
static const char *const text_metrics[] = {"bleu1",    "bleu4",       "rouge1_f",  "rouge2_f",
                                           "rougeL_f", "bertscore_f", "distinct2", "usr"};
static const char *const text_labels[] = {"BLEU-1",    "BLEU-4",           "ROUGE-1 F",
                                          "ROUGE-2 F", "ROUGE-L F",        "BERTScore-style F",
                                          "Distinct-2", "USR"};
enum { N_TEXT = sizeof text_metrics / sizeof text_metrics[0] };

static const char *const rank_metrics[] = {"recall", "precision", "ndcg", "mrr", "hit", "hr_micro"};
static const char *const rank_labels[] = {"Recall", "Precision", "NDCG",
                                          "MRR",    "Hit",       "HR (micro)"};
enum { N_RANK = sizeof rank_metrics / sizeof rank_metrics[0] };

static const char *const codebooks[] = {"user_macro", "user_micro", "item_macro", "item_micro"};
static const char *const codebook_stats[] = {"perplexity", "used", "dead_codes"};
static const char *const cost_metrics[] = {"seconds", "peak_rss_mb"};

/* Table row order of the methods (DESIGN §7): BEAT, explanation baselines, ranking ones. */
static const char *const method_order[] = {"beat", "id-prompt", "xrec", "peter", "nrt",
                                           "retrieval", "pop", "mf", "lightgcn"};
enum { N_METHOD_ORDER = sizeof method_order / sizeof method_order[0] };

static int list_index(const char *const *list, size_t n, const char *s) {
    for (size_t k = 0; k < n; k++)
        if (strcmp(list[k], s) == 0) return (int)k;
    return -1;
}

/* ------------------------------------------------------------------------------------------
 * Columns */

/* Metrics with rows in (dataset, split): flags over d->metrics. */
static unsigned char *metrics_present(const bb_report_data *d, int dataset, int split) {
    unsigned char *present = bb_calloc(d->metrics.n ? d->metrics.n : 1, 1);
    for (size_t k = 0; k < d->n_groups; k++)
        if (d->groups[k].dataset == dataset && d->groups[k].split == split)
            present[d->groups[k].metric] = 1;
    return present;
}

/* "recall@20" -> base index in rank_metrics (N_RANK when unknown) and k; 0 if not "x@k". */
static int parse_at(const char *name, int *base, long *k) {
    const char *at = strrchr(name, '@');
    if (!at || at == name || !at[1] || strspn(at + 1, "0123456789") != strlen(at + 1)) return 0;
    *k = strtol(at + 1, NULL, 10);
    *base = N_RANK;
    for (int b = 0; b < N_RANK; b++)
        if (strlen(rank_metrics[b]) == (size_t)(at - name) &&
            strncmp(name, rank_metrics[b], (size_t)(at - name)) == 0)
            *base = b;
    return 1;
}

typedef struct col_key {
    long a, b, c; /* sort key */
    int metric;
} col_key;

static int cmp_col(const void *va, const void *vb) {
    const col_key *x = va, *y = vb;
    const long kx[4] = {x->a, x->b, x->c, x->metric}, ky[4] = {y->a, y->b, y->c, y->metric};
    for (int k = 0; k < 4; k++)
        if (kx[k] != ky[k]) return kx[k] < ky[k] ? -1 : 1;
    return 0;
}

static void choose_columns(const bb_report_data *d, bb_report_table *t) {
    unsigned char *present = metrics_present(d, t->dataset, t->split);
    col_key *keys = bb_malloc((d->metrics.n ? d->metrics.n : 1) * sizeof *keys);
    size_t n = 0;
    for (size_t m = 0; m < d->metrics.n; m++) {
        if (!present[m]) continue;
        const char *name = d->metrics.names[m];
        col_key key = {0, 0, 0, (int)m};
        if (t->kind == BB_TABLE_TEXT) {
            int i = list_index(text_metrics, N_TEXT, name);
            if (i < 0) continue;
            key.a = i;
        } else if (t->kind == BB_TABLE_RANKING) {
            int base;
            long k;
            if (!parse_at(name, &base, &k)) continue;
            key.a = k, key.b = base;
        } else if (t->kind == BB_TABLE_CODEBOOK) {
            const char *slash = strchr(name, '/');
            int cb = slash ? list_index(codebooks, 4, slash + 1) : -1;
            int st = -1;
            for (int s = 0; slash && s < 3; s++)
                if (strlen(codebook_stats[s]) == (size_t)(slash - name) &&
                    strncmp(name, codebook_stats[s], (size_t)(slash - name)) == 0)
                    st = s;
            key.a = cb < 0 || st < 0 ? 4 : cb, key.b = st < 0 ? 3 : st;
        } else {
            int i = list_index(cost_metrics, 2, name);
            key.a = i < 0 ? 2 : i;
        }
        keys[n++] = key;
    }
    qsort(keys, n, sizeof *keys, cmp_col);
    t->n_cols = n;
    t->col_metric = bb_malloc((n ? n : 1) * sizeof *t->col_metric);
    t->col_shown = bb_malloc((n ? n : 1) * sizeof *t->col_shown);
    /* ranking Markdown: k = 20 as in the paper, else the smallest k present */
    long main_k = n ? keys[0].a : 0;
    for (size_t c = 0; c < n; c++)
        if (t->kind == BB_TABLE_RANKING && keys[c].a == 20) main_k = 20;
    for (size_t c = 0; c < n; c++) {
        t->col_metric[c] = keys[c].metric;
        t->col_shown[c] = t->kind != BB_TABLE_RANKING || keys[c].a == main_k;
    }
    free(keys);
    free(present);
}

/* ------------------------------------------------------------------------------------------
 * Rows */

static void choose_rows(const bb_report_data *d, bb_report_table *t) {
    size_t nm = d->methods.n, cap = 16;
    t->row_method = bb_malloc(cap * sizeof *t->row_method);
    t->row_variant = bb_malloc(cap * sizeof *t->row_variant);
    int *order = bb_malloc((nm ? nm : 1) * sizeof *order);
    size_t n_order = 0;
    for (int k = 0; k < N_METHOD_ORDER; k++) {
        int m = bb_report_names_find(&d->methods, method_order[k]);
        if (m >= 0) order[n_order++] = m;
    }
    for (size_t m = 0; m < nm; m++)
        if (list_index(method_order, N_METHOD_ORDER, d->methods.names[m]) < 0)
            order[n_order++] = (int)m;
    for (size_t k = 0; k < n_order; k++)
        for (size_t v = 0; v < d->variants.n; v++) {
            int has = 0;
            for (size_t c = 0; c < t->n_cols && !has; c++)
                has = bb_report_find(d, t->dataset, order[k], (int)v, t->split, t->col_metric[c]) !=
                      NULL;
            if (!has) continue;
            if (t->n_rows == cap) {
                cap *= 2;
                t->row_method = bb_realloc(t->row_method, cap * sizeof *t->row_method);
                t->row_variant = bb_realloc(t->row_variant, cap * sizeof *t->row_variant);
            }
            t->row_method[t->n_rows] = order[k];
            t->row_variant[t->n_rows++] = (int)v;
        }
    free(order);
}

/* ------------------------------------------------------------------------------------------
 * Significance */

/* Values of the seeds that both groups have, in ascending seed order. */
static size_t matched_seeds(const bb_report_data *d, const bb_report_group *ga,
                            const bb_report_group *gb, double *a, double *b, uint64_t *seeds) {
    const bb_report_row *ra = &d->rows[ga->first], *rb = &d->rows[gb->first];
    size_t i = 0, j = 0, n = 0;
    while (i < ga->count && j < gb->count) {
        if (ra[i].seed < rb[j].seed) {
            i++;
        } else if (ra[i].seed > rb[j].seed) {
            j++;
        } else {
            if (a) a[n] = ra[i].value;
            if (b) b[n] = rb[j].value;
            if (seeds) seeds[n] = ra[i].seed;
            n++, i++, j++;
        }
    }
    return n;
}

static int find_ref_row(const bb_report_data *d, const bb_report_table *t) {
    int beat = bb_report_names_find(&d->methods, "beat");
    static const char *const ref_variants[] = {"full", "default"};
    for (int k = 0; k < 2 && beat >= 0; k++) {
        int v = bb_report_names_find(&d->variants, ref_variants[k]);
        for (size_t r = 0; r < t->n_rows && v >= 0; r++)
            if (t->row_method[r] == beat && t->row_variant[r] == v) return (int)r;
    }
    return -1;
}

static void ttests(const bb_report_data *d, bb_report_table *t) {
    const size_t nc = t->n_cols;
    for (size_t r = 0; r < t->n_rows; r++) {
        if ((int)r == t->ref_row) continue;
        for (size_t c = 0; c < nc; c++) {
            const bb_report_group *gr = bb_report_find(d, t->dataset, t->row_method[t->ref_row],
                                                       t->row_variant[t->ref_row], t->split,
                                                       t->col_metric[c]);
            const bb_report_group *g = bb_report_find(
                d, t->dataset, t->row_method[r], t->row_variant[r], t->split, t->col_metric[c]);
            if (!gr || !g) continue;
            size_t cap = gr->count < g->count ? gr->count : g->count;
            double *a = bb_malloc((cap ? cap : 1) * sizeof *a),
                   *b = bb_malloc((cap ? cap : 1) * sizeof *b);
            size_t n = matched_seeds(d, gr, g, a, b, NULL);
            signif_test st;
            bb_error ignored;
            if (n >= 2 && signif_paired_t(a, b, n, &st, &ignored) == BB_OK) {
                t->stats[r * nc + c].has_t = 1;
                t->stats[r * nc + c].p_t = st.p_value;
            }
            free(a);
            free(b);
        }
    }
}

/* Paired bootstrap over test pairs for BLEU-4 and ROUGE-L F at every matched seed. */
static int bootstraps(const bb_report_data *d, bb_report_table *t, bb_report_gens *gens,
                      bb_report_summary *sum, bb_error *err) {
    const int m_bleu = bb_report_names_find(&d->metrics, "bleu4");
    const int m_rouge = bb_report_names_find(&d->metrics, "rougeL_f");
    int c_bleu = -1, c_rouge = -1;
    for (size_t c = 0; c < t->n_cols; c++) {
        if (t->col_metric[c] == m_bleu) c_bleu = (int)c;
        if (t->col_metric[c] == m_rouge) c_rouge = (int)c;
    }
    if (c_bleu < 0 && c_rouge < 0) return BB_OK;
    const int m_key = c_bleu >= 0 ? m_bleu : m_rouge;
    const char *dataset = d->datasets.names[t->dataset];
    const char *ref_m = d->methods.names[t->row_method[t->ref_row]];
    const char *ref_v = d->variants.names[t->row_variant[t->ref_row]];
    const bb_report_group *gr = bb_report_find(d, t->dataset, t->row_method[t->ref_row],
                                               t->row_variant[t->ref_row], t->split, m_key);
    for (size_t r = 0; r < t->n_rows && gr; r++) {
        if ((int)r == t->ref_row) continue;
        const bb_report_group *g = bb_report_find(d, t->dataset, t->row_method[r],
                                                  t->row_variant[r], t->split, m_key);
        if (!g) continue;
        uint64_t *seeds = bb_malloc((g->count ? g->count : 1) * sizeof *seeds);
        size_t n = matched_seeds(d, gr, g, NULL, NULL, seeds);
        double p_bleu = 0, p_rouge = 0;
        int ok = n > 0;
        const char *m = d->methods.names[t->row_method[r]];
        const char *v = d->variants.names[t->row_variant[r]];
        for (size_t s = 0; s < n && ok; s++) {
            bb_report_boot res;
            if (bb_report_bootstrap(gens, dataset, ref_m, ref_v, m, v, seeds[s], &res, err) !=
                BB_OK) {
                free(seeds);
                return BB_ERR;
            }
            if (!res.found) {
                bb_report_warn(sum, "%s: no bootstrap of %s/%s against %s/%s: %s", dataset, ref_m,
                               ref_v, m, v, res.why);
                ok = 0;
                break;
            }
            if (res.p_bleu4 > p_bleu) p_bleu = res.p_bleu4;
            if (res.p_rougeL_f > p_rouge) p_rouge = res.p_rougeL_f;
        }
        free(seeds);
        if (!ok) continue;
        t->boot_tested = 1;
        if (c_bleu >= 0 && t->stats[r * t->n_cols + (size_t)c_bleu].present) {
            t->stats[r * t->n_cols + (size_t)c_bleu].has_boot = 1;
            t->stats[r * t->n_cols + (size_t)c_bleu].p_boot = p_bleu;
        }
        if (c_rouge >= 0 && t->stats[r * t->n_cols + (size_t)c_rouge].present) {
            t->stats[r * t->n_cols + (size_t)c_rouge].has_boot = 1;
            t->stats[r * t->n_cols + (size_t)c_rouge].p_boot = p_rouge;
        }
    }
    return BB_OK;
}

/* ------------------------------------------------------------------------------------------
 * Building */

int bb_report_table_build(const bb_report_data *d, int dataset, int kind, bb_report_gens *gens,
                          bb_report_summary *sum, bb_report_table *t, bb_error *err) {
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->dataset = dataset;
    t->split = table_splits[kind];
    t->ref_row = -1;
    choose_columns(d, t);
    choose_rows(d, t);
    const size_t nr = t->n_rows, nc = t->n_cols;
    t->stats = bb_calloc(nr * nc > 0 ? nr * nc : 1, sizeof *t->stats);
    for (size_t r = 0; r < nr; r++)
        for (size_t c = 0; c < nc; c++) {
            const bb_report_group *g = bb_report_find(
                d, dataset, t->row_method[r], t->row_variant[r], t->split, t->col_metric[c]);
            if (!g) continue;
            bb_report_stat *s = &t->stats[r * nc + c];
            s->present = 1;
            s->n = g->count;
            bb_report_group_stats(d, g, &s->mean, &s->std);
        }
    if (kind != BB_TABLE_TEXT && kind != BB_TABLE_RANKING) return BB_OK;
    /* every metric of these tables is better when higher; ties are all marked */
    for (size_t c = 0; c < nc; c++) {
        double best = -INFINITY;
        for (size_t r = 0; r < nr; r++)
            if (t->stats[r * nc + c].present && t->stats[r * nc + c].mean > best)
                best = t->stats[r * nc + c].mean;
        for (size_t r = 0; r < nr; r++)
            t->stats[r * nc + c].best =
                t->stats[r * nc + c].present && t->stats[r * nc + c].mean == best;
    }
    t->ref_row = find_ref_row(d, t);
    if (t->ref_row < 0) return BB_OK;
    ttests(d, t);
    if (kind == BB_TABLE_TEXT && bootstraps(d, t, gens, sum, err) != BB_OK) return BB_ERR;
    return BB_OK;
}

void bb_report_table_free(bb_report_table *t) {
    free(t->row_method);
    free(t->row_variant);
    free(t->col_metric);
    free(t->col_shown);
    free(t->stats);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------------------------
 * CSV */

static void csv_number(FILE *fp, int has, double v) {
    if (has) fprintf(fp, "%.17g", v);
}

void bb_report_table_csv(const bb_report_data *d, const bb_report_table *t, FILE *fp) {
    fprintf(fp, "dataset,method,variant,split,metric,mean,std,n,best,p_ttest,p_bootstrap\n");
    const int marked = t->kind == BB_TABLE_TEXT || t->kind == BB_TABLE_RANKING;
    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < t->n_cols; c++) {
            const bb_report_stat *s = &t->stats[r * t->n_cols + c];
            if (!s->present) continue;
            const char *names[] = {
                d->datasets.names[t->dataset], d->methods.names[t->row_method[r]],
                d->variants.names[t->row_variant[r]], bb_report_split_name(t->split),
                d->metrics.names[t->col_metric[c]]};
            for (int k = 0; k < 5; k++) {
                bb_csv_write_field(fp, names[k]);
                fputc(',', fp);
            }
            fprintf(fp, "%.17g,%.17g,%zu,", s->mean, s->std, s->n);
            if (marked) fputc(s->best ? '1' : '0', fp);
            fputc(',', fp);
            csv_number(fp, s->has_t, s->p_t);
            fputc(',', fp);
            csv_number(fp, s->has_boot, s->p_boot);
            fputc('\n', fp);
        }
}

/* ------------------------------------------------------------------------------------------
 * Markdown */

/* Text for a table cell: '|' would end the cell. */
static void md_text(FILE *fp, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputc('\\', fp);
        fputc(*s, fp);
    }
}

static void md_label(const bb_report_data *d, const bb_report_table *t, size_t r, FILE *fp) {
    size_t variants = 0;
    for (size_t k = 0; k < t->n_rows; k++) variants += t->row_method[k] == t->row_method[r];
    md_text(fp, d->methods.names[t->row_method[r]]);
    if (variants > 1) {
        fputs(" (", fp);
        md_text(fp, d->variants.names[t->row_variant[r]]);
        fputc(')', fp);
    }
}

static void md_column(const bb_report_data *d, const bb_report_table *t, size_t c, FILE *fp) {
    const char *name = d->metrics.names[t->col_metric[c]];
    int base;
    long k;
    if (t->kind == BB_TABLE_TEXT) {
        fputs(text_labels[list_index(text_metrics, N_TEXT, name)], fp);
    } else if (t->kind == BB_TABLE_RANKING && parse_at(name, &base, &k) && base < N_RANK) {
        fprintf(fp, "%s@%ld", rank_labels[base], k);
    } else if (t->kind == BB_TABLE_COST && strcmp(name, "peak_rss_mb") == 0) {
        fputs("peak RSS (MB)", fp);
    } else {
        md_text(fp, name);
    }
}

/* Decimals: 4 for the scores in [0, 1] of the text and ranking tables; 1 for perplexities,
 * code counts, seconds and megabytes. */
static int table_decimals(const bb_report_table *t) {
    return t->kind == BB_TABLE_TEXT || t->kind == BB_TABLE_RANKING ? 4 : 1;
}

static const char *table_title(int kind) {
    switch (kind) {
    case BB_TABLE_TEXT: return "explanation quality (test pairs)";
    case BB_TABLE_RANKING: return "ranking (test split)";
    case BB_TABLE_CODEBOOK: return "codebook statistics (stage-1 tokens)";
    default: return "cost per cell";
    }
}

void bb_report_table_markdown(const bb_report_data *d, const bb_report_table *t, FILE *fp) {
    const size_t nc = t->n_cols;
    const int marked = t->kind == BB_TABLE_TEXT || t->kind == BB_TABLE_RANKING;
    fprintf(fp, "### %s: %s\n\n| method | seeds |", d->datasets.names[t->dataset],
            table_title(t->kind));
    for (size_t c = 0; c < nc; c++)
        if (t->col_shown[c]) {
            fputc(' ', fp);
            md_column(d, t, c, fp);
            fputs(" |", fp);
        }
    fputs("\n|:--|--:|", fp);
    for (size_t c = 0; c < nc; c++)
        if (t->col_shown[c]) fputs("--:|", fp);
    fputc('\n', fp);
    for (size_t r = 0; r < t->n_rows; r++) {
        size_t n_lo = SIZE_MAX, n_hi = 0;
        for (size_t c = 0; c < nc; c++) {
            const bb_report_stat *s = &t->stats[r * nc + c];
            if (!s->present || !t->col_shown[c]) continue;
            if (s->n < n_lo) n_lo = s->n;
            if (s->n > n_hi) n_hi = s->n;
        }
        fputs("| ", fp);
        md_label(d, t, r, fp);
        if (n_hi == 0)
            fputs(" | – |", fp);
        else if (n_lo == n_hi)
            fprintf(fp, " | %zu |", n_lo);
        else
            fprintf(fp, " | %zu–%zu |", n_lo, n_hi);
        for (size_t c = 0; c < nc; c++) {
            if (!t->col_shown[c]) continue;
            const bb_report_stat *s = &t->stats[r * nc + c];
            if (!s->present) {
                fputs(" – |", fp);
                continue;
            }
            const int dec = table_decimals(t);
            const char *bold = marked && s->best ? "**" : "";
            fprintf(fp, " %s%.*f ± %.*f%s", bold, dec, s->mean, dec, s->std, bold);
            int t_sig = s->has_t && s->p_t < BB_REPORT_ALPHA;
            int b_sig = s->has_boot && s->p_boot < BB_REPORT_ALPHA;
            if (t_sig || b_sig) fprintf(fp, " %s%s", t_sig ? "\\*" : "", b_sig ? "†" : "");
            fputs(" |", fp);
        }
        fputc('\n', fp);
    }
    fputs("\nMean ± sample standard deviation (n − 1) over seeds; *seeds*: seeds per cell.", fp);
    if (marked) fputs(" **Bold**: best mean in its column.", fp);
    if (marked && t->ref_row >= 0) {
        fputs(" Marks compare each row with ", fp);
        md_label(d, t, (size_t)t->ref_row, fp);
        fprintf(fp, " (two-sided, p < %g): \\* paired t-test over matched seeds (needs 2 or more)",
                BB_REPORT_ALPHA);
        if (t->boot_tested)
            fprintf(fp,
                    "; † paired bootstrap over the test pairs (%d resamples, pairs matched by "
                    "uid and iid), significant at every matched seed (BLEU-4 and ROUGE-L F)",
                    BB_REPORT_RESAMPLES);
        fprintf(fp, ". p-values: %s.csv.", table_names[t->kind]);
    } else if (marked) {
        fputs(" No significance marks: no beat row with variant full or default.", fp);
    }
    for (size_t c = 0; c < nc; c++)
        if (!t->col_shown[c]) {
            fprintf(fp, " Other cut-offs: %s.csv.", table_names[t->kind]);
            break;
        }
    if (t->kind == BB_TABLE_COST) fputs(" Wall time and peak memory vary between runs.", fp);
    fputc('\n', fp);
}
