// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The project's half of the interoperability test (t_tlog_go.sh):
 *
 *   interop_store make DIR
 *       writes a multi-epoch store with the project's own code (a
 *       software root key, several epochs and segments, checkpoints at
 *       many sizes) to DIR/store and the root public key to DIR/root.pem,
 *       then prints, one item a line (base64 is standard with padding):
 *         origin ORIGIN
 *         vkey EPOCH NAME+KEYID+BASE64(0x01 || PUBKEY)
 *                        each epoch's key from its certificate (checked
 *                        against the root key), as a signed-note verifier
 *                        key
 *         record INDEX BASE64(RECORD)
 *         checkpoint WHERE SIZE BASE64(NOTE)
 *                        every checkpoint entry (WHERE "entry", SIZE the
 *                        number of records before it), epochs/N.final
 *                        ("final"), the checkpoint file ("file")
 *         inclusion SIZE INDEX HASH...
 *                        RFC 9162 inclusion proofs (merkle.c) for every
 *                        index under every checkpoint size
 *         consistency SIZE1 SIZE2 HASH...
 *                        consistency proofs between every two sizes
 *   interop_store verify-note NAME PUBKEY NOTE
 *       checks a signed note with the project's parser and verifier
 *       (note.c) against the Ed25519 key PUBKEY (base64 of 32 bytes)
 *       under NAME; and NOTE's text as a checkpoint (checkpoint.c).
 *       Exit 0 verified, 1 rejected (the reason on stdout), 2 usage.
 *   interop_store cosign SEED NAME TIME NOTE
 *       cosigns NOTE as a witness (witness.c, c2sp.org/tlog-cosignature)
 *       with the Ed25519 key of SEED (base64 of 32 bytes) named NAME at
 *       TIME; prints "vkey <the witness's verifier key>" and
 *       "line <the cosignature line>".
 *
 * The other half is tests/interop/tlog-go/main.go, built with Go's
 * golang.org/x/mod/sumdb/note and sumdb/tlog.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bflog.h"
#include "internal.h"
#include "witness.h"
#include "../unit/lib/audit_rec.h"

#define ORIGIN "interop.example/bioflow-store"

static const u8 boot[16] = { 0x1e, 0x7e, 0x40, 0x91 };
static u64 next_seq = 1;

static void die(const char *what, const struct bfl_err *e)
{
	fprintf(stderr, "interop_store: %s: %s\n", what, e ? e->msg : strerror(errno));
	exit(1);
}

static void put_b64(const void *p, size_t n)
{
	char *b = malloc((n + 2) / 3 * 4 + 1);

	if (!b)
		die("out of memory", NULL);
	bfl_b64_encode(p, n, b);
	fputs(b, stdout);
	free(b);
}

/* n records, then a group commit. */
static void commit(struct bfl_store *st, unsigned int n)
{
	u8 buf[BFL_RECORD_MIN];
	struct bfl_err e = { 0 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		test_audit_rec(buf, boot, 0x5eedULL, next_seq,
			       next_seq % 2 ? BIOREADER_AUDIT_VERDICT :
			       BIOREADER_AUDIT_SESSION_START);
		next_seq++;
		if (bfl_store_append(st, buf, sizeof(buf), NULL, NULL, &e))
			die("append", &e);
	}
	if (bfl_store_commit(st, &e))
		die("commit", &e);
}

