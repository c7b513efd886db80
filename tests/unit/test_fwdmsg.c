// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of the forwarding messages (daemon/log/fwdmsg.c): every
 * kind round-trips byte for byte; the decoder refuses every malformed
 * field a network peer could send.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwdmsg.h"
#include "ktap.h"

#define ORIGIN "bioflow.example/kiosk-7"

static char buf[BFL_FWD_MSG_MAX];

static int refused(const char *msg)
{
	struct bfl_fwd_msg m;
	struct bfl_err e = { 0 };
	int r = bfl_fwd_decode(msg, strlen(msg), &m, &e);

	if (!r)
		bfl_fwd_msg_free(&m);
	return r == -EBADMSG;
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

	ktap_plan(18);
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
	return ktap_finish();
}
