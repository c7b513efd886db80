// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of the store (daemon/log/store.c): group commit, reopen
 * with a new epoch, recovery from a crash at each point of a commit and
 * of an epoch start, redelivery filtering, segment and epoch rotation,
 * inclusion proof export, and refusal to continue a damaged or foreign
 * store.  Each state is checked with the verifier.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "bflog.h"
#include "ktap.h"
#include "lib/audit_rec.h"

static char tmp[200];
static char dir[256], counter[256];
static struct bfl_root_signer *rs;
static const u8 boot_a[16] = { 0xa1, 0xa2, 0xa3, 0xa4 };

static void mkrec(u8 *buf, const u8 boot[16], u64 seq, u32 type)
{
	test_audit_rec(buf, boot, 0x5eed0000ULL | boot[0], seq, type);
}

/* Appends seq first..first+n-1 of boot_a; returns the appended count. */
static unsigned int put(struct bfl_store *st, u64 first, unsigned int n)
{
	u8 *buf = malloc((size_t)n * BFL_RECORD_MIN);
	unsigned int i, app = 0;

	for (i = 0; i < n; i++)
		mkrec(buf + (size_t)i * BFL_RECORD_MIN, boot_a, first + i,
		      i % 2 ? BIOREADER_AUDIT_VERDICT : BIOREADER_AUDIT_SESSION_START);
	if (bfl_store_append(st, buf, (size_t)n * BFL_RECORD_MIN, &app, NULL, NULL))
		app = 0;
	free(buf);
	return app;
}

static enum bfl_verdict verify(const char **first_kind, u64 *records)
{
	struct bfl_verify_result res;
	const struct bfl_finding *f;
	enum bfl_verdict v;

	bfl_verify_store(dir, &rs->key, NULL, &res);
	f = bfl_first_error(&res);
	if (!f && res.nfind)
		f = &res.find[0];
	if (f)
		ktap_diag("verifier: %s %s: %s", f->kind, f->where, f->msg);
	if (first_kind)
		*first_kind = f ? f->kind : "";
	if (records)
		*records = res.records;
	v = res.verdict;
	bfl_verify_result_free(&res);
	return v;
}

static const struct bfl_store_opts fast = { .no_sync = false };

static int reopen(struct bfl_store **st, struct bfl_recovery *rep)
{
	struct bfl_err e = { 0 };
	int r = bfl_store_open(dir, rs, &fast, st, rep, &e);

	if (r)
		ktap_diag("open: %s", e.msg);
	return r;
}

static off_t seg_size(const char *name)
{
	char p[400];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/segments/%s", dir, name);
	return stat(p, &sb) ? -1 : sb.st_size;
}

