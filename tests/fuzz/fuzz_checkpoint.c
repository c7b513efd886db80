// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target: the text formats of the audit log (daemon/log/):
 * signed notes, checkpoints, epoch certificates and inclusion proofs, as
 * bioflow-verify reads them from a store or an auditor's files that an
 * attacker may have written.  Whatever parses must format back to text
 * that parses to the same values.  The same bytes also go to the audit
 * record parser (versions 1 and 2, the SESSION_START reference block).
 */
#include <stdlib.h>
#include <string.h>

#include <linux/bioreader.h>
#include <linux/bioreader_audit.h>

#include "bflog.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct bfl_note *n = malloc(sizeof(*n));
	struct bfl_checkpoint cp, cp2;
	struct bfl_epoch_cert c, c2;
	struct bfl_proof p;
	struct bfl_record r;
	char *buf = malloc(size + 1), out[BFL_CPE_NOTE_MAX];
	size_t len;
	int k;

	if (!n || !buf)
		goto out;
	memcpy(buf, data, size);
	buf[size] = 0;
	if (!bfl_checkpoint_open(buf, size, &cp, n, NULL)) {
		if (n->nsig == 0 || n->text_len > size)
			abort();
		if (!bfl_checkpoint_format_body(&cp, out, sizeof(out), &len) &&
		    (bfl_checkpoint_parse_body(out, len, &cp2, NULL) ||
		     cp2.size != cp.size || memcmp(cp2.root, cp.root, BFL_HASH_SIZE)))
			abort();
	}
	if (!bfl_cert_open(buf, size, NULL, &c, NULL)) {
		if (bfl_cert_format_body(&c, out, sizeof(out), &len) ||
		    bfl_cert_parse_body(out, len, &c2, NULL))
			abort();
		c2.nv_index = c.nv_index;	/* not in the body */
		if (memcmp(&c, &c2, sizeof(c)))
			abort();
	}
	if (!bfl_proof_parse(buf, size, &p, NULL)) {
		if (p.n > BFL_PROOF_MAX || !p.cert)
			abort();
		bfl_proof_free(&p);
	}
	k = bfl_record_parse(data, size, &r, NULL);
	if (k > (int)size)
		abort();
	if (k > 0) {
		char t[BFL_REF_TEXT_MAX];

		/* A SESSION_START from version 2 on carries its reference
		 * block, in the driver's form; no other record does. */
		if (r.has_ref != (r.version >= 2 &&
				  r.type == BIOREADER_AUDIT_SESSION_START))
			abort();
		if (r.has_ref &&
		    (k < BFL_RECORD_REF_SIZE ||
		     (r.ref_source == BIOREADER_REF_SOURCE_NONE ? r.ref_flags != 0 :
		      r.ref_source != BIOREADER_REF_SOURCE_ICAO_PA ||
		      (r.ref_flags & ~(u32)BIOREADER_REF_FLAGS_ALL))))
			abort();
		bfl_record_ref_text(&r, t, sizeof(t));
		if (r.has_ref != (t[0] != 0))
			abort();
	}
out:
	free(buf);
	free(n);
	return 0;
}
