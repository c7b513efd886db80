// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of the forwarding messages (daemon/log/fwdmsg.c): every
 * kind round-trips byte for byte; the decoder refuses every malformed
 * field a network peer could send.  Batches (several records a message):
 * round trips at the bounds (records, bytes, the largest message the
 * decoder takes), and every malformation refused: a count that is not
 * the fields', every truncation, oversize, trailing garbage, indexes
 * past 2^64-1, the encoder refusing non-consecutive indexes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwdmsg.h"
#include "ktap.h"

#define ORIGIN "bioflow.example/kiosk-7"

static char buf[BFL_FWD_BATCH_MSG_MAX + 64];
static char bmsg[BFL_FWD_BATCH_MSG_MAX + 64];

static int refused(const char *msg)
{
	struct bfl_fwd_msg m;
	struct bfl_err e = { 0 };
	int r = bfl_fwd_decode(msg, strlen(msg), &m, &e);

	if (!r)
		bfl_fwd_msg_free(&m);
	return r == -EBADMSG;
}

static int refused_n(const char *msg, size_t len)
{
	struct bfl_fwd_msg m;
	struct bfl_err e = { 0 };
	int r = bfl_fwd_decode(msg, len, &m, &e);

	if (!r)
		bfl_fwd_msg_free(&m);
	return r == -EBADMSG;
}