int main(void)
{
	struct bfl_store *st = NULL;
	struct bfl_recovery rep;
	struct bfl_err e = { 0 };
	const char *kind;
	u64 n, seq;
	u8 stream[BFL_STREAM_SIZE];
	unsigned int i, app, skip;
	int r, ok;

	snprintf(tmp, sizeof(tmp), "%s/bfl-store-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
	if (!mkdtemp(tmp))
		return 1;
	snprintf(dir, sizeof(dir), "%s/log", tmp);
	snprintf(counter, sizeof(counter), "%s/nv-counter", tmp);
	rs = bfl_soft_root_new(NULL, counter, &e);
	if (!rs)
		return 1;
	ktap_plan(26);

	/* 1. create, commit in groups, verify */
	r = bfl_store_create(dir, "bioflow.example/kiosk-1", rs, &fast, &st, &e);
	ktap_check(!r && bfl_store_epoch(st) == 1 && bfl_store_sealed_size(st) == 0,
		   "create: epoch 1, empty tree sealed");
	ok = 1;
	for (i = 0; i < 10; i++)
		ok &= put(st, 1 + 10 * i, 10) == 10 && !bfl_store_commit(st, &e);
	ktap_check(ok && bfl_store_sealed_size(st) == 100, "ten group commits of ten records");
	ktap_check(verify(NULL, &n) == BFL_OK && n == 100, "verifier: 100 records OK");

	/* 2. redelivery after a restart is filtered */
	app = skip = 0;
	{
		u8 buf[3 * BFL_RECORD_MIN];

		mkrec(buf, boot_a, 99, 2);
		mkrec(buf + BFL_RECORD_MIN, boot_a, 100, 2);
		mkrec(buf + 2 * BFL_RECORD_MIN, boot_a, 101, 2);
		r = bfl_store_append(st, buf, sizeof(buf), &app, &skip, &e);
	}
	ktap_check(!r && app == 1 && skip == 2, "redelivered seq 99, 100 skipped; 101 appended");
	ktap_check(bfl_store_last_seq(st, stream, &seq) && seq == 101 &&
		   !memcmp(stream, boot_a, 16), "last stored kernel seq is 101");
	ktap_check(!bfl_store_commit(st, &e), "commit");

	/* 3. invalid records are refused whole */
	{
		u8 buf[2 * BFL_RECORD_MIN];

		mkrec(buf, boot_a, 102, 2);
		mkrec(buf + BFL_RECORD_MIN, boot_a, 103, 2);
		buf[BFL_RECORD_MIN] ^= 0xff;	/* magic of the second */
		r = bfl_store_append(st, buf, sizeof(buf), &app, NULL, &e);
		ktap_check(r == -EINVAL && bfl_store_size(st) == 101,
			   "a batch with a malformed record is refused, nothing appended");
		r = bfl_store_append(st, buf, BFL_RECORD_MIN + 10, &app, NULL, &e);
		ktap_check(r == -EINVAL && bfl_store_size(st) == 101,
			   "a batch ending in a partial record is refused");
	}

	/* 4. close without commit: unsealed tail, then recovery */
	ok = put(st, 102, 5) == 5;
	bfl_store_close(st);
	st = NULL;
	ktap_check(ok && verify(&kind, NULL) == BFL_WARN && !strcmp(kind, "unsealed-tail"),
		   "uncommitted records are reported as an unsealed tail");
	r = reopen(&st, &rep);
	ktap_check(!r && rep.discarded_records == 5 && rep.sealed_size == 101 &&
		   rep.new_epoch == 2 && rep.wrote_final,
		   "reopen: 5 unsealed records discarded, epoch 2 started");
	ktap_check(verify(NULL, &n) == BFL_OK && n == 101, "verifier: OK after recovery");

	/* the kernel redelivers them: accepted again (not duplicates) */
	ktap_check(put(st, 102, 5) == 5 && !bfl_store_commit(st, &e) &&
		   bfl_store_sealed_size(st) == 106, "redelivered unsealed records are stored");

	/* 5. torn write: a record cut in half at the end of the segment */
	ok = put(st, 107, 3) == 3;
	bfl_store_close(st);
	st = NULL;
	{
		char p[400];

		snprintf(p, sizeof(p), "%s/segments/%020d.seg", dir, 0);
		ok &= truncate(p, seg_size("00000000000000000000.seg") - 100) == 0;
	}
	ktap_check(ok && verify(&kind, NULL) == BFL_WARN, "torn final record: warning only");
	r = reopen(&st, &rep);
	ktap_check(!r && rep.discarded_records == 2 && rep.discarded_bytes > 2 * 192 &&
		   rep.sealed_size == 106, "reopen: 2 whole records and the torn one cut");

	/* 6. crash during the checkpoint write: a stale temporary file */
	{
		char p[400];
		FILE *f;

		snprintf(p, sizeof(p), "%s/checkpoint.tmp", dir);
		f = fopen(p, "w");
		if (f) {
			fputs("garbage\n", f);
			fclose(f);
		}
	}
	bfl_store_close(st);
	st = NULL;
	r = reopen(&st, &rep);
	ktap_check(!r && rep.removed_tmp == 1, "reopen removes a half-written checkpoint.tmp");

	/* 7. crash between an epoch certificate and its first checkpoint */
	{
		struct bfl_epoch_key k;
		struct bfl_epoch_cert c;
		char text[4096], p[400];
		size_t len = 32;
		int fd;

		memset(&c, 0, sizeof(c));
		snprintf(c.origin, sizeof(c.origin), "bioflow.example/kiosk-1");
		c.epoch = bfl_store_epoch(st) + 1;
		c.start_size = bfl_store_sealed_size(st);
		rs->ops->counter_increment(rs, &c.nv_counter, &e);
		bfl_epoch_key_generate(&k, c.origin, c.epoch, &e);
		EVP_PKEY_get_raw_public_key(k.priv, c.pub, &len);
		bfl_epoch_key_destroy(&k);	/* the crash loses the key */
		ok = !bfl_cert_issue(rs, &c, text, sizeof(text), &len, &e);
		/* the final of the current epoch is written first */
		bfl_store_close(st);
		st = NULL;
		snprintf(p, sizeof(p), "%s/epochs/%010llu.final", dir,
			 (unsigned long long)(c.epoch - 1));
		{
			char cp[400];
			u8 *b;
			size_t bl;

			snprintf(cp, sizeof(cp), "%s/checkpoint", dir);
			ok &= !bfl_read_file(AT_FDCWD, cp, 65536, &b, &bl, &e);
			fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			ok &= fd >= 0 && write(fd, b, bl) == (ssize_t)bl;
			close(fd);
			free(b);
		}
		snprintf(p, sizeof(p), "%s/epochs/%010llu.cert", dir,
			 (unsigned long long)c.epoch);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ok &= fd >= 0 && write(fd, text, len) == (ssize_t)len;
		close(fd);
		ktap_check(ok && verify(NULL, NULL) == BFL_OK,
			   "an epoch certified but never used verifies (empty epoch)");
		r = reopen(&st, &rep);
		ktap_check(!r && rep.new_epoch == c.epoch + 1 && !rep.wrote_final,
			   "reopen after it starts the next epoch at the same size");
		ktap_check(put(st, 107, 7) == 7 && !bfl_store_commit(st, &e) &&
			   verify(NULL, NULL) == BFL_OK, "and the log continues, verified");
	}

	/* 8. segment and epoch rotation */
	bfl_store_close(st);
	st = NULL;
	{
		struct bfl_store_opts o = { .segment_max_bytes = 4096,
					    .epoch_max_records = 64 };

		r = bfl_store_open(dir, rs, &o, &st, &rep, &e);
		ok = !r;
		for (i = 0; ok && i < 20; i++)
			ok &= put(st, 114 + 16 * i, 16) == 16 && !bfl_store_commit(st, &e);
		ktap_check(ok && seg_size("00000000000000000000.seg") > 0,
			   "small segments and 64-record epochs: 320 records committed");
		ktap_diag("epoch now %llu", (unsigned long long)bfl_store_epoch(st));
		ktap_check(bfl_store_epoch(st) >= rep.new_epoch + 4,
			   "epochs rotated on size");
		ktap_check(verify(NULL, &n) == BFL_OK && n == bfl_store_size(st),
			   "verifier: OK across segments and epochs");
	}

	/* 9. proofs */
	{
		char out[300], p[400];
		struct bfl_verify_result res;
		u8 *rec, *pf, *cp;
		size_t rl, pl, cl;

		snprintf(out, sizeof(out), "%s/proof", tmp);
		r = bfl_store_export_proof(dir, 77, out, &e);
		ok = !r;
		snprintf(p, sizeof(p), "%s/record", out);
		ok &= !bfl_read_file(AT_FDCWD, p, 4096, &rec, &rl, &e);
		snprintf(p, sizeof(p), "%s/proof", out);
		ok &= !bfl_read_file(AT_FDCWD, p, 65536, &pf, &pl, &e);
		snprintf(p, sizeof(p), "%s/checkpoint", out);
		ok &= !bfl_read_file(AT_FDCWD, p, 65536, &cp, &cl, &e);
		if (!ok)
			ktap_diag("%s", e.msg);
		bfl_verify_inclusion_files(rec, rl, (char *)pf, pl, (char *)cp, cl,
					   &rs->key, &res);
		ktap_check(ok && res.verdict == BFL_OK, "exported inclusion proof verifies");
		bfl_verify_result_free(&res);
		rec[150] ^= 1;
		bfl_verify_inclusion_files(rec, rl, (char *)pf, pl, (char *)cp, cl,
					   &rs->key, &res);
		ktap_check(res.verdict == BFL_FAIL && !strcmp(bfl_first_error(&res)->kind,
							      "inclusion"),
			   "an altered record fails its inclusion proof");
		bfl_verify_result_free(&res);
		rec[150] ^= 1;
		cp[cl / 2] ^= 1;
		bfl_verify_inclusion_files(rec, rl, (char *)pf, pl, (char *)cp, cl,
					   &rs->key, &res);
		ktap_check(res.verdict == BFL_FAIL, "an altered checkpoint fails");
		bfl_verify_result_free(&res);
		free(rec);
		free(pf);
		free(cp);
	}
	bfl_store_close(st);
	st = NULL;

	/* 10. refusing to continue a foreign or damaged store */
	{
		struct bfl_root_signer *other = bfl_soft_root_new(NULL, NULL, &e);

		r = bfl_store_open(dir, other, &fast, &st, &rep, &e);
		ktap_check(r == -EUCLEAN, "open with another root key is refused");
		if (r)
			ktap_diag("%s", e.msg);
		bfl_store_close(st);
		st = NULL;
		bfl_root_signer_free(other);
	}
	{
		char p[400];

		snprintf(p, sizeof(p), "%s/segments/%020d.seg", dir, 0);
		ok = truncate(p, seg_size("00000000000000000000.seg") - 192) == 0;
		r = bfl_store_open(dir, rs, &fast, &st, &rep, &e);
		ktap_check(ok && r == -EUCLEAN, "sealed records missing: open refuses");
		if (r)
			ktap_diag("%s", e.msg);
		bfl_store_close(st);
	}

	bfl_root_signer_free(rs);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		if (system(cmd))
			ktap_diag("cleanup failed");
	}
	return ktap_finish();
}
