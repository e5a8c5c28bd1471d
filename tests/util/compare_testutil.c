/* compare_testutil — helpers of the compare tests; see compare_testutil.h. */
#include "tests/util/compare_testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/commands.h"
#include "models/base/bb_io.h"
#include "tests/testhelp.h"

/* A path under the test's scratch directory in a caller buffer (bb_test_tmp_path's buffer is
 * shared). */
char *ct_tmp_path(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s", bb_test_tmp_path(name));
    return buf;
}

char *ct_slurp(const char *path) {
    char *text = NULL;
    size_t len = 0;
    bb_error err;
    if (bb_read_file(path, &text, &len, &err) != BB_OK) return bb_strdup("");
    return text;
}

int ct_write_text(const char *path, const char *text) {
    bb_error err;
    return bb_write_file_atomic(path, text, strlen(text), &err);
}

/* text with its 1-based line `line` replaced by `with` (NULL deletes the line). */
char *ct_replace_line(const char *text, int line, const char *with) {
    size_t cap = strlen(text) + (with ? strlen(with) : 0) + 2;
    char *out = bb_malloc(cap), *o = out;
    int at = 1;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (at == line) {
            if (with) o += sprintf(o, "%s\n", with);
        } else {
            memcpy(o, p, len);
            o += len;
        }
        p += len;
        at++;
    }
    *o = '\0';
    return out;
}

/* Writes the fixture `name` with line `line` replaced (or deleted) to the scratch file `as`. */
int ct_fixture_variant(const char *name, int line, const char *with, const char *as) {
    char *text = ct_slurp(name);
    char *changed = ct_replace_line(text, line, with);
    int rc = ct_write_text(as, changed);
    free(text);
    free(changed);
    return rc;
}

int ct_count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

void ct_cli_result_free(ct_cli_result *r) {
    free(r->out);
    free(r->err);
}

/* Runs `beatbench compare ARGS` through bb_cli_main with stdout and stderr captured. */
ct_cli_result ct_run_compare(const char *const *args) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"compare";
    for (; args[argc - 1]; argc++) argv[argc] = (char *)args[argc - 1];
    char out_path[1024], err_path[1024];
    ct_tmp_path(out_path, sizeof out_path, "captured_stdout.txt");
    ct_tmp_path(err_path, sizeof err_path, "captured_stderr.txt");
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    BB_ASSERT(saved_out >= 0 && saved_err >= 0 && fo >= 0 && fe >= 0, "cannot capture output");
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    ct_cli_result r;
    r.rc = bb_cli_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    r.out = ct_slurp(out_path);
    r.err = ct_slurp(err_path);
    return r;
}


/* Files named NAME.tmp.* left in dir (an aborted atomic write must leave none). */
int ct_temp_files_in(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------------------------ */
