/* synth_io — writing a generated dataset (bb_synth_write) and reading the planted truth back
 * (bb_planted_load). See synth.h; formats in datasets/FORMAT.md. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/csv_reader.h"
#include "datasets/synth.h"
#include "models/base/bb_io.h"

/* ------------------------------------------------------------------------------------ */
/* writing                                                                              */

static FILE *open_out(const char *dir, const char *name, bb_error *err) {
    char *path = bb_path_join(dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp) bb_fail(err, "%s: cannot create: %s", path, strerror(errno));
    free(path);
    return fp;
}

static int close_out(FILE *fp, const char *name, bb_error *err) {
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad) return bb_fail(err, "%s: write error: %s", name, strerror(errno));
    return BB_OK;
}

static int write_interactions(const char *dir, const char *name, const bb_interactions *x,
                              bb_error *err) {
    FILE *fp = open_out(dir, name, err);
    if (!fp) return BB_ERR;
    fputs("user,item\n", fp);
    for (size_t r = 0; r < x->n; r++) fprintf(fp, "%d,%d\n", x->user[r], x->item[r]);
    return close_out(fp, name, err);
}

static void write_aspect_list(FILE *fp, const bb_aspect_lists *a, int32_t e) {
    for (int32_t k = a->off[e]; k < a->off[e + 1]; k++)
        fprintf(fp, "%s%d", k == a->off[e] ? "" : ";", a->list[k]);
}

static int write_planted(const char *dir, const char *name, const int32_t *group,
                         const bb_aspect_lists *a, bb_error *err) {
    FILE *fp = open_out(dir, name, err);
    if (!fp) return BB_ERR;
    fputs("id,group,aspects\n", fp);
    for (int32_t e = 0; e < a->n; e++) {
        fprintf(fp, "%d,%d,", e, group[e]);
        write_aspect_list(fp, a, e);
        fputc('\n', fp);
    }
    return close_out(fp, name, err);
}

static int write_explanations(const char *dir, const bb_synth *s, bb_error *err) {
    FILE *fp = open_out(dir, "explanations.csv", err);
    if (!fp) return BB_ERR;
    fputs("uid,iid,title,user_summary,item_summary,explanation\n", fp);
    for (size_t r = 0; r < s->expl.n; r++) {
        const bb_explanation *e = &s->expl.rows[r];
        fprintf(fp, "%d,%d,", e->uid, e->iid);
        bb_csv_write_field(fp, e->title);
        fputc(',', fp);
        bb_csv_write_field(fp, e->user_summary);
        fputc(',', fp);
        bb_csv_write_field(fp, e->item_summary);
        fputc(',', fp);
        bb_csv_write_field(fp, e->explanation);
        fputc('\n', fp);
    }
    if (close_out(fp, "explanations.csv", err) != BB_OK) return BB_ERR;

    fp = open_out(dir, "planted_explanations.csv", err);
    if (!fp) return BB_ERR;
    fputs("uid,iid,aspects\n", fp);
    for (size_t r = 0; r < s->expl.n; r++) {
        fprintf(fp, "%d,%d,", s->expl.rows[r].uid, s->expl.rows[r].iid);
        write_aspect_list(fp, &s->expl_aspects, (int32_t)r);
        fputc('\n', fp);
    }
    return close_out(fp, "planted_explanations.csv", err);
}

static int write_aspects_and_config(const char *dir, const bb_synth *s, bb_error *err) {
    FILE *fp = open_out(dir, "aspects.csv", err);
    if (!fp) return BB_ERR;
    fputs("id,group,phrase\n", fp);
    for (int a = 0; a < s->cfg.aspects; a++) {
        fprintf(fp, "%d,%d,", a, s->aspect_group[a]);
        bb_csv_write_field(fp, s->aspect_phrase[a]);
        fputc('\n', fp);
    }
    if (close_out(fp, "aspects.csv", err) != BB_OK) return BB_ERR;
    fp = open_out(dir, "synth.json", err);
    if (!fp) return BB_ERR;
    const bb_synth_config *c = &s->cfg;
    fprintf(fp,
            "{\"generator\": \"beatbench data synth\", \"users\": %d, \"items\": %d, "
            "\"groups\": %d, \"aspects\": %d, \"interactions\": %d, \"explained\": %d, "
            "\"seed\": %" PRIu64 "}\n",
            c->users, c->items, c->groups, c->aspects, c->interactions, c->explained, c->seed);
    return close_out(fp, "synth.json", err);
}

