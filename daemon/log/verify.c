// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The offline verifier: checks a store against the root public key
 * alone (docs/log-format.md, "Verifier checks").
 *
 *  1. epoch certificates: root signature, numbering 1..E, origin, start
 *     sizes, NV counter strictly increasing (and, if the auditor read the
 *     counter, equal to the last claim);
 *  2. checkpoints (every checkpoint entry in the segments, each epoch's
 *     final one, the checkpoint file, a pinned one): signature by the
 *     certified key of the epoch they name, sizes within the epoch, each
 *     entry exactly after the records it seals, the latest one not older
 *     than the newest epoch;
 *  3. records: segment continuity, record format, the Merkle root at
 *     every checkpoint's size recomputed from the records themselves
 *     (which proves inclusion of every record and consistency between
 *     all checkpoints), kernel sequence numbers per boot id (gaps,
 *     duplicates, reordering), truncation and the unsealed tail.
 *
 * Findings are sorted so that the first one is the earliest thing wrong:
 * metadata first, then by record index, then the end of the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "witness.h"

struct fnd {
	struct bfl_finding f;
	int cls;		/* 0 metadata, 1 records, 2 end of store */
	u64 pos;
	unsigned int order;
};

struct ep {
	u64 epoch, start, nv;
	bool have;		/* a valid certificate */
	struct bfl_key key;
	bool have_final;
	struct bfl_checkpoint final;
};

struct cpc {			/* a checkpoint to compare with the tree */
	u64 size;
	bfl_hash root;
	char where[64];
};

struct seqent {
	u64 seq, idx;
};

struct vctx {
	const struct bfl_verify_opts *o;
	struct bfl_verify_result *res;
	struct fnd *f;
	unsigned int nf, capf, order;
	bool unreadable;

	struct ep *ep;
	unsigned int nep;
	struct cpc *cps;	/* checkpoint files: finals, latest, pinned */
	unsigned int ncp, capcp;

	/* checkpoint entries in the segments */
	bool have_entry;
	struct bfl_checkpoint last_entry;
	char *last_entry_text;
	char last_entry_where[96];
	u64 last_epoch_entries;	/* entries signed by last_entry's epoch */
	u64 prev_entry_epoch;	/* the epoch of the entries before those */

	/* sequence run of one boot id */
	bool run_active;
	u8 run_boot[BFL_STREAM_SIZE];
	struct seqent *run;
	u64 nrun, caprun;
	u64 nboots;
	u8 (*seen_boots)[BFL_STREAM_SIZE];
};