static void build(const char *store, struct bfl_root_signer *rs)
{
	/* Small segments: checkpoints and records spread over several. */
	const struct bfl_store_opts o = { .segment_max_bytes = 2048, .no_sync = true,
					  .checkpoint_file_ms = -1 };
	struct bfl_recovery rep;
	struct bfl_err e = { 0 };
	struct bfl_store *st;

	if (bfl_store_create(store, ORIGIN, rs, &o, &st, &e))
		die("create", &e);
	commit(st, 1);
	commit(st, 4);
	commit(st, 3);
	if (bfl_store_rotate_epoch(st, &e))	/* epoch 2 */
		die("rotate", &e);
	commit(st, 8);
	commit(st, 13);
	bfl_store_close(st);
	if (bfl_store_open(store, rs, &o, &st, &rep, &e))	/* epoch 3 */
		die("reopen", &e);
	commit(st, 1);
	commit(st, 2);
	commit(st, 32);
	if (bfl_store_rotate_epoch(st, &e))	/* epoch 4 */
		die("rotate", &e);
	commit(st, 2);
	bfl_store_close(st);
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void describe(const char *store, const struct bfl_root_signer *rs)
{
	struct bfl_err e = { 0 };
	struct bfl_leaves lv;
	struct bfl_seg_list sl;
	bfl_hash proof[BFL_PROOF_MAX];
	u64 *sizes = NULL, *ep = NULL, records = 0, i, j;
	unsigned int nsizes = 0, nep = 0, k, len, s;
	int dfd, segfd, epfd;
	char name[64];
	u8 *buf;
	size_t blen;

	printf("origin %s\n", ORIGIN);
	dfd = open(store, O_RDONLY | O_DIRECTORY);
	segfd = dfd < 0 ? -1 : openat(dfd, "segments", O_RDONLY | O_DIRECTORY);
	epfd = dfd < 0 ? -1 : openat(dfd, "epochs", O_RDONLY | O_DIRECTORY);
	if (segfd < 0 || epfd < 0)
		die(store, NULL);

	/* Each epoch's verifier key, from its root-verified certificate. */
	if (bfl_list_epochs(epfd, &ep, &nep, &e))
		die("epochs", &e);
	for (k = 0; k < nep; k++) {
		struct bfl_epoch_cert c;
		struct bfl_key key;
		u8 vk[33];

		bfl_epoch_file(name, sizeof(name), ep[k], "cert");
		if (bfl_read_file(epfd, name, BFL_NOTE_MAX, &buf, &blen, &e) ||
		    bfl_cert_open((const char *)buf, blen, &rs->key, &c, &e) ||
		    bfl_cert_key(&c, &key, &e))
			die(name, &e);
		vk[0] = 0x01;	/* signed-note type: Ed25519 */
		memcpy(vk + 1, c.pub, 32);
		printf("vkey %llu %s+%08x+", (unsigned long long)c.epoch, key.name, key.key_id);
		put_b64(vk, sizeof(vk));
		putchar('\n');
		bfl_key_free(&key);
		free(buf);
		bfl_epoch_file(name, sizeof(name), ep[k], "final");
		if (!bfl_read_file(epfd, name, BFL_NOTE_MAX, &buf, &blen, NULL)) {
			printf("checkpoint final -1 ");
			put_b64(buf, blen);
			putchar('\n');
			free(buf);
		}
	}
	free(ep);

	/* Every checkpoint entry, with the number of records before it. */
	if (bfl_list_segments(segfd, &sl, &e))
		die("segments", &e);
	for (k = 0; k < sl.n; k++) {
		struct bfl_item it;
		size_t off = BFL_SEG_HDR_SIZE;
		int r;

		if (bfl_read_file(segfd, sl.v[k].name, BFL_SEG_FILE_MAX, &buf, &blen, &e))
			die(sl.v[k].name, &e);
		while ((r = bfl_seg_next(buf, blen, off, &it, &e)) == 1) {
			if (it.type == BFL_ITEM_RECORD) {
				records++;
			} else {
				printf("checkpoint entry %llu ", (unsigned long long)records);
				put_b64(it.note, it.note_len);
				putchar('\n');
				sizes = realloc(sizes, (nsizes + 1) * sizeof(*sizes));
				if (!sizes)
					die("out of memory", NULL);
				sizes[nsizes++] = records;
			}
			off += it.len;
		}
		if (r < 0)
			die(sl.v[k].name, &e);
		free(buf);
	}
	free(sl.v);
	if (!bfl_read_file(dfd, "checkpoint", BFL_NOTE_MAX, &buf, &blen, NULL)) {
		printf("checkpoint file -1 ");
		put_b64(buf, blen);
		putchar('\n');
		free(buf);
	}

	/* Records and proofs, from the store as the verifier reads it. */
	if (bfl_store_load_leaves(store, &lv, &e))
		die("load", &e);
	for (i = 0; i < lv.n; i++) {
		printf("record %llu ", (unsigned long long)i);
		put_b64(lv.rec[i], lv.rec_len[i]);
		putchar('\n');
	}
	qsort(sizes, nsizes, sizeof(*sizes), cmp_u64);
	for (i = 0, j = 0; i < nsizes; i++)	/* distinct sizes */
		if (!j || sizes[j - 1] != sizes[i])
			sizes[j++] = sizes[i];
	nsizes = (unsigned int)j;
	for (k = 0; k < nsizes; k++) {
		for (i = 0; i < sizes[k]; i++) {
			if (bfl_inclusion_proof(lv.leaf, sizes[k], i, proof, &len))
				die("inclusion proof", NULL);
			printf("inclusion %llu %llu", (unsigned long long)sizes[k],
			       (unsigned long long)i);
			for (s = 0; s < len; s++) {
				putchar(' ');
				put_b64(proof[s], BFL_HASH_SIZE);
			}
			putchar('\n');
		}
		for (s = 0; s < k; s++) {
			if (sizes[s] == 0)
				continue;
			if (bfl_consistency_proof(lv.leaf, sizes[s], sizes[k], proof, &len))
				die("consistency proof", NULL);
			printf("consistency %llu %llu", (unsigned long long)sizes[s],
			       (unsigned long long)sizes[k]);
			for (j = 0; j < len; j++) {
				putchar(' ');
				put_b64(proof[j], BFL_HASH_SIZE);
			}
			putchar('\n');
		}
	}
	bfl_leaves_free(&lv);
	free(sizes);
	close(epfd);
	close(segfd);
	close(dfd);
}

static int verify_note(const char *name, const char *pub64, const char *path)
{
	struct bfl_note *n = malloc(sizeof(*n));
	struct bfl_checkpoint cp;
	struct bfl_err e = { 0 };
	struct bfl_key key;
	EVP_PKEY *pk = NULL;
	u8 pub[33], *buf = NULL;
	size_t pl = 0, blen;
	int r = 1;

	if (!n || bfl_b64_decode(pub64, strlen(pub64), pub, sizeof(pub), &pl) || pl != 32 ||
	    !(pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32))) {
		fprintf(stderr, "interop_store: bad public key\n");
		free(n);
		return 2;
	}
	if (bfl_key_init(&key, name, pk, &e)) {
		printf("rejected: %s\n", e.msg);
		goto out;
	}
	if (bfl_read_file(AT_FDCWD, path, BFL_NOTE_MAX, &buf, &blen, &e) ||
	    bfl_note_parse((const char *)buf, blen, n, &e) ||
	    bfl_note_verify(n, &key, &e) ||
	    bfl_checkpoint_parse_body(n->text, n->text_len, &cp, &e)) {
		printf("rejected: %s\n", e.msg);
	} else {
		printf("verified: %u signature lines, checkpoint %s size %llu\n", n->nsig,
		       cp.origin, (unsigned long long)cp.size);
		r = 0;
	}
	bfl_key_free(&key);
out:
	EVP_PKEY_free(pk);
	free(buf);
	free(n);
	return r;
}

