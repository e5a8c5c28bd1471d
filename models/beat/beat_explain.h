/* beat_explain — the soft-prompt explainer on a frozen LM (DESIGN §5), shared by BEAT stage 2,
 * ID-prompt and XRec-style (DESIGN §7), so that the three differ only in what fills the slots.
 *
 * Prompt of a pair (u, i) with title `title` (domain "book" or "business"):
 *   <bos> Explain why the user would {buy the book | enjoy the business} within 50 words.
 *   user record: <U> {book|business} record: <I> {book|business} name: {title} <EXPLAIN>
 *   {explanation} <eos>
 * <U> and <I> expand to S positions each (S = 1 + T for BEAT: macro then T micro); their
 * input embeddings are the 2S slot vectors a provider makes for (u, i): rows [0, S) the user
 * side, [S, 2S) the item side. The text pieces are BPE-encoded once; the title is cut to
 * max_title_tokens; the explanation follows <EXPLAIN> without a leading space, as every text
 * follows <bos> in pretraining (lm_train.h). A sequence longer than the LM's context loses
 * explanation tokens at the end (and then its <eos>). Test rows are encoded as prompts only:
 * their explanation text is never read here.
 *
 * The <EXPLAIN> position: the LM never saw <EXPLAIN> in pretraining (specials are added by
 * id, and the corpus holds plain texts), so its token-embedding row is an untrained random
 * vector that tells the frozen LM nothing; greedy decoding then starts mid-sentence. The
 * explainer therefore injects a learned separator vector there, one for all pairs, initialised
 * to the LM's <bos> embedding (which the LM knows as "a text starts here") and trained with
 * the slots. It is part of the shared loop, so BEAT, ID-prompt and XRec-style all have it.
 *
 * Slot providers (beat_slot_provider): a provider owns trainable parameters (an nn_params
 * registry) and builds the (n, 2S, d_model) slot vectors of n pairs on an nn tape, so the
 * explainer can back-propagate into them. BEAT (beat_explain_beat.h): behaviour-token tables
 * + projectors; ID-prompt (baselines/id_prompt.h): ID vectors; XRec-style
 * (baselines/xrec_style.h): LightGCN embeddings through a mixture-of-experts adapter.
 *
 * Loss of a batch (DESIGN §5): mean cross-entropy over the explanation tokens only (each
 * explanation token and the closing <eos>, predicted from the position before), plus
 * beta_sar * SAR (beat_sar.h) unless no_sar. The LM runs in LM_FROZEN mode: its weights get
 * no gradient and are never written (bit-identical after training; tested). The CE gradient
 * with respect to the slot vectors comes from lm_forward_backward's inject_grad and enters
 * the provider's tape as the surrogate term sum(X * sg(G)) - sum(sg(X) * sg(G)), whose value
 * is exactly 0 and whose gradient is G, so one tape scalar carries value and gradient of the
 * whole loss (also what the gradient checks differentiate).
 *
 * Training (beat_explain_fit): Adam over the provider's parameters and the separator (lr,
 * optional clipping of their joint gradient norm), batches of `batch` train rows shuffled every epoch with stream
 * (seed, "<name>/shuffle", epoch). After every epoch the validation loss (explanation CE per
 * token, no SAR) selects the epoch: the parameters of the best epoch are kept and training
 * stops after `patience` epochs without a lower value, or at max_epochs. Without valid rows
 * the last epoch is kept. Test rows are touched once, by generation, after training. Every
 * epoch adds a row to the stats' log: mean objective of its steps, its validation CE, seconds.
 * Generation: greedy (beam > 1: beam search), at most max_new new tokens (and the context),
 * stops at <eos>; the text is decoded without special tokens and trimmed.
 *
 * Determinism: shuffles from the seed, the LM's fixed thread split, tape ops in a fixed
 * order: bit-identical results for the same seed and LM thread count.
 *
 * Ownership: the explainer borrows the LM, tokenizer, provider and explanations (they must
 * outlive it) and owns its encoded sequences (beat_explainer_free).
 */
#ifndef BEAT_EXPLAIN_H
#define BEAT_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/explain_task.h"
#include "models/base/bb_error.h"
#include "models/beat/beat_explain_log.h"
#include "models/lm/lm_bpe.h"
#include "models/lm/lm_model.h"
#include "models/nn/nn_optim.h"
#include "models/nn/nn_tape.h"

/* A flat struct so the harness can validate JSON configs against a schema over it. */
typedef struct beat_explain_config {
    int batch;            /* sequences per step, 16 */
    double lr;            /* Adam, 3e-3 */
    double clip;          /* global gradient-norm clip, 1.0 (0 = off) */
    int max_epochs;       /* 20 */
    int patience;         /* epochs without a lower valid loss before stopping, 3 */
    double beta_sar;      /* SAR weight, 1 */
    int no_sar;           /* 1: cross-entropy only */
    int max_new;          /* new tokens at most in generation, 128 */
    int beam;             /* 1 = greedy */
    int max_title_tokens; /* title tokens kept in the prompt, 32 */
} beat_explain_config;

