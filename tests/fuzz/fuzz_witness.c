// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target: what the fleet collector reads from the network
 * (docs/forwarding.md): a tlog-witness add-checkpoint body, a witness's
 * answer, a witness verifier key (daemon/log/witness.c) and a forwarding
 * message (daemon/log/fwdmsg.c).  A body that parses formats back to the
 * same bytes; a message that decodes -- a single item or a batch of
 * records -- encodes back to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "fwdmsg.h"
#include "witness.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const char note[] =
	"example.com/log\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"
	"\xe2\x80\x94 example.com/log AAAAAAE=\n";

/* A decoded batch encoded again with the largest bounds. */
static long encode_batch(const struct bfl_fwd_msg *m, char *out, size_t cap)
{
	struct bfl_fwd_batch b;
	struct bfl_fwd_part p;
	unsigned int i;
	long k;

	if (bfl_fwd_batch_init(&b, m->origin, BFL_FWD_BATCH_MAX_RECS, BFL_FWD_BATCH_MSG_MAX))
		abort();
	for (i = 0; i < m->count; i++) {
		bfl_fwd_msg_part(m, i, &p);
		if (bfl_fwd_batch_add(&b, p.n, p.data, p.len))
			abort();
	}
	k = bfl_fwd_batch_finish(&b, out, cap);
	bfl_fwd_batch_free(&b);
	return k;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct bfl_wit_request r;
	static char out[BFL_WIT_BODY_MAX + 1], msg[BFL_FWD_BATCH_MSG_MAX + 1];
	struct bfl_fwd_msg m;
	struct bfl_cosigner w;
	char *buf = malloc(size + 1), *att = NULL;
	size_t len;
	u64 t;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	if (!bfl_wit_request_parse(buf, size, &r, NULL)) {
		if (r.nproof > BFL_WIT_PROOF_MAX || r.note < buf || r.note + r.note_len != buf + size)
			abort();
		if (bfl_wit_request_format(r.old, r.proof, r.nproof, r.note, r.note_len, out,
					   sizeof(out), &len) || len != size || memcmp(out, buf, size))
			abort();
	}
	if (!bfl_fwd_decode(buf, size, &m, NULL)) {
		size_t want = size && buf[size - 1] == '\n' ? size - 1 : size;
		long k = m.batch ? encode_batch(&m, msg, sizeof(msg)) :
			 bfl_fwd_encode(msg, sizeof(msg), m.kind, m.origin, m.n, m.item, m.len);

		if (k < 0 || (size_t)k != want || memcmp(msg, buf, want))
			abort();
		bfl_fwd_msg_free(&m);
	}
	if (!bfl_cosigner_from_vkey(&w, buf, NULL)) {
		char vk[BFL_VKEY_MAX];

		/* The same key; the key ID's hex may have been upper case. */
		if (bfl_cosigner_vkey(&w, vk, sizeof(vk)) < 0 || strncmp(vk, buf, strlen(w.name)))
			abort();
		/* Any answer attached to a note: a cosignature by this key
		 * cannot verify (the fuzzer has no private key). */
		if (!bfl_cosig_attach(note, sizeof(note) - 1, buf, size, &w, &t, &att, &len, NULL))
			abort();
		bfl_cosigner_free(&w);
	}
	free(att);
	free(buf);
	return 0;
}