static void add(struct vctx *c, enum bfl_severity sev, int cls, u64 pos,
		const char *kind, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void add(struct vctx *c, enum bfl_severity sev, int cls, u64 pos,
		const char *kind, const char *where, const char *fmt, ...)
{
	unsigned int max = c->o && c->o->max_findings ? c->o->max_findings : 100;
	struct fnd *x;
	va_list ap;

	if (sev == BFL_SEV_ERROR)
		c->res->nerrors++;
	else if (sev == BFL_SEV_WARN)
		c->res->nwarn++;
	if (c->nf >= max)
		return;
	if (c->nf == c->capf) {
		unsigned int nc = c->capf ? 2 * c->capf : 16;
		struct fnd *nv = realloc(c->f, nc * sizeof(*nv));

		if (!nv)
			return;
		c->f = nv;
		c->capf = nc;
	}
	x = &c->f[c->nf++];
	memset(x, 0, sizeof(*x));
	x->f.sev = sev;
	x->f.kind = kind;
	snprintf(x->f.where, sizeof(x->f.where), "%s", where);
	va_start(ap, fmt);
	vsnprintf(x->f.msg, sizeof(x->f.msg), fmt, ap);
	va_end(ap);
	x->cls = cls;
	x->pos = pos;
	x->order = c->order++;
}

#define ERR(c, kind, where, ...) add(c, BFL_SEV_ERROR, 0, 0, kind, where, __VA_ARGS__)

/* A root mismatch says only that something among the records before a
 * checkpoint is wrong; a finding at the same place that names the
 * record (seq-order, record-altered...) goes first. */
static int vague(const struct fnd *x)
{
	return !strcmp(x->f.kind, "root-mismatch");
}

static int fnd_cmp(const void *a, const void *b)
{
	const struct fnd *x = a, *y = b;

	if (x->f.sev != y->f.sev && (x->f.sev == BFL_SEV_ERROR || y->f.sev == BFL_SEV_ERROR))
		return x->f.sev == BFL_SEV_ERROR ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls - y->cls;
	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	if (vague(x) != vague(y))
		return vague(x) - vague(y);
	return x->order < y->order ? -1 : x->order > y->order;
}

static void add_cp(struct vctx *c, const struct bfl_checkpoint *cp,
		   const char *where)
{
	if (c->ncp == c->capcp) {
		unsigned int nc = c->capcp ? 2 * c->capcp : 64;
		struct cpc *nv = realloc(c->cps, nc * sizeof(*nv));

		if (!nv) {
			c->unreadable = true;
			return;
		}
		c->cps = nv;
		c->capcp = nc;
	}
	c->cps[c->ncp].size = cp->size;
	memcpy(c->cps[c->ncp].root, cp->root, BFL_HASH_SIZE);
	snprintf(c->cps[c->ncp].where, sizeof(c->cps[0].where), "%s", where);
	c->ncp++;
}

static void io_problem(struct vctx *c, int r, const char *where,
		       const char *msg)
{
	/* Permission and I/O errors mean we could not look, not that the
	 * store is bad; a missing file in a store is a finding. */
	if (r == -EACCES || r == -EIO || r == -EPERM || r == -ENOMEM)
		c->unreadable = true;
	/* bfl_read_file: -EINVAL is a FIFO, socket, device, directory or
	 * symbolic link where a store file must be (refused unread). */
	ERR(c, r == -ENOENT ? "missing-file" : r == -EINVAL ? "not-regular-file" :
	    "unreadable", where, "%s", msg);
}

/* --------------------------------------------------------------- epochs */

static struct ep *ep_get(struct vctx *c, u64 epoch)
{
	unsigned int i;

	for (i = 0; i < c->nep; i++)
		if (c->ep[i].epoch == epoch && c->ep[i].have)
			return &c->ep[i];
	return NULL;
}

/* Verifies a checkpoint note signed by the epoch it names. */
static int check_cp_sig(struct vctx *c, const char *text, size_t len,
			struct bfl_checkpoint *cp, const char *where,
			const char *origin)
{
	struct bfl_note *n = malloc(sizeof(*n));
	struct bfl_err e = { 0 };
	struct ep *ep;
	int r;

	if (!n) {
		c->unreadable = true;
		return -ENOMEM;
	}
	r = bfl_checkpoint_open(text, len, cp, n, &e);
	if (r) {
		ERR(c, "checkpoint-format", where, "%s", e.msg);
		goto out;
	}
	if (strcmp(cp->origin, origin)) {
		ERR(c, "checkpoint-origin", where,
		    "origin \"%s\" is not this log's (\"%s\")", cp->origin, origin);
		r = -EBADMSG;
		goto out;
	}
	ep = ep_get(c, cp->epoch);
	if (!ep) {
		ERR(c, "checkpoint-epoch", where,
		    "names epoch %llu, which has no valid certificate",
		    (unsigned long long)cp->epoch);
		r = -EBADMSG;
		goto out;
	}
	r = bfl_note_verify(n, &ep->key, &e);
	if (r) {
		ERR(c, "checkpoint-signature", where,
		    r == -ENOKEY ?
		    "not signed by the key certified for epoch %llu (%s, key ID %08x): signed by a foreign key, or the certificate was replaced" :
		    "the signature by the key certified for epoch %llu (%s, key ID %08x) does not verify",
		    (unsigned long long)cp->epoch, ep->key.name, ep->key.key_id);
		goto out;
	}
	if (cp->size < ep->start) {
		ERR(c, "checkpoint-size", where,
		    "tree size %llu is below epoch %llu's start %llu",
		    (unsigned long long)cp->size, (unsigned long long)cp->epoch,
		    (unsigned long long)ep->start);
		r = -EBADMSG;
	}
out:
	free(n);
	return r;
}

static void check_epochs(struct vctx *c, int epdirfd, const struct bfl_key *root,
			 const char *origin)
{
	u64 *nums = NULL, prev_nv = 0, prev_start = 0, i;
	u32 prev_index = 0;
	unsigned int n = 0, k;
	struct bfl_err e = { 0 };
	bool prev_ok = false;
	char where[64], name[32];

	if (bfl_list_epochs(epdirfd, &nums, &n, &e)) {
		io_problem(c, e.code, "epochs/", e.msg);
		return;
	}
	if (n == 0) {
		ERR(c, "epoch-missing", "epochs/", "no epoch certificate at all");
		free(nums);
		return;
	}
	/* Epochs are numbered 1..E; a hole is a deleted certificate. */
	c->nep = (unsigned int)nums[n - 1];
	if (nums[n - 1] > (u64)n + 64) {
		/* Not a few deleted certificates: a stray number. */
		ERR(c, "epoch-missing", "epochs/",
		    "epoch numbers jump to %llu with only %u certificates (deleted or planted files); later ones ignored",
		    (unsigned long long)nums[n - 1], n);
		c->nep = n + 64;
	}
	c->ep = calloc(c->nep, sizeof(*c->ep));
	if (!c->ep) {
		c->unreadable = true;
		free(nums);
		return;
	}
	for (k = 0, i = 1; i <= c->nep; i++) {
		struct bfl_epoch_cert cert;
		struct ep *ep = &c->ep[i - 1];
		u8 *buf;
		size_t len;
		int r;

		bfl_epoch_file(name, sizeof(name), i, "cert");
		snprintf(where, sizeof(where), "epochs/%s", name);
		ep->epoch = i;
		while (k < n && nums[k] < i)
			k++;
		if (k >= n || nums[k] != i) {
			ERR(c, "epoch-missing", where,
			    "epoch %llu has no certificate (deleted?)",
			    (unsigned long long)i);
			prev_ok = false;
			continue;
		}
		r = bfl_read_file(epdirfd, name, BFL_NOTE_MAX, &buf, &len, &e);
		if (r) {
			io_problem(c, r, where, e.msg);
			prev_ok = false;
			continue;
		}
		r = bfl_cert_open((const char *)buf, len, root, &cert, &e);
		free(buf);
		if (r) {
			ERR(c, r == -ENOKEY || r == -EKEYREJECTED ?
			    "cert-signature" : "cert-format", where, "%s", e.msg);
			prev_ok = false;
			continue;
		}
		if (cert.epoch != i) {
			ERR(c, "cert-mismatch", where,
			    "certificate for epoch %llu stored as epoch %llu (substituted)",
			    (unsigned long long)cert.epoch, (unsigned long long)i);
			prev_ok = false;
			continue;
		}
		if (strcmp(cert.origin, origin)) {
			ERR(c, "cert-origin", where,
			    "certificate of another log (origin \"%s\")", cert.origin);
			prev_ok = false;
			continue;
		}
		if (i == 1 && cert.start_size != 0)
			ERR(c, "epoch-start", where, "epoch 1 starts at tree size %llu, not 0",
			    (unsigned long long)cert.start_size);
		if (i > 1 && prev_ok) {
			/* Each epoch attests its predecessor's value + 1: the
			 * counter is certified by the TPM before the increment
			 * that the next epoch then finds (docs/tpm.md).  A gap
			 * is epochs removed and re-made later (a rollback) or
			 * increments made outside the store. */
			if (cert.nv_counter <= prev_nv)
				ERR(c, "nv-rollback", where,
				    "epoch %llu's certificate attests NV counter %llu, not above epoch %llu's %llu: the counter cannot go back, so this certificate is not from this sequence",
				    (unsigned long long)i,
				    (unsigned long long)cert.nv_counter,
				    (unsigned long long)(i - 1),
				    (unsigned long long)prev_nv);
			else if (cert.nv_counter != prev_nv + 1)
				ERR(c, "nv-gap", where,
				    "epoch %llu's certificate attests NV counter %llu but epoch %llu attested %llu: %llu value(s) missing in between (epochs were removed and the store continued from an older copy, i.e. a rollback, or the counter was incremented outside the store)",
				    (unsigned long long)i,
				    (unsigned long long)cert.nv_counter,
				    (unsigned long long)(i - 1),
				    (unsigned long long)prev_nv,
				    (unsigned long long)(cert.nv_counter - prev_nv - 1));
			if (cert.nv_index != prev_index)
				ERR(c, "nv-index", where,
				    "epoch %llu attests NV index 0x%08x, epoch %llu attested 0x%08x: one store has one counter",
				    (unsigned long long)i, cert.nv_index,
				    (unsigned long long)(i - 1), prev_index);
			if (cert.start_size < prev_start)
				ERR(c, "epoch-start", where,
				    "starts at tree size %llu, before epoch %llu's start %llu",
				    (unsigned long long)cert.start_size,
				    (unsigned long long)(i - 1),
				    (unsigned long long)prev_start);
		}
		if (bfl_cert_key(&cert, &ep->key, &e)) {
			ERR(c, "cert-format", where, "%s", e.msg);
			prev_ok = false;
			continue;
		}
		ep->have = true;
		ep->start = cert.start_size;
		ep->nv = cert.nv_counter;
		prev_ok = true;
		prev_nv = cert.nv_counter;
		prev_index = cert.nv_index;
		prev_start = cert.start_size;
		c->res->last_nv = cert.nv_counter;
	}
	free(nums);
	c->res->epochs = c->nep;
	/* The auditor's reading of the counter N: the newest epoch attested
	 * N - 1 and then incremented it.  N itself means its start stopped
	 * between its durable certificate and the increment (the daemon
	 * finishes that at its next start): a warning. */
	if (c->o && c->o->have_nv && c->nep && c->ep[c->nep - 1].have) {
		u64 last = c->ep[c->nep - 1].nv, n = c->o->nv_counter;

		bfl_epoch_file(name, sizeof(name), c->nep, "cert");
		snprintf(where, sizeof(where), "epochs/%s", name);
		if (last == n)
			add(c, BFL_SEV_WARN, 0, 0, "nv-pending", where,
			    "the last epoch (%u) attests NV counter %llu, which the counter still reads: its start stopped before the increment that follows the certificate (the daemon completes it when it starts next)",
			    c->nep, (unsigned long long)last);
		else if (last > n)
			ERR(c, "nv-ahead", where,
			    "the last epoch (%u) attests NV counter %llu but the counter reads %llu: not this counter, or a wrong reading",
			    c->nep, (unsigned long long)last, (unsigned long long)n);
		else if (last + 1 != n)
			ERR(c, "nv-behind", where,
			    "the last epoch (%u) attests NV counter %llu but the counter reads %llu, so the last epoch must have attested %llu: %llu later epoch(s) are missing (the store was truncated or rolled back to an older copy), or the counter was incremented outside the store",
			    c->nep, (unsigned long long)last, (unsigned long long)n,
			    (unsigned long long)(n - 1),
			    (unsigned long long)(n - 1 - last));
	}

	/* Each epoch's final checkpoint ends exactly where the next begins. */
	for (i = 1; i < c->nep; i++) {
		struct ep *ep = &c->ep[i - 1], *nx = &c->ep[i];
		u8 *buf;
		size_t len;
		int r;

		if (!ep->have || !nx->have)
			continue;
		bfl_epoch_file(name, sizeof(name), i, "final");
		snprintf(where, sizeof(where), "epochs/%s", name);
		r = bfl_read_file(epdirfd, name, BFL_NOTE_MAX, &buf, &len, &e);
		if (r == -ENOENT) {
			if (nx->start != ep->start)
				ERR(c, "final-missing", where,
				    "epoch %llu sealed records up to %llu but its final checkpoint is missing",
				    (unsigned long long)i,
				    (unsigned long long)nx->start);
			continue;
		}
		if (r) {
			io_problem(c, r, where, e.msg);
			continue;
		}
		r = check_cp_sig(c, (const char *)buf, len, &ep->final, where, origin);
		free(buf);
		if (r)
			continue;
		if (ep->final.epoch != i) {
			ERR(c, "final-epoch", where, "signed by epoch %llu, not %llu",
			    (unsigned long long)ep->final.epoch, (unsigned long long)i);
			continue;
		}
		if (ep->final.size != nx->start)
			ERR(c, "final-size", where,
			    "ends at tree size %llu but epoch %llu starts at %llu",
			    (unsigned long long)ep->final.size,
			    (unsigned long long)(i + 1),
			    (unsigned long long)nx->start);
		ep->have_final = true;
		add_cp(c, &ep->final, where);
		c->res->checkpoints++;
	}
}

/* ------------------------------------------------------------- records */

static int seq_cmp(const void *a, const void *b)
{
	const struct seqent *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void run_end(struct vctx *c, bool first_run)
{
	u64 i;

	if (!c->run_active)
		return;
	/* Stream order first: a break where the next seq is smaller. */
	for (i = 1; i < c->nrun; i++)
		if (c->run[i].seq < c->run[i - 1].seq) {
			char where[64];

			snprintf(where, sizeof(where), "record %llu",
				 (unsigned long long)c->run[i - 1].idx);
			/* positioned at the later record, so that an altered
			 * record found at the same place is named first */
			add(c, BFL_SEV_ERROR, 1, c->run[i].idx, "seq-order", where,
			    "records %llu and %llu are out of order (kernel seq %llu before %llu)",
			    (unsigned long long)c->run[i - 1].idx,
			    (unsigned long long)c->run[i].idx,
			    (unsigned long long)c->run[i - 1].seq,
			    (unsigned long long)c->run[i].seq);
		}
	/* Then the set, sorted by seq (then index): gaps and repeats. */
	for (i = 1; i < c->nrun; i++)
		if (c->run[i - 1].seq > c->run[i].seq) {
			qsort(c->run, c->nrun, sizeof(*c->run), seq_cmp);
			break;
		}
	if (c->nrun && !first_run && c->run[0].seq != 1) {
		char where[64], boot[50];

		bfl_stream_hex(c->run_boot, boot);
		snprintf(where, sizeof(where), "record %llu", (unsigned long long)c->run[0].idx);
		add(c, BFL_SEV_ERROR, 1, c->run[0].idx, "seq-gap", where,
		    "stream %s starts at kernel seq %llu: seq 1..%llu missing",
		    boot, (unsigned long long)c->run[0].seq,
		    (unsigned long long)c->run[0].seq - 1);
	}
	for (i = 1; i < c->nrun; i++) {
		char where[64];

		snprintf(where, sizeof(where), "record %llu", (unsigned long long)c->run[i].idx);
		if (c->run[i].seq == c->run[i - 1].seq)
			add(c, BFL_SEV_ERROR, 1, c->run[i].idx, "seq-duplicate", where,
			    "record %llu repeats kernel seq %llu of record %llu",
			    (unsigned long long)c->run[i].idx,
			    (unsigned long long)c->run[i].seq,
			    (unsigned long long)c->run[i - 1].idx);
		else if (c->run[i].seq > c->run[i - 1].seq + 1)
			add(c, BFL_SEV_ERROR, 1, c->run[i].idx, "seq-gap", where,
			    "kernel seq %llu..%llu missing before record %llu (seq %llu)",
			    (unsigned long long)c->run[i - 1].seq + 1,
			    (unsigned long long)c->run[i].seq - 1,
			    (unsigned long long)c->run[i].idx,
			    (unsigned long long)c->run[i].seq);
	}
	c->nrun = 0;
	c->run_active = false;
}

static void seq_note(struct vctx *c, const struct bfl_record *r, u64 idx)
{
	u64 b;

	if (!bfl_record_is_kernel(r))
		return;
	if (!c->run_active || memcmp(c->run_boot, r->stream, BFL_STREAM_SIZE)) {
		if (c->run_active)
			run_end(c, c->nboots == 1);
		for (b = 0; b < c->nboots; b++)
			if (!memcmp(c->seen_boots[b], r->stream, BFL_STREAM_SIZE)) {
				char where[64], boot[50];

				bfl_stream_hex(r->stream, boot);
				snprintf(where, sizeof(where), "record %llu",
					 (unsigned long long)idx);
				add(c, BFL_SEV_ERROR, 1, idx, "boot-order", where,
				    "records of stream %s appear again after another stream's: reordered",
				    boot);
				break;
			}
		if (b == c->nboots) {
			u8 (*nb)[BFL_STREAM_SIZE] = realloc(c->seen_boots,
							   (c->nboots + 1) * BFL_STREAM_SIZE);

			if (nb) {
				c->seen_boots = nb;
				memcpy(c->seen_boots[c->nboots++], r->stream, BFL_STREAM_SIZE);
			}
		}
		c->run_active = true;
		memcpy(c->run_boot, r->stream, BFL_STREAM_SIZE);
	}
	if (c->nrun == c->caprun) {
		u64 nc = c->caprun ? 2 * c->caprun : 4096;
		struct seqent *nv = realloc(c->run, nc * sizeof(*nv));

		if (!nv) {
			c->unreadable = true;
			return;
		}
		c->run = nv;
		c->caprun = nc;
	}
	c->run[c->nrun].seq = r->seq;
	c->run[c->nrun].idx = idx;
	c->nrun++;
}

struct scan {
	struct bfl_tree tl, ts;	/* computed leaves, stored leaves */
	u64 count;
	bool mismatch;
	u64 first_mismatch;
	u64 done_bytes, total_bytes;
	bool stop;
	bool altered_named;
	u64 root_mismatches;	/* checkpoints whose root did not match */
	u64 verified_upto;	/* largest checkpoint size that matched */
};

/*
 * Compares a checkpoint's root with the tree of the records read so far
 * (s->count of them): a match proves every one of them is included.  On
 * a mismatch, names the first altered record when the stored leaf
 * hashes still reproduce the signed root.
 */
static void compare_root(struct vctx *c, struct scan *s, const bfl_hash root,
			 const char *cpwhere)
{
	bfl_hash rl, rs;
	char where[80];

	bfl_tree_root(&s->tl, rl);
	if (!memcmp(rl, root, BFL_HASH_SIZE)) {
		s->verified_upto = s->count;
		return;
	}
	bfl_tree_root(&s->ts, rs);
	if (s->mismatch && s->first_mismatch < s->count &&
	    !memcmp(rs, root, BFL_HASH_SIZE)) {
		if (s->altered_named)
			return;
		snprintf(where, sizeof(where), "record %llu",
			 (unsigned long long)s->first_mismatch);
		add(c, BFL_SEV_ERROR, 1, s->first_mismatch, "record-altered", where,
		    "record %llu was modified after it was sealed: it no longer hashes to its leaf in the tree of %s",
		    (unsigned long long)s->first_mismatch, cpwhere);
		s->altered_named = true;
	} else if (!s->root_mismatches++) {
		/* the first names it; later ones follow from it */
		add(c, BFL_SEV_ERROR, 1, s->count, "root-mismatch", cpwhere,
		    "the first %llu records do not hash to this checkpoint's root: records were altered, removed, inserted or reordered",
		    (unsigned long long)s->count);
	}
}

/* Checkpoint files whose size is the number of records read so far. */
static void check_roots_at(struct vctx *c, struct scan *s)
{
	unsigned int i;

	for (i = 0; i < c->ncp; i++)
		if (c->cps[i].size == s->count)
			compare_root(c, s, c->cps[i].root, c->cps[i].where);
}

/*
 * A checkpoint entry: signed by its epoch's certified key, at the place
 * in the stream its size says (it seals exactly the records before it),
 * epochs in order, and never beyond its epoch's final checkpoint.
 */
static void scan_entry(struct vctx *c, struct scan *s, const struct bfl_item *it,
		       const char *seg, const char *origin)
{
	struct bfl_checkpoint cp;
	char where[sizeof(c->last_entry_where)];

	snprintf(where, sizeof(where), "%.40s offset %zu (checkpoint entry)", seg, it->off);
	if (check_cp_sig(c, it->note, it->note_len, &cp, where, origin))
		return;
	c->res->checkpoints++;
	if (cp.size != s->count) {
		add(c, BFL_SEV_ERROR, 1, s->count, "checkpoint-position", where,
		    "a checkpoint for tree size %llu stands after record %llu: checkpoint entries were moved, copied or records removed around them",
		    (unsigned long long)cp.size, (unsigned long long)s->count);
		return;
	}
	if (c->have_entry && cp.epoch < c->last_entry.epoch)
		add(c, BFL_SEV_ERROR, 1, s->count, "checkpoint-order", where,
		    "signed by epoch %llu after a checkpoint of epoch %llu (%s)",
		    (unsigned long long)cp.epoch,
		    (unsigned long long)c->last_entry.epoch, c->last_entry_where);
	if (cp.epoch < c->nep && c->ep[cp.epoch - 1].have_final &&
	    cp.size > c->ep[cp.epoch - 1].final.size)
		add(c, BFL_SEV_ERROR, 1, s->count, "checkpoint-after-final", where,
		    "epoch %llu signed tree size %llu, beyond its final checkpoint (size %llu)",
		    (unsigned long long)cp.epoch, (unsigned long long)cp.size,
		    (unsigned long long)c->ep[cp.epoch - 1].final.size);
	compare_root(c, s, cp.root, where);
	{
		char *t = realloc(c->last_entry_text, it->note_len + 1);

		if (!t) {
			c->unreadable = true;
			return;
		}
		memcpy(t, it->note, it->note_len);
		t[it->note_len] = 0;
		c->last_entry_text = t;
	}
	if (!c->have_entry || cp.epoch != c->last_entry.epoch) {
		c->prev_entry_epoch = c->have_entry ? c->last_entry.epoch : 0;
		c->last_epoch_entries = 0;
	}
	c->last_epoch_entries++;
	c->have_entry = true;
	c->last_entry = cp;
	snprintf(c->last_entry_where, sizeof(c->last_entry_where), "%s", where);
}

static void scan_record(struct vctx *c, struct scan *s, const struct bfl_item *it)
{
	bfl_hash lh;

	bfl_leaf_hash(it->data, it->data_len, lh);
	if (memcmp(lh, it->stored_leaf, BFL_HASH_SIZE) && !s->mismatch) {
		s->mismatch = true;
		s->first_mismatch = s->count;
	}
	bfl_tree_append(&s->tl, lh);
	bfl_tree_append(&s->ts, it->stored_leaf);
	seq_note(c, &it->rec, s->count);
	s->count++;
	check_roots_at(c, s);
}

static void scan_segments(struct vctx *c, int segdirfd, struct scan *s,
			  const char *origin)
{
	struct bfl_seg_list l;
	struct bfl_err e = { 0 };
	unsigned int i;

	if (bfl_list_segments(segdirfd, &l, &e)) {
		io_problem(c, e.code, "segments/", e.msg);
		s->stop = true;
		return;
	}
	if (l.bad)
		ERR(c, "segment-name", "segments/",
		    "%u file(s) named like segments but malformed, e.g. %s", l.bad,
		    l.bad_name);
	for (i = 0; i < l.n; i++) {
		struct stat sb;

		if (!fstatat(segdirfd, l.v[i].name, &sb, 0))
			s->total_bytes += (u64)sb.st_size;
	}
	check_roots_at(c, s);	/* checkpoints of size 0 */
	for (i = 0; i < l.n && !s->stop; i++) {
		struct bfl_item it;
		char where[80];
		u8 *buf;
		size_t len, off;
		u64 first;
		int r, k;

		snprintf(where, sizeof(where), "segments/%s", l.v[i].name);
		r = bfl_read_file(segdirfd, l.v[i].name, BFL_SEG_FILE_MAX, &buf, &len, &e);
		if (r) {
			io_problem(c, r, where, e.msg);
			s->stop = true;
			break;
		}
		if (i + 1 == l.n && (len < BFL_SEG_HDR_SIZE || bfl_all_zero(buf, len))) {
			/* created, then the power went before its first
			 * write reached the disk: nothing in it was sealed */
			add(c, BFL_SEV_WARN, 2, s->count, "torn-tail", where,
			    "the last segment is empty or zeros (%zu bytes): an interrupted write",
			    len);
			free(buf);
			break;
		}
		if (bfl_seg_header_check(buf, len, &first, &e)) {
			add(c, BFL_SEV_ERROR, 1, s->count, "segment-header", where, "%s", e.msg);
			free(buf);
			s->stop = true;
			break;
		}
		if (first != l.v[i].first) {
			add(c, BFL_SEV_ERROR, 1, s->count, "segment-header", where,
			    "header says it starts at record %llu, its name says %llu",
			    (unsigned long long)first, (unsigned long long)l.v[i].first);
			free(buf);
			s->stop = true;
			break;
		}
		if (first != s->count) {
			add(c, BFL_SEV_ERROR, 1, s->count,
			    first > s->count ? "segment-gap" : "segment-overlap", where,
			    first > s->count ?
			    "starts at record %llu but the segments before it end at %llu: records are missing (segment deleted, truncated or restored from an older copy)" :
			    "starts at record %llu but the segments before it already reach %llu (an extra or older segment)",
			    (unsigned long long)first, (unsigned long long)s->count);
			free(buf);
			s->stop = true;
			break;
		}
		off = BFL_SEG_HDR_SIZE;
		while ((k = bfl_seg_next(buf, len, off, &it, &e)) > 0) {
			if (it.type == BFL_ITEM_RECORD)
				scan_record(c, s, &it);
			else
				scan_entry(c, s, &it, where, origin);
			off += it.len;
		}
		if ((k == -ENODATA || (k < 0 && bfl_all_zero(buf + off, len - off))) &&
		    i + 1 == l.n) {
			/* a torn final entry, or zeros where the file system
			 * had not written it yet: unsealed by construction */
			add(c, BFL_SEV_WARN, 2, s->count, "torn-tail", where,
			    "%zu bytes at offset %zu are an incomplete entry (an interrupted write)",
			    len - off, off);
		} else if (k < 0) {
			char rw[64];

			snprintf(rw, sizeof(rw), "record %llu", (unsigned long long)s->count);
			add(c, BFL_SEV_ERROR, 1, s->count, "record-format", rw,
			    "%s at offset %zu: %s", where, off, e.msg);
			s->stop = true;
		}
		s->done_bytes += len;
		if (c->o && c->o->progress)
			c->o->progress(c->o->progress_arg, s->done_bytes, s->total_bytes);
		free(buf);
	}
	free(l.v);
	run_end(c, c->nboots <= 1);
}

/* --------------------------------------------------------------- store */

/*
 * Witness cosignatures (c2sp.org/tlog-cosignature): every witness given
 * must have cosigned the pinned checkpoint, or without one the checkpoint
 * file; a cosignature that does not verify is an error of its own.  The
 * checkpoint's own signature and its place in the store are checked as
 * for any checkpoint.
 */
static void check_witnesses(struct vctx *c, const struct bfl_verify_opts *o,
			    const char *file_text)
{
	const char *text = o && o->since ? o->since : file_text;
	const char *where = o && o->since ? "pinned checkpoint" : "checkpoint";
	size_t len;
	struct bfl_note *n;
	struct bfl_err e = { 0 };
	unsigned int i;
	u64 t;
	int r;

	if (!o || !o->nwitness)
		return;
	if (!text) {
		ERR(c, "witness-missing", "checkpoint",
		    "no checkpoint to check witness cosignatures on (the checkpoint file is missing or empty; give a cosigned one with --cosigned)");
		return;
	}
	len = o->since ? o->since_len : strlen(file_text);
	n = malloc(sizeof(*n));
	if (!n || bfl_note_parse(text, len, n, &e)) {
		free(n);
		return;	/* the checkpoint checks report it */
	}
	for (i = 0; i < o->nwitness; i++) {
		r = bfl_cosig_verify(n, &o->witness[i], &t, &e);
		if (r == -ENOKEY)
			ERR(c, "witness-missing", where, "no cosignature by witness %s",
			    o->witness[i].name);
		else if (r)
			ERR(c, "witness-cosignature", where, "%s", e.msg);
		else
			add(c, BFL_SEV_INFO, 0, 0, "witness-cosigned", where,
			    "cosigned by witness %s at %llu (unix time)", o->witness[i].name,
			    (unsigned long long)t);
	}
	free(n);
}

int bfl_verify_store(const char *dir, const struct bfl_key *root,
		     const struct bfl_verify_opts *opts,
		     struct bfl_verify_result *res)
{
	struct vctx c;
	struct scan s;
	struct bfl_err e = { 0 };
	struct bfl_checkpoint latest, pinned, file_cp;
	char origin[BFL_NAME_MAX + 1] = "", latest_where[96] = "";
	char *file_text = NULL;
	bool have_file = false;
	int dirfd, segdirfd = -1, epdirfd = -1, r;
	bool have_latest = false, have_pinned = false;
	u8 *buf = NULL;
	size_t len;
	unsigned int i;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	memset(&latest, 0, sizeof(latest));
	c.o = opts;
	c.res = res;
	bfl_tree_init(&s.tl);
	bfl_tree_init(&s.ts);

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		ERR(&c, "unreadable", dir, "cannot open the store: %s", strerror(errno));
		c.unreadable = true;
		goto done;
	}
	r = bfl_read_log_info(dirfd, origin, &e);
	if (r) {
		if (r == -ENOENT || r == -EACCES)
			c.unreadable = true;
		ERR(&c, "store-info", BFL_LOG_INFO, "%s", e.msg);
		goto done;
	}
	snprintf(res->origin, sizeof(res->origin), "%s", origin);
	for (i = 0; i < 2; i++) {
		const char *dn = i ? "segments" : "epochs";
		int fd = openat(dirfd, dn, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
				O_NOFOLLOW | O_NONBLOCK), err = errno;

		if (i)
			segdirfd = fd;
		else
			epdirfd = fd;
		if (fd >= 0)
			continue;
		/* Missing (or not a directory) is a finding about the
		 * store; permission or I/O trouble means we could not look
		 * (exit 3, bioflow-verify(1)). */
		if (err == ENOENT || err == ENOTDIR || err == ELOOP) {
			ERR(&c, "missing-file", i ? "segments/" : "epochs/",
			    "%s", err == ENOENT ? "directory missing" :
			    "not a directory (a file or a symbolic link in its place)");
		} else {
			c.unreadable = true;
			ERR(&c, "unreadable", i ? "segments/" : "epochs/",
			    "cannot open the directory: %s", strerror(err));
		}
		goto done;
	}

	check_epochs(&c, epdirfd, root, origin);

	/* The checkpoint file: a copy of a checkpoint entry, which may lag
	 * the entries by up to a second (or more after a crash). */
	r = bfl_read_file(dirfd, "checkpoint", BFL_NOTE_MAX, &buf, &len, &e);
	if (r == -ENOENT) {
		/* allowed: the entries carry the checkpoints */
	} else if (r) {
		io_problem(&c, r, "checkpoint", e.msg);
	} else if (bfl_all_zero(buf, len)) {
		/* replaced without a sync when the power went; the next
		 * open of the store rewrites it */
		add(&c, BFL_SEV_WARN, 0, 0, "checkpoint-copy-lost", "checkpoint",
		    "the checkpoint file is empty (a crash while it was replaced); the checkpoint entries are intact");
	} else if (!check_cp_sig(&c, (const char *)buf, len, &file_cp, "checkpoint", origin)) {
		have_file = true;
		file_text = (char *)buf;
		buf = NULL;
		res->checkpoints++;
		add_cp(&c, &file_cp, "checkpoint");
	}
	free(buf);
	buf = NULL;

	/* A checkpoint the auditor saw earlier. */
	if (opts && opts->since) {
		struct bfl_note *pn = malloc(sizeof(*pn));

		/* A pinned checkpoint from an epoch the store no longer has:
		 * whole epochs were cut off. */
		if (pn && !bfl_checkpoint_open(opts->since, opts->since_len, &pinned,
					       pn, &e) &&
		    !strcmp(pinned.origin, origin) && pinned.epoch > c.nep) {
			ERR(&c, "truncated", "epochs/",
			    "the pinned checkpoint (size %llu) was signed by epoch %llu but the store ends at epoch %u: the log was truncated or rolled back to an older copy",
			    (unsigned long long)pinned.size,
			    (unsigned long long)pinned.epoch, c.nep);
		} else if (!check_cp_sig(&c, opts->since, opts->since_len, &pinned,
					 "pinned checkpoint", origin)) {
			have_pinned = true;
			add_cp(&c, &pinned, "the pinned checkpoint");
		}
		free(pn);
	}

	check_witnesses(&c, opts, have_file ? file_text : NULL);

	scan_segments(&c, segdirfd, &s, origin);
	res->records = s.count;
	res->boots = c.nboots;
	if (s.root_mismatches > 1)
		add(&c, BFL_SEV_INFO, 1, s.count, "root-mismatch", "segments/",
		    "%llu further checkpoints do not match the records either",
		    (unsigned long long)(s.root_mismatches - 1));

	/* The latest checkpoint: the last entry, or the file if that is
	 * further on (which only removing entries can make happen). */
	if (have_file && (!c.have_entry || file_cp.size > c.last_entry.size ||
			  (file_cp.size == c.last_entry.size &&
			   file_cp.epoch > c.last_entry.epoch))) {
		if (!s.stop && s.count >= file_cp.size)
			add(&c, BFL_SEV_ERROR, 2, file_cp.size, "checkpoint-entry-missing", "checkpoint",
			    "the checkpoint file (size %llu, epoch %llu) is not among the checkpoint entries%s: entries were removed",
			    (unsigned long long)file_cp.size,
			    (unsigned long long)file_cp.epoch,
			    c.have_entry ? ", which end earlier" : ", which are missing");
		latest = file_cp;
		have_latest = true;
		res->checkpoint_text = file_text;
		file_text = NULL;
		snprintf(latest_where, sizeof(latest_where), "checkpoint");
	} else if (c.have_entry) {
		latest = c.last_entry;
		have_latest = true;
		res->checkpoint_text = c.last_entry_text;
		c.last_entry_text = NULL;
		snprintf(latest_where, sizeof(latest_where), "%s", c.last_entry_where);
		/* The file is replaced durably right after an epoch's first
		 * entry, so it names an earlier epoch only when a crash came
		 * between the two: then the last epoch has one entry and the
		 * file is from the last epoch that signed entries before it
		 * (epochs between, started by crashed opens, have none). */
		if (have_file && file_cp.epoch < c.last_entry.epoch &&
		    (file_cp.epoch != c.prev_entry_epoch || c.last_epoch_entries > 1))
			ERR(&c, "checkpoint-rollback", "checkpoint",
			    "the checkpoint file is signed by epoch %llu (tree size %llu) but the segments hold checkpoints of epoch %llu: an older copy was put back",
			    (unsigned long long)file_cp.epoch,
			    (unsigned long long)file_cp.size,
			    (unsigned long long)c.last_entry.epoch);
	} else if (!s.stop) {
		ERR(&c, "checkpoint-missing", "segments/",
		    "the store holds no valid checkpoint at all");
	}
	if (have_latest) {
		u64 j;

		res->sealed = latest.size;
		memcpy(res->root, latest.root, BFL_HASH_SIZE);
		/* Later epochs must be empty and start at its size; an
		 * earlier epoch's final must be this very checkpoint. */
		for (j = latest.epoch + 1; j <= c.nep; j++) {
			struct ep *ep = ep_get(&c, j);

			if (ep && ep->start != latest.size) {
				ERR(&c, "checkpoint-rollback", latest_where,
				    "signed by epoch %llu at tree size %llu, but epoch %llu starts at %llu: this is an older checkpoint (rollback)",
				    (unsigned long long)latest.epoch,
				    (unsigned long long)latest.size,
				    (unsigned long long)j, (unsigned long long)ep->start);
				break;
			}
		}
		if (latest.epoch < c.nep && c.ep[latest.epoch - 1].have_final &&
		    c.ep[latest.epoch - 1].final.size != latest.size)
			ERR(&c, "checkpoint-rollback", latest_where,
			    "epoch %llu's final checkpoint is at %llu, this one at %llu",
			    (unsigned long long)latest.epoch,
			    (unsigned long long)c.ep[latest.epoch - 1].final.size,
			    (unsigned long long)latest.size);
		if (have_pinned && pinned.size > latest.size)
			ERR(&c, "truncated", latest_where,
			    "the store's latest checkpoint (size %llu) is older than the pinned one (size %llu): the log was truncated or rolled back",
			    (unsigned long long)latest.size,
			    (unsigned long long)pinned.size);
	}
	if (s.mismatch && !s.altered_named) {
		char where[64];

		snprintf(where, sizeof(where), "record %llu", (unsigned long long)s.first_mismatch);
		if (s.first_mismatch < s.verified_upto)
			add(&c, BFL_SEV_ERROR, 1, s.first_mismatch, "leaf-hash-altered", where,
			    "the leaf hash stored after record %llu was altered (the record itself matches the sealed tree)",
			    (unsigned long long)s.first_mismatch);
		else if (have_latest && s.first_mismatch >= latest.size)
			/* no checkpoint covers it: a write the power cut
			 * short (pages of zeros), not a sealed record */
			add(&c, BFL_SEV_WARN, 2, s.first_mismatch, "torn-tail", where,
			    "record %llu, after the latest checkpoint, does not match the leaf hash stored with it: an interrupted write",
			    (unsigned long long)s.first_mismatch);
		else
			add(&c, BFL_SEV_ERROR, 1, s.first_mismatch, "record-altered", where,
			    "record %llu does not match the leaf hash stored with it",
			    (unsigned long long)s.first_mismatch);
	}
	if (!s.stop) {
		u64 maxsz = have_latest ? latest.size : 0;

		for (i = 0; i < c.ncp; i++)
			if (c.cps[i].size > maxsz)
				maxsz = c.cps[i].size;
		if (s.count < maxsz)
			add(&c, BFL_SEV_ERROR, 2, s.count, "truncated", "segments/",
			    "checkpoints cover %llu records but the store holds %llu: records %llu..%llu were removed (tail truncated)",
			    (unsigned long long)maxsz, (unsigned long long)s.count,
			    (unsigned long long)s.count, (unsigned long long)maxsz - 1);
		else if (have_latest && s.count > latest.size)
			add(&c, BFL_SEV_WARN, 2, s.count, "unsealed-tail", "segments/",
			    "%llu record(s) after the latest checkpoint (size %llu) are not sealed: the writer was interrupted, or the checkpoints after them were removed",
			    (unsigned long long)(s.count - latest.size),
			    (unsigned long long)latest.size);
	}
	for (i = 0; i < c.ncp; i++)
		if (s.stop && c.cps[i].size > s.count)
			add(&c, BFL_SEV_ERROR, 2, c.cps[i].size, "unverified", c.cps[i].where,
			    "not checked against the records: the store could not be read up to tree size %llu",
			    (unsigned long long)c.cps[i].size);

done:
	if (segdirfd >= 0)
		close(segdirfd);
	if (epdirfd >= 0)
		close(epdirfd);
	if (dirfd >= 0)
		close(dirfd);
	for (i = 0; i < c.nep; i++)
		if (c.ep[i].have)
			bfl_key_free(&c.ep[i].key);
	free(c.ep);
	free(c.cps);
	free(c.last_entry_text);
	free(file_text);
	free(c.run);
	free(c.seen_boots);
	if (c.nf)
		qsort(c.f, c.nf, sizeof(*c.f), fnd_cmp);
	res->find = calloc(c.nf ? c.nf : 1, sizeof(*res->find));
	if (res->find)
		for (i = 0; i < c.nf; i++)
			res->find[i] = c.f[i].f;
	res->nfind = res->find ? c.nf : 0;
	free(c.f);
	if (c.unreadable)
		res->verdict = BFL_UNREADABLE;
	else if (res->nerrors)
		res->verdict = BFL_FAIL;
	else if (res->nwarn)
		res->verdict = BFL_WARN;
	else
		res->verdict = BFL_OK;
	return 0;
}

void bfl_verify_result_free(struct bfl_verify_result *res)
{
	free(res->find);
	free(res->checkpoint_text);
	memset(res, 0, sizeof(*res));
}

const struct bfl_finding *bfl_first_error(const struct bfl_verify_result *r)
{
	unsigned int i;

	for (i = 0; i < r->nfind; i++)
		if (r->find[i].sev == BFL_SEV_ERROR)
			return &r->find[i];
	return NULL;
}

/* --------------------------------------------------------- single record */

int bfl_verify_inclusion_files(const u8 *rec, size_t rec_len,
			       const char *proof, size_t proof_len,
			       const char *cp, size_t cp_len,
			       const struct bfl_key *root,
			       struct bfl_verify_result *res)
{
	struct vctx c;
	struct bfl_proof p;
	struct bfl_epoch_cert cert;
	struct bfl_checkpoint chk;
	struct bfl_record r;
	struct bfl_err e = { 0 };
	bfl_hash leaf;
	int k;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.res = res;
	if (bfl_proof_parse(proof, proof_len, &p, &e)) {
		ERR(&c, "proof-format", "proof", "%s", e.msg);
		goto done;
	}
	k = bfl_cert_open(p.cert, p.cert_len, root, &cert, &e);
	if (k) {
		ERR(&c, k == -ENOKEY || k == -EKEYREJECTED ? "cert-signature" : "cert-format",
		    "proof (epoch certificate)", "%s", e.msg);
		goto done_p;
	}
	snprintf(res->origin, sizeof(res->origin), "%s", cert.origin);
	c.nep = 1;
	c.ep = calloc(1, sizeof(*c.ep));
	if (!c.ep) {
		c.unreadable = true;
		goto done_p;
	}
	if (bfl_cert_key(&cert, &c.ep[0].key, &e)) {
		ERR(&c, "cert-format", "proof (epoch certificate)", "%s", e.msg);
		goto done_p;
	}
	c.ep[0].have = true;
	c.ep[0].epoch = cert.epoch;
	c.ep[0].start = cert.start_size;
	if (check_cp_sig(&c, cp, cp_len, &chk, "checkpoint", cert.origin))
		goto done_p;
	res->sealed = chk.size;
	memcpy(res->root, chk.root, BFL_HASH_SIZE);
	if (p.size != chk.size) {
		ERR(&c, "proof-size", "proof", "proof is for tree size %llu, the checkpoint's is %llu",
		    (unsigned long long)p.size, (unsigned long long)chk.size);
		goto done_p;
	}
	k = bfl_record_parse(rec, rec_len, &r, &e);
	if (k < 0 || (size_t)k != rec_len) {
		ERR(&c, "record-format", "record", "%s",
		    k < 0 ? e.msg : "file holds more than one record");
		goto done_p;
	}
	bfl_leaf_hash(rec, rec_len, leaf);
	if (bfl_verify_inclusion(p.index, p.size, leaf, p.h, p.n, chk.root))
		ERR(&c, "inclusion", "record",
		    "the record is not leaf %llu of the tree of size %llu signed in the checkpoint",
		    (unsigned long long)p.index, (unsigned long long)p.size);
	else
		res->records = 1;
done_p:
	bfl_proof_free(&p);
done:
	if (c.ep && c.ep[0].have)
		bfl_key_free(&c.ep[0].key);
	free(c.ep);
	res->find = calloc(c.nf ? c.nf : 1, sizeof(*res->find));
	if (res->find) {
		unsigned int i;

		for (i = 0; i < c.nf; i++)
			res->find[i] = c.f[i].f;
		res->nfind = c.nf;
	}
	free(c.f);
	res->verdict = c.unreadable ? BFL_UNREADABLE :
		       res->nerrors ? BFL_FAIL : BFL_OK;
	return 0;
}
