/* report_gnuplot — locating and running gnuplot. See report_gnuplot.h. */
#include "harness/report_gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "models/base/bb_io.h"

static int is_executable_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *bb_report_gnuplot_find(const char *opt) {
    const char *name = opt && *opt ? opt : getenv("BB_GNUPLOT");
    if (!name || !*name) name = "gnuplot";
    if (strchr(name, '/')) return is_executable_file(name) ? bb_strdup(name) : NULL;
    const char *path = getenv("PATH");
    if (!path) return NULL;
    /* each entry of PATH in turn; an empty entry is the current directory (execvp's rule) */
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *dir = len ? bb_malloc(len + 1) : bb_strdup(".");
        if (len) {
            memcpy(dir, p, len);
            dir[len] = '\0';
        }
        char *cand = bb_path_join(dir, name);
        free(dir);
        if (is_executable_file(cand)) return cand;
        free(cand);
        if (!end) break;
        p = end;
    }
    return NULL;
}

static int has_templates(const char *dir) {
    char *probe = bb_path_join(dir, "codebook_metric.gp");
    int ok = bb_path_exists(probe);
    free(probe);
    return ok;
}

char *bb_report_plots_find(const char *opt) {
    if (opt && *opt) return has_templates(opt) ? bb_strdup(opt) : NULL;
    const char *env = getenv("BB_PLOTS_DIR");
    if (env && *env) return has_templates(env) ? bb_strdup(env) : NULL;
    /* the executable sits in build/<variant>/ of the source tree (or beside plots/) */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        for (int up = 0; up < 4 && slash; up++) {
            *slash = '\0';
            char *cand = bb_path_join(exe[0] ? exe : "/", "plots");
            if (has_templates(cand)) return cand;
            free(cand);
            slash = strrchr(exe, '/');
        }
    }
    return has_templates("plots") ? bb_strdup("plots") : NULL;
}

/* The last non-empty line of the log (gnuplot's error comes last). */
static void last_line(const char *log, char *out, size_t cap) {
    out[0] = '\0';
    char *text = NULL;
    bb_error ignored;
    if (bb_read_file(log, &text, NULL, &ignored) != BB_OK) return;
    char *line = strtok(text, "\n");
    while (line) {
        if (strspn(line, " \t\r^") != strlen(line)) snprintf(out, cap, "%s", line);
        line = strtok(NULL, "\n");
    }
    free(text);
}

int bb_report_gnuplot_run(const char *gnuplot, const char *dir, const char *script,
                          const char *log, char *msg, size_t cap) {
    /* everything the child needs is prepared before fork: it only calls async-signal-safe
     * functions (the parent may have threads) */
    char *const argv[] = {(char *)gnuplot, "-e", "bb_part='.part'", (char *)script, NULL};
    int log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        snprintf(msg, cap, "%s: cannot create: %s", log, strerror(errno));
        return -1;
    }
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(126);
        if (null_fd >= 0) dup2(null_fd, 0);
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        execv(gnuplot, argv);
        _exit(127);
    }
    close(log_fd);
    if (null_fd >= 0) close(null_fd);
    if (pid < 0) {
        snprintf(msg, cap, "cannot start %s: %s", gnuplot, strerror(errno));
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            snprintf(msg, cap, "waiting for %s: %s", gnuplot, strerror(errno));
            return -1;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    char line[400];
    last_line(log, line, sizeof line);
    if (WIFEXITED(status))
        snprintf(msg, cap, "gnuplot exited with status %d%s%s", WEXITSTATUS(status),
                 line[0] ? ": " : "", line);
    else
        snprintf(msg, cap, "gnuplot was killed by signal %d",
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}