/* An existing target is replaced only when it is empty or an earlier synth output. */
static int check_replaceable(const char *dir, bb_error *err) {
    struct stat st;
    if (stat(dir, &st) != 0) return BB_OK;
    if (!S_ISDIR(st.st_mode)) return bb_fail(err, "%s: exists and is not a directory", dir);
    char *marker = bb_path_join(dir, "planted_users.csv");
    int is_synth = bb_path_exists(marker);
    free(marker);
    if (is_synth) return BB_OK;
    DIR *d = opendir(dir);
    if (!d) return bb_fail(err, "%s: cannot read: %s", dir, strerror(errno));
    int empty = 1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
    closedir(d);
    if (!empty)
        return bb_fail(err, "%s: exists and is not a synthetic dataset (no planted_users.csv); "
                            "refusing to replace it",
                       dir);
    return BB_OK;
}

int bb_synth_write(const bb_synth *s, const char *dir, bb_error *err) {
    if (check_replaceable(dir, err) != BB_OK) return BB_ERR;
    bb_stage_dir sd;
    if (bb_stage_dir_begin(&sd, dir, err) != BB_OK) return BB_ERR;
    const char *at = sd.staging;
    if (write_interactions(at, "train.csv", &s->data.train, err) != BB_OK ||
        write_interactions(at, "valid.csv", &s->data.valid, err) != BB_OK ||
        write_interactions(at, "test.csv", &s->data.test, err) != BB_OK ||
        write_explanations(at, s, err) != BB_OK ||
        write_planted(at, "planted_users.csv", s->user_group, &s->user_aspects, err) != BB_OK ||
        write_planted(at, "planted_items.csv", s->item_group, &s->item_aspects, err) != BB_OK ||
        write_aspects_and_config(at, s, err) != BB_OK) {
        bb_stage_dir_abort(&sd);
        return BB_ERR;
    }
    return bb_stage_dir_commit(&sd, err);
}

/* ------------------------------------------------------------------------------------ */
/* reading the planted truth                                                            */

typedef struct planted_reader {
    const char *path;
    int32_t *groups;
    bb_aspect_lists *a;
    size_t cap, list_cap;
} planted_reader;

static int on_planted(void *vctx, const bb_csv_record *rec, bb_error *err) {
    static const char *const header[3] = {"id", "group", "aspects"};
    planted_reader *pr = vctx;
    if (rec->index == 0) return bb_csv_expect_header(pr->path, rec, header, 3, err);
    if (rec->n != 3)
        return bb_fail(err, "%s:%zu: ragged row: expected 3 fields (id,group,aspects), got %zu",
                       pr->path, rec->line, rec->n);
    int id, group;
    if (bb_csv_parse_id(rec->fields[0], rec->lens[0], &id) != BB_OK)
        return bb_csv_fail_id(err, pr->path, rec->line, "id", rec->fields[0], rec->lens[0]);
    if (id != pr->a->n)
        return bb_fail(err, "%s:%zu: field 'id': expected %d (ids run 0..n-1 in order), got %d",
                       pr->path, rec->line, pr->a->n, id);
    if (bb_csv_parse_id(rec->fields[1], rec->lens[1], &group) != BB_OK)
        return bb_csv_fail_id(err, pr->path, rec->line, "group", rec->fields[1], rec->lens[1]);
    if ((size_t)pr->a->n + 1 >= pr->cap) {
        pr->cap = pr->cap ? 2 * pr->cap : 1024;
        pr->groups = bb_realloc(pr->groups, pr->cap * sizeof *pr->groups);
        pr->a->off = bb_realloc(pr->a->off, (pr->cap + 1) * sizeof *pr->a->off);
    }
    pr->groups[id] = group;
    const char *p = rec->fields[2], *end = p + rec->lens[2];
    int32_t n = pr->a->off[id];
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        size_t len = semi ? (size_t)(semi - p) : (size_t)(end - p);
        int aspect;
        if (bb_csv_parse_id(p, len, &aspect) != BB_OK)
            return bb_csv_fail_id(err, pr->path, rec->line, "aspects", p, len);
        if ((size_t)n == pr->list_cap) {
            pr->list_cap = pr->list_cap ? 2 * pr->list_cap : 4096;
            pr->a->list = bb_realloc(pr->a->list, pr->list_cap * sizeof *pr->a->list);
        }
        pr->a->list[n++] = aspect;
        p = semi ? semi + 1 : end;
    }
    pr->a->n++;
    pr->a->off[pr->a->n] = n;
    return BB_OK;
}

int bb_planted_load(const char *path, int32_t **groups, bb_aspect_lists *aspects,
                    bb_error *err) {
    memset(aspects, 0, sizeof *aspects);
    aspects->off = bb_calloc(1, sizeof *aspects->off);
    planted_reader pr = {path, NULL, aspects, 0, 0};
    if (bb_csv_read_file(path, on_planted, &pr, err) != BB_OK) {
        free(pr.groups);
        bb_aspect_lists_free(aspects);
        *groups = NULL;
        return BB_ERR;
    }
    *groups = pr.groups ? pr.groups : bb_calloc(1, sizeof **groups);
    return BB_OK;
}
