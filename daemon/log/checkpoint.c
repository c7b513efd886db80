// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Checkpoints in the C2SP tlog-checkpoint format:
 *
 *   <origin>
 *   <tree size, decimal>
 *   <root hash, base64>
 *   bioflow-epoch <N>          (extension line: the epoch that signs it)
 *
 * carried in a signed note.  Unknown extension lines are allowed and
 * ignored, as the format asks.  The origin line must be non-empty; the
 * spec only recommends that it have no Unicode spaces or '+' and tells
 * clients not to assume so (c2sp.org/tlog-checkpoint, "Note text"), so
 * it is not held to the key-name rule here: the verifier compares it
 * with the store's origin, which is (bfl_check_origin()).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bflog.h"

#define EPOCH_EXT "bioflow-epoch "

int bfl_checkpoint_parse_body(const char *text, size_t len,
			      struct bfl_checkpoint *cp, struct bfl_err *e)
{
	const char *p = text, *end = text + len, *nl;
	unsigned int line = 0;
	bool have_epoch = false;
	size_t got;

	memset(cp, 0, sizeof(*cp));
	if (len == 0 || text[len - 1] != '\n')
		return bfl_errf(e, -EBADMSG, "checkpoint text does not end with a newline");
	while (p < end) {
		size_t ll;

		nl = memchr(p, '\n', (size_t)(end - p));
		ll = (size_t)(nl - p);
		line++;
		if (ll == 0)
			return bfl_errf(e, -EBADMSG, "checkpoint line %u is empty", line);
		if (line == 1) {
			if (ll > BFL_NAME_MAX)
				return bfl_errf(e, -EBADMSG, "checkpoint origin too long");
			memcpy(cp->origin, p, ll);
			cp->origin[ll] = 0;
		} else if (line == 2) {
			if (bfl_parse_u64(p, ll, &cp->size) || cp->size > INT64_MAX)
				return bfl_errf(e, -EBADMSG,
						"checkpoint tree size is not a decimal number");
		} else if (line == 3) {
			u8 h[BFL_HASH_SIZE + 3];

			if (ll != 44 || bfl_b64_decode(p, ll, h, sizeof(h), &got) ||
			    got != BFL_HASH_SIZE)
				return bfl_errf(e, -EBADMSG,
						"checkpoint root hash is not 32 bytes of base64");
			memcpy(cp->root, h, BFL_HASH_SIZE);
		} else if (ll > strlen(EPOCH_EXT) &&
			   !memcmp(p, EPOCH_EXT, strlen(EPOCH_EXT))) {
			if (have_epoch)
				return bfl_errf(e, -EBADMSG, "two bioflow-epoch lines");
			if (bfl_parse_u64(p + strlen(EPOCH_EXT),
					  ll - strlen(EPOCH_EXT), &cp->epoch) ||
			    cp->epoch == 0)
				return bfl_errf(e, -EBADMSG, "bad bioflow-epoch line");
			have_epoch = true;
		}
		p = nl + 1;
	}
	if (line < 3)
		return bfl_errf(e, -EBADMSG, "checkpoint has %u lines, needs 3", line);
	return 0;
}

int bfl_checkpoint_format_body(const struct bfl_checkpoint *cp, char *out,
			       size_t cap, size_t *len)
{
	char b64[48];
	int k;

	bfl_b64_encode(cp->root, BFL_HASH_SIZE, b64);
	if (cp->epoch)
		k = snprintf(out, cap, "%s\n%llu\n%s\n" EPOCH_EXT "%llu\n",
			     cp->origin, (unsigned long long)cp->size, b64,
			     (unsigned long long)cp->epoch);
	else
		k = snprintf(out, cap, "%s\n%llu\n%s\n", cp->origin,
			     (unsigned long long)cp->size, b64);
	if (k < 0 || (size_t)k >= cap)
		return -ENOSPC;
	*len = (size_t)k;
	return 0;
}

int bfl_checkpoint_open(const char *buf, size_t len,
			struct bfl_checkpoint *cp, struct bfl_note *note,
			struct bfl_err *e)
{
	int r = bfl_note_parse(buf, len, note, e);

	if (r)
		return r;
	return bfl_checkpoint_parse_body(note->text, note->text_len, cp, e);
}
