// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Segment files (docs/log-format.md, "Store layout"): the header, the
 * listing of a store's segments, and the one parser of the entries in
 * them, shared by recovery, the verifier and proof export so that the
 * three cannot disagree on what a segment holds.
 *
 * A segment is a 32-byte header ("BFLSEG02", first leaf index LE64, 16
 * zero bytes) followed by entries of two kinds, told apart by their
 * first eight bytes:
 *
 *   record entry      the audit record as the kernel produced it (it
 *                     starts with BIOREADER_AUDIT_MAGIC and carries its
 *                     own size), then its 32-byte leaf hash;
 *   checkpoint entry  "BFLCKP02", the note's length (LE32), 4 zero
 *                     bytes, the signed checkpoint note, zero padding
 *                     to a multiple of 8.
 *
 * A checkpoint entry seals every record before it in the stream: its
 * tree size must equal the number of records that precede it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "internal.h"

void bfl_seg_header_make(u8 hdr[BFL_SEG_HDR_SIZE], u64 first)
{
	memset(hdr, 0, BFL_SEG_HDR_SIZE);
	memcpy(hdr, BFL_SEG_MAGIC, 8);
	bfl_put_le64(hdr + 8, first);
}

int bfl_seg_header_check(const u8 *buf, size_t len, u64 *first,
			 struct bfl_err *e)
{
	size_t i;

	if (len < BFL_SEG_HDR_SIZE)
		return bfl_errf(e, -EBADMSG, "shorter than a segment header (%zu bytes)",
				len);
	if (memcmp(buf, BFL_SEG_MAGIC, 8))
		return bfl_errf(e, -EBADMSG, "bad segment magic");
	for (i = 16; i < BFL_SEG_HDR_SIZE; i++)
		if (buf[i])
			return bfl_errf(e, -EBADMSG, "segment header reserved bytes not zero");
	*first = bfl_get_le64(buf + 8);
	return 0;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct bfl_seg *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

int bfl_list_segments(int segdirfd, struct bfl_seg_list *l,
		      struct bfl_err *e)
{
	int fd = dup(segdirfd);
	unsigned int cap = 0;
	struct dirent *d;
	DIR *dir;

	memset(l, 0, sizeof(*l));
	if (fd < 0)
		return bfl_errf(e, -errno, "segments: %s", strerror(errno));
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return bfl_errf(e, -errno, "segments: %s", strerror(errno));
	}
	rewinddir(dir);
	while ((d = readdir(dir))) {
		size_t n = strlen(d->d_name);
		u64 first;

		if (d->d_name[0] == '.')
			continue;
		if (n != BFL_SEG_NAME_LEN || strcmp(d->d_name + 20, ".seg") ||
		    d->d_name[0] == '-' ||
		    (strspn(d->d_name, "0123456789") != 20) ||
		    sscanf(d->d_name, "%20llu", (unsigned long long *)&first) != 1) {
			if (n > 4 && !strcmp(d->d_name + n - 4, ".seg")) {
				l->bad++;
				snprintf(l->bad_name, sizeof(l->bad_name), "%.60s",
					 d->d_name);
			}
			continue;
		}
		if (l->n == cap) {
			struct bfl_seg *nv;

			cap = cap ? 2 * cap : 16;
			nv = realloc(l->v, cap * sizeof(*nv));
			if (!nv) {
				closedir(dir);
				free(l->v);
				l->v = NULL;
				return bfl_errf(e, -ENOMEM, "out of memory");
			}
			l->v = nv;
		}
		memcpy(l->v[l->n].name, d->d_name, BFL_SEG_NAME_LEN + 1);
		l->v[l->n].first = first;
		l->n++;
	}
	closedir(dir);
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), seg_cmp);
	return 0;
}

size_t bfl_cpe_size(size_t note_len)
{
	return BFL_CPE_HDR_SIZE + ((note_len + 7) & ~(size_t)7);
}

size_t bfl_cpe_make(u8 *out, const char *note, size_t note_len)
{
	size_t total = bfl_cpe_size(note_len);

	memset(out, 0, total);
	memcpy(out, BFL_CPE_MAGIC, 8);
	bfl_put_le32(out + 8, (u32)note_len);
	memcpy(out + BFL_CPE_HDR_SIZE, note, note_len);
	return total;
}

int bfl_seg_next(const u8 *buf, size_t len, size_t off, struct bfl_item *it,
		 struct bfl_err *e)
{
	size_t avail = len - off, i;
	int k;

	memset(it, 0, sizeof(*it));
	it->off = off;
	if (off >= len)
		return 0;
	if (avail >= 8 && !memcmp(buf + off, BFL_CPE_MAGIC, 8)) {
		u32 nl;

		if (avail < BFL_CPE_HDR_SIZE)
			return bfl_errf(e, -ENODATA, "checkpoint entry header cut short");
		nl = bfl_get_le32(buf + off + 8);
		if (nl == 0 || nl > BFL_CPE_NOTE_MAX || bfl_get_le32(buf + off + 12))
			return bfl_errf(e, -EBADMSG, "bad checkpoint entry header");
		it->len = bfl_cpe_size(nl);
		if (it->len > avail)
			return bfl_errf(e, -ENODATA, "checkpoint entry of %zu bytes, only %zu present",
					it->len, avail);
		for (i = BFL_CPE_HDR_SIZE + nl; i < it->len; i++)
			if (buf[off + i])
				return bfl_errf(e, -EBADMSG, "checkpoint entry padding not zero");
		it->type = BFL_ITEM_CHECKPOINT;
		it->note = (const char *)buf + off + BFL_CPE_HDR_SIZE;
		it->note_len = nl;
		return 1;
	}
	k = bfl_record_parse(buf + off, avail, &it->rec, e);
	if (k < 0)
		return k;
	if ((size_t)k + BFL_ENTRY_EXTRA > avail)
		return bfl_errf(e, -ENODATA, "record entry cut short (%zu of %zu bytes)",
				avail, (size_t)k + BFL_ENTRY_EXTRA);
	it->type = BFL_ITEM_RECORD;
	it->data = buf + off;
	it->data_len = (size_t)k;
	it->stored_leaf = buf + off + k;
	it->len = (size_t)k + BFL_ENTRY_EXTRA;
	return 1;
}
