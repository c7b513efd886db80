// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target: the text formats of the audit log (daemon/log/):
 * signed notes, checkpoints, epoch certificates and inclusion proofs, as
 * bioflow-verify reads them from a store or an auditor's files that an
 * attacker may have written.  Whatever parses must format back to text
 * that parses to the same values.
 */
#include <stdlib.h>
#include <string.h>

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
	if (bfl_record_parse(data, size, &r, NULL) > (int)size)
		abort();
out:
	free(buf);
	free(n);
	return 0;
}