void beat_explain_config_default(beat_explain_config *c);
/* Range checks; messages name the key ("key 'batch': ..."). */
int beat_explain_config_check(const beat_explain_config *c, bb_error *err);

typedef struct beat_slot_provider {
    const char *name;         /* "beat", "id-prompt", "xrec": progress and rng purposes */
    void *self;
    nn_params *params;        /* trainable parameters (Adam runs over all of them) */
    int32_t n_users, n_items; /* ids the provider knows: pairs outside are an error */
    int slots;                /* S: slots per side */
    int width;                /* width of each slot vector; must equal the LM's d_model */
    /* (n, 2S, width) slot vectors of pairs (uid[k], iid[k]) on tp, differentiable with
     * respect to params (ids already checked). */
    nn_tensor *(*build)(void *self, nn_tape *tp, const int32_t *uid, const int32_t *iid, int n);
} beat_slot_provider;

/* The encoded sequences of the explanation rows (prompt, and for train/valid rows the
 * explanation and <eos>). */
typedef struct beat_explain_seqs {
    size_t n;          /* explanation rows */
    size_t *off;       /* n + 1: row r's tokens are ids[off[r] .. off[r+1]) */
    int32_t *ids;
    int *prompt_len;   /* P: tokens up to and including <EXPLAIN> */
    int *n_expl;       /* explanation tokens kept (not counting <eos>); 0 for test rows */
    int user_at, item_at; /* first position of the user / item slots (the same in every row) */
} beat_explain_seqs;

typedef struct beat_explainer {
    beat_explain_config cfg;
    lm_model *lm;                   /* borrowed, frozen */
    lm_bpe *tok;                    /* borrowed */
    const beat_slot_provider *prov; /* borrowed */
    const bb_explanations *ex;      /* borrowed */
    const bb_split *split;          /* borrowed */
    beat_explain_seqs seqs;
    int S, C;
    uint64_t seed;
    nn_params *own;  /* owned: the <EXPLAIN> separator vector */
    nn_tensor *sep;  /* (1, C) "explain_sep" */
} beat_explainer;

/* Checks the provider against the LM and every pair of the split against the provider's id
 * ranges ("EXPL:LINE: field 'uid': id 2100 is beyond the provider's 2000 users"), and
 * encodes the sequences. domain is "book" or "business". */
int beat_explainer_init(beat_explainer *x, const beat_explain_config *cfg, lm_model *lm,
                        lm_bpe *tok, const beat_slot_provider *prov, const bb_explanations *ex,
                        const bb_split *split, const char *domain, uint64_t seed, bb_error *err);
void beat_explainer_free(beat_explainer *x);

/* The prompt text of a domain with the slots written as <U>/<I> (for manifests and tests). */
const char *beat_explain_template(const char *domain);

typedef struct beat_explain_losses {
    double ce;      /* mean explanation cross-entropy (nats per token) */
    double sar;     /* SAR value (0 when off) */
    double total;   /* ce + beta_sar * sar */
    int64_t tokens; /* counted target tokens */
} beat_explain_losses;

/* Loss of explanation rows rows[0..n) (train or valid rows) as one tape scalar: value
 * ce + beta_sar * sar, gradient with respect to the provider's parameters and x->sep the
 * exact gradient of that loss (see the header). parts may be NULL. */
nn_tensor *beat_explain_batch_loss(beat_explainer *x, nn_tape *tp, const size_t *rows, int n,
                                   beat_explain_losses *parts);
/* Explanation cross-entropy per token of rows rows[0..n) (no SAR, no gradient). */
double beat_explain_eval_ce(beat_explainer *x, const size_t *rows, size_t n);

typedef struct beat_explain_stats {
    int epochs_run, best_epoch; /* 1-based */
    double best_valid_ce;       /* NAN without valid rows */
    double first_train_loss, last_train_loss; /* mean objective over an epoch's steps */
    double last_train_ce, last_train_sar;
    double train_seconds;
    int64_t steps;
    beat_train_log log; /* one row per epoch run (train_log.csv); owned */
} beat_explain_stats;

/* Fills *st from scratch (release it with beat_explain_stats_free, also after an error). */
int beat_explain_fit(beat_explainer *x, beat_explain_stats *st, bb_error *err);
void beat_explain_stats_free(beat_explain_stats *st);
/* Generations for rows rows[0..n) (any split: only the prompt is used), malloc'd texts. */
int beat_explain_generate(beat_explainer *x, const size_t *rows, size_t n, char **texts,
                          bb_error *err);

/* The whole protocol on a task: init, fit, generate every test row into out (initialised
 * here). Fills the timings and epochs of out, and writes the epochs' train_log.csv
 * (beat_explain_log.h) into task->work_dir when it is set. Sets the LM's thread count to
 * task->threads. */
int beat_explain_task_run(const bb_explain_task *task, const beat_explain_config *cfg,
                          lm_model *lm, lm_bpe *tok, const beat_slot_provider *prov,
                          bb_explain_output *out, bb_error *err);

/* Standard deviation of the LM's token-embedding entries (wte): the scale at which injected
 * vectors look like token embeddings to the frozen LM (providers initialise to it). */
double beat_explain_wte_std(const lm_model *lm);

#endif
