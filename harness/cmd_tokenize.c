/* cmd_tokenize — `beatbench tokenize --tokenizer treebank|rouge|whitespace [--stem]`
 * (DESIGN §10): standard input lines to space-joined tokens, one output line per input line.
 *
 *   treebank    nltk's NLTKWordTokenizer().tokenize(line.lower())
 *   whitespace  line.lower().split()
 *   rouge       rouge_score's tokenizer (lower-case, [a-z0-9] runs)
 * --stem replaces tokens longer than 3 characters by their Porter stem (rouge_score's rule);
 * --cased skips the lower-casing of treebank and whitespace. Lines must be UTF-8; a bad
 * line is a data error naming it ("<stdin>:LINE: invalid UTF-8 ...", exit 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cli.h"
#include "harness/commands.h"
#include "metrics/text_tokenize.h"
#include "metrics/text_unicode.h"
#include "metrics/text_vocab.h"

int bb_cmd_tokenize(int argc, char **argv) {
    const char *kind_name = "treebank";
    int stem = 0, cased = 0;
    const bb_opt opts[] = {
        {"--tokenizer", BB_OPT_STR, &kind_name, "NAME", "treebank (default), rouge or whitespace"},
        {"--stem", BB_OPT_FLAG, &stem, NULL, "Porter-stem tokens longer than 3 characters"},
        {"--cased", BB_OPT_FLAG, &cased, NULL, "keep case (treebank, whitespace)"},
        {0}};
    const bb_cmd_spec spec = {"tokenize", "[--tokenizer treebank|rouge|whitespace] [--stem] < LINES",
                              "Tokenize standard input, one line of space-separated tokens per "
                              "input line, as the text metrics see it.",
                              0, 0, NULL};
    int rc = bb_opts_parse(&spec, opts, argc, argv, NULL);
    if (rc < 0) return BB_EXIT_OK;
    if (rc) return rc;
    tokenizer_kind kind;
    if (tokenizer_kind_parse(kind_name, &kind))
        return bb_cli_usage("tokenize", "--tokenizer: expected treebank, rouge or whitespace, got \"%s\"",
                            kind_name);

    text_vocab *vocab = text_vocab_create();
    text_encoder *enc = text_encoder_create(kind, !cased, stem, vocab);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    rc = BB_EXIT_OK;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        size_t n = (size_t)got;
        lineno++;
        if (n && line[n - 1] == '\n') n--;
        if (n && line[n - 1] == '\r') n--;
        size_t bad;
        if (!uni_utf8_check(line, n, &bad)) {
            bb_error err;
            bb_fail(&err, "<stdin>:%zu: invalid UTF-8 (byte 0x%02x at offset %zu)", lineno,
                    (unsigned char)line[bad], bad);
            rc = bb_cli_fail(&err);
            break;
        }
        const int32_t *ids;
        size_t k = text_encoder_encode(enc, line, n, &ids);
        for (size_t i = 0; i < k; i++) {
            size_t len;
            const char *tok = text_vocab_str(vocab, ids[i], &len);
            if (i) putchar(' ');
            fwrite(tok, 1, len, stdout);
        }
        putchar('\n');
    }
    free(line);
    text_encoder_free(enc);
    text_vocab_free(vocab);
    if (fflush(stdout) != 0 && rc == BB_EXIT_OK) {
        bb_error err;
        bb_fail(&err, "<stdout>: write error");
        rc = bb_cli_fail(&err);
    }
    return rc;
}
