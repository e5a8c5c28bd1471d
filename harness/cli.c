/* cli — option parsing, help and exit conventions. See cli.h. */
#include "harness/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int bb_cli_fail(const bb_error *err) {
    fprintf(stderr, "beatbench: %s\n", err->msg[0] ? err->msg : "unknown error");
    return BB_EXIT_DATA;
}

int bb_cli_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "beatbench: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'beatbench %s --help')\n", cmd);
    return BB_EXIT_USAGE;
}

void bb_opts_print_help(const bb_cmd_spec *spec, const bb_opt *opts, FILE *out) {
    fprintf(out, "usage: beatbench %s %s\n\n%s\n", spec->name, spec->synopsis ? spec->synopsis : "",
            spec->summary ? spec->summary : "");
    if (spec->positional_help) fprintf(out, "\narguments:\n  %s\n", spec->positional_help);
    fprintf(out, "\noptions:\n");
    for (const bb_opt *o = opts; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-26s %s\n", left, o->help ? o->help : "");
    }
    fprintf(out, "  %-26s %s\n", "--help", "show this help");
}

static int parse_value(const bb_cmd_spec *spec, const bb_opt *o, const char *v) {
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case BB_OPT_STR:
        *(const char **)o->dest = v;
        return 0;
    case BB_OPT_INT: {
        long x = strtol(v, &end, 10);
        if (!*v || *end || errno || x < INT_MIN || x > INT_MAX)
            return bb_cli_usage(spec->name, "%s: expected an integer, got \"%s\"", o->name, v);
        *(int *)o->dest = (int)x;
        return 0;
    }
    case BB_OPT_U64: {
        if (*v == '-')
            return bb_cli_usage(spec->name, "%s: expected a non-negative integer, got \"%s\"",
                                o->name, v);
        unsigned long long x = strtoull(v, &end, 10);
        if (!*v || *end || errno)
            return bb_cli_usage(spec->name, "%s: expected a non-negative integer, got \"%s\"",
                                o->name, v);
        *(uint64_t *)o->dest = (uint64_t)x;
        return 0;
    }
    case BB_OPT_DOUBLE: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x))
            return bb_cli_usage(spec->name, "%s: expected a number, got \"%s\"", o->name, v);
        *(double *)o->dest = x;
        return 0;
    }
    case BB_OPT_FLAG:
        break;
    }
    return bb_cli_usage(spec->name, "%s takes no value", o->name);
}

int bb_opts_parse(const bb_cmd_spec *spec, const bb_opt *opts, int argc, char **argv,
                  bb_positionals *pos) {
    bb_positionals unused;
    if (!pos) pos = &unused;
    pos->count = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            bb_opts_print_help(spec, opts, stdout);
            return -1;
        }
        if (a[0] != '-' || a[1] == '\0') { /* positional, or "-" meaning stdin */
            if (pos->count >= (int)(sizeof pos->values / sizeof pos->values[0]) ||
                pos->count >= spec->max_positional)
                return bb_cli_usage(spec->name, "unexpected argument \"%s\"", a);
            pos->values[pos->count++] = argv[i];
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
        const bb_opt *match = NULL;
        for (const bb_opt *o = opts; o && o->name; o++)
            if (strlen(o->name) == name_len && strncmp(o->name, a, name_len) == 0) match = o;
        if (!match) return bb_cli_usage(spec->name, "unknown option \"%.*s\"", (int)name_len, a);
        if (match->kind == BB_OPT_FLAG) {
            if (eq) return bb_cli_usage(spec->name, "%s takes no value", match->name);
            *(int *)match->dest = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) return bb_cli_usage(spec->name, "%s needs a value", match->name);
        int rc = parse_value(spec, match, v);
        if (rc) return rc;
    }
    if (pos->count < spec->min_positional)
        return bb_cli_usage(spec->name, "missing argument%s", spec->min_positional > 1 ? "s" : "");
    return BB_EXIT_OK;
}

int bb_parse_int_list(const char *text, int *out, int n_max, int *n_out) {
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end = NULL;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v <= 0 || v > INT_MAX || n >= n_max) return BB_ERR;
        out[n++] = (int)v;
        p = end;
        if (*p == ',') {
            p++;
            if (!*p) return BB_ERR;
        } else if (*p) {
            return BB_ERR;
        }
    }
    *n_out = n;
    return n > 0 ? BB_OK : BB_ERR;
}

void bb_json_number(FILE *out, double v) {
    if (!isfinite(v)) {
        fputs("null", out);
        return;
    }
    fprintf(out, "%.17g", v);
}

void bb_json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}