static void checkf(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void checkf(int cond, const char *fmt, ...)
{
	char name[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	ktap_check(cond, name);
}

/* The record of leaf index i in these tests: len bytes from i. */
static void rec_bytes(u64 i, uint8_t *out, size_t len)
{
	size_t k;

	for (k = 0; k < len; k++)
		out[k] = (uint8_t)(i * 31 + k * 7 + (k >> 8));
}

/* Decodes @msg and checks it is the batch of @count records from @first,
 * record i of lens[i] (or @len1 for all when lens is NULL) bytes. */
static int batch_ok(const char *msg, size_t len, u64 first, unsigned int count,
		    const size_t *lens, size_t len1)
{
	static uint8_t want[BFL_FWD_ITEM_MAX];
	struct bfl_fwd_msg m;
	struct bfl_fwd_part part;
	struct bfl_err e = { 0 };
	unsigned int i;
	int ok;

	if (bfl_fwd_decode(msg, len, &m, &e)) {
		ktap_diag("decode: %s", e.msg);
		return 0;
	}
	ok = m.batch && m.kind == BFL_FWD_REC && m.n == first && m.count == count &&
	     !strcmp(m.origin, ORIGIN);
	for (i = 0; ok && i < count; i++) {
		size_t l = lens ? lens[i] : len1;

		bfl_fwd_msg_part(&m, i, &part);
		rec_bytes(first + i, want, l);
		ok = part.kind == BFL_FWD_REC && part.n == first + i && part.len == l &&
		     !memcmp(part.data, want, l);
	}
	bfl_fwd_msg_free(&m);
	return ok;
}

/* Fills a batch from @first with records of @len bytes until it is full;
 * the last record added as big as still fits.  The message's length. */
static long fill(struct bfl_fwd_batch *b, u64 first, size_t len, unsigned int *count,
		 size_t *lens)
{
	static uint8_t r[BFL_FWD_ITEM_MAX];
	unsigned int i = 0;
	size_t l;

	for (;;) {
		rec_bytes(first + i, r, len);
		if (bfl_fwd_batch_add(b, first + i, r, len))
			break;
		lens[i++] = len;
	}
	for (l = len - 1; l > 0; l--) {
		rec_bytes(first + i, r, l);
		if (!bfl_fwd_batch_add(b, first + i, r, l)) {
			lens[i++] = l;
			break;
		}
	}
	*count = i;
	return bfl_fwd_batch_finish(b, bmsg, sizeof(bmsg));
}

static void batch_tests(void)
{
	static uint8_t r[BFL_FWD_ITEM_MAX];
	static size_t lens[BFL_FWD_BATCH_MAX_RECS];
	const size_t three[] = { 1, 100, 4096 };
	struct bfl_fwd_batch b;
	char oid[BFL_FWD_OID_LEN + 1], msg[512], *p;
	unsigned int i, count, cut_ok;
	long n;
	u64 first;
	int ok;

	bfl_fwd_oid(ORIGIN, oid);
	ktap_check(bfl_fwd_batch_init(&b, ORIGIN, 0, 1000) == -EINVAL &&
		   bfl_fwd_batch_init(&b, ORIGIN, BFL_FWD_BATCH_MAX_RECS + 1, 1000) == -EINVAL &&
		   bfl_fwd_batch_init(&b, ORIGIN, 8, BFL_FWD_BATCH_MSG_MAX + 1) == -EINVAL &&
		   bfl_fwd_batch_init(&b, "a+b", 8, 1000) == -EINVAL,
		   "batch: no records, too many, a message bound past the decoder's, a bad origin -> EINVAL");

	/* Three records of 1, 100, 4096 bytes from a large index. */
	ok = !bfl_fwd_batch_init(&b, ORIGIN, 8, BFL_FWD_BATCH_MSG_MAX) &&
	     bfl_fwd_batch_finish(&b, bmsg, sizeof(bmsg)) == -ENODATA;
	for (i = 0; ok && i < 3; i++) {
		rec_bytes(1234567890123ull + i, r, three[i]);
		ok = !bfl_fwd_batch_add(&b, 1234567890123ull + i, r, three[i]);
	}
	rec_bytes(9, r, 10);
	ok = ok && bfl_fwd_batch_add(&b, 1234567890123ull + 4, r, 10) == -EXDEV &&
	     bfl_fwd_batch_add(&b, 1234567890123ull + 2, r, 10) == -EXDEV &&
	     bfl_fwd_batch_add(&b, 1234567890123ull + 3, r, 0) == -EMSGSIZE &&
	     bfl_fwd_batch_add(&b, 1234567890123ull + 3, r, BFL_FWD_ITEM_MAX + 1) == -EMSGSIZE;
	ktap_check(ok, "batch: a gap, a record again, an empty or oversized record refused by the encoder");
	n = bfl_fwd_batch_finish(&b, bmsg, sizeof(bmsg));
	ktap_check(n > 0 && !strncmp(bmsg, "bioflow1 ", 9) &&
		   batch_ok(bmsg, (size_t)n, 1234567890123ull, 3, three, 0),
		   "batch round trip: 3 records of 1, 100, 4096 bytes, every byte and index");
	ktap_check(bfl_fwd_batch_finish(&b, bmsg, sizeof(bmsg)) == -ENODATA,
		   "batch: finish empties it");
	rec_bytes(5, r, 10);
	ok = !bfl_fwd_batch_add(&b, 5, r, 10) && !bfl_fwd_batch_add(&b, 6, r, 10);
	bfl_fwd_batch_reset(&b);
	ok = ok && bfl_fwd_batch_finish(&b, bmsg, sizeof(bmsg)) == -ENODATA &&
	     !bfl_fwd_batch_add(&b, 40, r, 10);
	n = bfl_fwd_batch_finish(&b, bmsg, sizeof(bmsg));
	ktap_check(ok && n > 0 && strstr(bmsg, " recs 40 1 10 "),
		   "batch: reset drops its records; the next record starts a new batch");

	/* The bounds: the most records (of 1 byte), then one more. */
	bfl_fwd_batch_free(&b);
	ok = !bfl_fwd_batch_init(&b, ORIGIN, BFL_FWD_BATCH_MAX_RECS, BFL_FWD_BATCH_MSG_MAX);
	for (i = 0; ok && i < BFL_FWD_BATCH_MAX_RECS; i++) {
		rec_bytes(i, r, 1);
		ok = !bfl_fwd_batch_add(&b, i, r, 1);
	}
	ok = ok && bfl_fwd_batch_add(&b, i, r, 1) == -ENOSPC;
	n = bfl_fwd_batch_finish(&b, bmsg, sizeof(bmsg));
	checkf(ok && n > 0 && batch_ok(bmsg, (size_t)n, 0, BFL_FWD_BATCH_MAX_RECS, NULL, 1),
		   "batch at the most records (%d): round trip; one more -> ENOSPC",
		   BFL_FWD_BATCH_MAX_RECS);
	snprintf(msg, sizeof(msg), "bioflow1 %s recs 0 %d %d " ORIGIN, oid,
		 BFL_FWD_BATCH_MAX_RECS + 1, BFL_FWD_BATCH_MAX_RECS + 1);
	p = bmsg + sprintf(bmsg, "%s", msg);
	for (i = 0; i <= BFL_FWD_BATCH_MAX_RECS; i++)
		p += sprintf(p, " AA==");
	checkf(refused_n(bmsg, (size_t)(p - bmsg)),
		   "decode: a batch of %d records refused", BFL_FWD_BATCH_MAX_RECS + 1);

	/* The largest message: exactly BFL_FWD_BATCH_MSG_MAX bytes (the
	 * first index's digits move the header until the base64 fits to
	 * the byte); the same with one digit more is refused. */
	for (first = 1, n = 0; first <= 1000; first *= 10) {
		n = fill(&b, first, 3000, &count, lens);
		if (n == BFL_FWD_BATCH_MSG_MAX)
			break;
	}
	checkf(n == BFL_FWD_BATCH_MSG_MAX && batch_ok(bmsg, (size_t)n, first, count, lens, 0),
		   "batch of exactly %d bytes (%u records): round trip", BFL_FWD_BATCH_MSG_MAX,
		   count);
	{
		static char big[BFL_FWD_BATCH_MSG_MAX + 64];
		int h = snprintf(big, sizeof(big), "bioflow1 %s recs %llu0", oid,
				 (unsigned long long)first);
		const char *rest = bmsg + strlen("bioflow1 ") + BFL_FWD_OID_LEN + 6 +
				   snprintf(msg, sizeof(msg), "%llu", (unsigned long long)first);

		memcpy(big + h, rest, (size_t)n - (size_t)(rest - bmsg));
		checkf(refused_n(big, (size_t)n + 1),
			   "decode: the same batch one byte longer (%d) refused",
			   BFL_FWD_BATCH_MSG_MAX + 1);
	}
	/* Every cut of a batch is refused, also those that leave canonical
	 * base64 (at a quantum of the last record). */
	for (i = 0, cut_ok = 0; i < 3; i++) {
		rec_bytes(70 + i, r, three[i]);
		bfl_fwd_batch_add(&b, 70 + i, r, three[i]);
	}
	n = bfl_fwd_batch_finish(&b, bmsg, sizeof(bmsg));
	for (i = 0; n > 0 && i < (unsigned int)n; i++)
		if (!refused_n(bmsg, i))
			cut_ok++;
	checkf(n > 0 && !cut_ok, "decode: each of the %ld cuts of a 3-record batch refused", n);
	bmsg[n] = '\n';
	ktap_check(batch_ok(bmsg, (size_t)n + 1, 70, 3, three, 0),
		   "decode: a batch with its trailing newline");
	bmsg[n] = ' ';
	ktap_check(refused_n(bmsg, (size_t)n + 1), "decode: a space after the last record refused");
	memcpy(bmsg + n, " AA==", 5);
	ktap_check(refused_n(bmsg, (size_t)n + 5),
		   "decode: one record more than the count refused (trailing field)");

	snprintf(msg, sizeof(msg), "bioflow1 %s recs 5 2 4 " ORIGIN " QkFSQw==", oid);
	ktap_check(refused(msg), "decode: fewer records than the count refused");
	snprintf(msg, sizeof(msg), "bioflow1 %s recs 5 1 5 " ORIGIN " QkFSQw==", oid);
	ok = refused(msg);
	snprintf(msg, sizeof(msg), "bioflow1 %s recs 5 1 3 " ORIGIN " QkFSQw==", oid);
	ktap_check(ok && refused(msg), "decode: a byte count not the records' refused");
	snprintf(msg, sizeof(msg), "bioflow1 %s recs 18446744073709551615 2 2 " ORIGIN " AA== AA==",
		 oid);
	ok = refused(msg);
	snprintf(msg, sizeof(msg), "bioflow1 %s recs 18446744073709551615 1 1 " ORIGIN " AA==", oid);
	ktap_check(ok && !refused(msg), "decode: indexes past 2^64-1 refused, up to it taken");
	snprintf(msg, sizeof(msg), "bioflow1 %s recs 5 0 0 " ORIGIN, oid);
	ok = refused(msg);
	snprintf(msg, sizeof(msg), "bioflow1 %s recs 5 02 2 " ORIGIN " AA== AA==", oid);
	ok = ok && refused(msg);
	snprintf(msg, sizeof(msg), "bioflow1 %s recs 5 2 2 " ORIGIN " AA==  AA==", oid);
	ok = ok && refused(msg);
	snprintf(msg, sizeof(msg), "bioflow1 %s recs 5 2 2 " ORIGIN " AA== AB==", oid);
	ok = ok && refused(msg);
	snprintf(msg, sizeof(msg), "bioflow1 %s recs 5 2 " ORIGIN " AA== AA==", oid);
	ktap_check(ok && refused(msg),
		   "decode: count 0, a leading zero, an empty field, non-canonical base64, no byte count refused");
	bfl_fwd_batch_free(&b);
}

int main(void)
{
	static uint8_t big[BFL_FWD_ITEM_MAX + 1];
	const uint8_t rec[] = { 'B', 'A', 'R', 'C', 0, 1, 2, 0xff };
	char oid[BFL_FWD_OID_LEN + 1], msg[512];
	struct bfl_fwd_msg m;
	struct bfl_err e = { 0 };
	long n;
	int k, ok;

	ktap_plan(18 + 17);
	for (k = BFL_FWD_INFO; k <= BFL_FWD_CP; k++) {
		n = bfl_fwd_encode(buf, sizeof(buf), (enum bfl_fwd_kind)k, ORIGIN,
				   k == BFL_FWD_INFO ? 0 : 1234567890123ull, rec, sizeof(rec));
		ok = n > 0 && !bfl_fwd_decode(buf, (size_t)n, &m, &e) &&
		     m.kind == (enum bfl_fwd_kind)k && !strcmp(m.origin, ORIGIN) &&
		     m.n == (k == BFL_FWD_INFO ? 0 : 1234567890123ull) &&
		     m.len == sizeof(rec) && !memcmp(m.item, rec, sizeof(rec));
		bfl_fwd_msg_free(&m);
		snprintf(msg, sizeof(msg), "round trip: %s", bfl_fwd_kind_name((enum bfl_fwd_kind)k));
		ktap_check(ok, msg);
	}
	memset(big, 0xa5, sizeof(big));
	n = bfl_fwd_encode(buf, sizeof(buf), BFL_FWD_CP, ORIGIN, 7, big, BFL_FWD_ITEM_MAX);
	ok = n > 0 && (size_t)n < BFL_FWD_MSG_MAX && !bfl_fwd_decode(buf, (size_t)n, &m, &e) &&
	     m.len == BFL_FWD_ITEM_MAX;
	bfl_fwd_msg_free(&m);
	ktap_check(ok, "the largest item fits BFL_FWD_MSG_MAX and round-trips");
	ktap_check(bfl_fwd_encode(buf, sizeof(buf), BFL_FWD_CP, ORIGIN, 7, big,
				  BFL_FWD_ITEM_MAX + 1) == -EMSGSIZE &&
		   bfl_fwd_encode(buf, 40, BFL_FWD_REC, ORIGIN, 7, rec, sizeof(rec)) == -EMSGSIZE,
		   "encode: an item too big or a buffer too small -> EMSGSIZE");
	ktap_check(bfl_fwd_encode(buf, sizeof(buf), BFL_FWD_REC, "kiosk\xc2\xa0" "7", 1, rec,
				  sizeof(rec)) == -EINVAL &&
		   bfl_fwd_encode(buf, sizeof(buf), BFL_FWD_REC, "a+b", 1, rec, sizeof(rec)) == -EINVAL,
		   "encode: an origin that is no key name (U+00A0, '+') -> EINVAL");

	bfl_fwd_oid(ORIGIN, oid);
	snprintf(msg, sizeof(msg), "bioflow1 %s rec 5 " ORIGIN " QkFSQw==\n", oid);
	ok = !bfl_fwd_decode(msg, strlen(msg), &m, &e) && m.n == 5 && m.len == 4;
	bfl_fwd_msg_free(&m);
	ktap_check(ok, "decode: one trailing newline allowed");
	snprintf(msg, sizeof(msg), "bioflow2 %s rec 5 " ORIGIN " QkFSQw==", oid);
	ktap_check(refused(msg), "decode: another magic refused");
	snprintf(msg, sizeof(msg), "bioflow1 0000000000000000 rec 5 " ORIGIN " QkFSQw==");
	ktap_check(refused(msg), "decode: an oid not the origin's refused");
	snprintf(msg, sizeof(msg), "bioflow1 %s rec 05 " ORIGIN " QkFSQw==", oid);
	ktap_check(refused(msg), "decode: a number with a leading zero refused");
	snprintf(msg, sizeof(msg), "bioflow1 %s rec 18446744073709551616 " ORIGIN " QkFSQw==", oid);
	ktap_check(refused(msg), "decode: a number past 2^64-1 refused");
	snprintf(msg, sizeof(msg), "bioflow1 %s log 5 " ORIGIN " QkFSQw==", oid);
	ktap_check(refused(msg), "decode: an unknown kind refused");
	snprintf(msg, sizeof(msg), "bioflow1 %s rec 5 " ORIGIN " QkFSQw=", oid);
	ktap_check(refused(msg), "decode: base64 cut short refused");
	snprintf(msg, sizeof(msg), "bioflow1 %s rec 5 " ORIGIN " QkFSQx==", oid);
	ktap_check(refused(msg), "decode: non-canonical base64 (padding bits) refused");
	snprintf(msg, sizeof(msg), "bioflow1 %s rec 5 " ORIGIN " QkFSQw== ", oid);
	ktap_check(refused(msg), "decode: anything after the payload refused");
	snprintf(msg, sizeof(msg), "bioflow1 %s  rec 5 " ORIGIN " QkFSQw==", oid);
	ktap_check(refused(msg) && refused("") && refused("bioflow1"),
		   "decode: empty fields, an empty or a truncated message refused");
	snprintf(msg, sizeof(msg), "bioflow1 %s info 3 " ORIGIN " QkFSQw==", oid);
	ktap_check(refused(msg), "decode: info with a non-zero number refused");
	batch_tests();
	return ktap_finish();
}