/* A witness's cosignature (witness.c) of the note in @path, by the
 * Ed25519 key of seed @seed64 (base64 of 32 bytes) under @name at @t:
 * prints "vkey <verifier key>" and "line <the signature line>". */
static int cosign(const char *seed64, const char *name, const char *t, const char *path)
{
	struct bfl_note *n = malloc(sizeof(*n));
	struct bfl_cosigner w;
	struct bfl_err e = { 0 };
	char vkey[BFL_VKEY_MAX], line[BFL_COSIG_LINE_MAX];
	u8 seed[35], *buf = NULL;
	size_t sl = 0, blen, ll = 0;
	EVP_PKEY *pk = NULL;
	u64 when;
	int r = 1;

	if (!n || bfl_b64_decode(seed64, strlen(seed64), seed, sizeof(seed), &sl) || sl != 32 ||
	    bfl_parse_u64(t, strlen(t), &when) ||
	    !(pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32)) ||
	    bfl_cosigner_init(&w, name, pk, &e)) {
		fprintf(stderr, "interop_store: cosign: bad arguments %s\n", e.msg);
		EVP_PKEY_free(pk);
		free(n);
		return 2;
	}
	if (bfl_read_file(AT_FDCWD, path, BFL_NOTE_MAX, &buf, &blen, &e) ||
	    bfl_note_parse((const char *)buf, blen, n, &e) ||
	    bfl_cosign(&w, n->text, n->text_len, when, line, sizeof(line), &ll, &e) ||
	    bfl_cosigner_vkey(&w, vkey, sizeof(vkey)) < 0) {
		printf("failed: %s\n", e.msg);
	} else {
		printf("vkey %s\nline %.*s\n", vkey, (int)(ll - 1), line);
		r = 0;
	}
	bfl_cosigner_free(&w);
	EVP_PKEY_free(pk);
	free(buf);
	free(n);
	return r;
}

int main(int argc, char **argv)
{
	struct bfl_root_signer *rs;
	struct bfl_err e = { 0 };
	char path[4096];

	if (argc == 3 && !strcmp(argv[1], "make")) {
		rs = bfl_soft_root_new(NULL, NULL, &e);
		if (!rs)
			die("root key", &e);
		snprintf(path, sizeof(path), "%s/root.pem", argv[2]);
		if (bfl_write_pubkey_pem(rs->key.pk, path, &e))
			die(path, &e);
		snprintf(path, sizeof(path), "%s/store", argv[2]);
		build(path, rs);
		describe(path, rs);
		bfl_root_signer_free(rs);
		return fflush(stdout) ? 1 : 0;
	}
	if (argc == 5 && !strcmp(argv[1], "verify-note"))
		return verify_note(argv[2], argv[3], argv[4]);
	if (argc == 6 && !strcmp(argv[1], "cosign"))
		return cosign(argv[2], argv[3], argv[4], argv[5]);
	fprintf(stderr, "usage: interop_store make DIR\n"
		"       interop_store verify-note NAME PUBKEY NOTE\n"
		"       interop_store cosign SEED NAME TIME NOTE\n");
	return 2;
}
