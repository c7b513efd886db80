/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A store's items in the order a forwarder sends them
 * (docs/forwarding.md, "Order"): log-info, then the segment entries in
 * store order, each epoch's certificate just before the first checkpoint
 * it signs (and the certificates of epochs that signed nothing before
 * the next one's), certificates of trailing empty epochs last.  For the
 * tests of the mirror writer and the collector.
 */
#ifndef _BIOREADER_TEST_STORE_STREAM_H
#define _BIOREADER_TEST_STORE_STREAM_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bflog.h"
#include "fwdmsg.h"
#include "internal.h"

/* Called for every item; a non-zero return stops the walk (returned). */
typedef int (*store_stream_cb)(void *arg, enum bfl_fwd_kind kind, u64 n,
			       const u8 *item, size_t len);

static inline int store_stream_cert(int epfd, u64 epoch, store_stream_cb cb,
				    void *arg)
{
	char name[32];
	u8 *b;
	size_t len;
	int r;

	bfl_epoch_file(name, sizeof(name), epoch, "cert");
	if (bfl_read_file(epfd, name, 1 << 16, &b, &len, NULL))
		return -1;
	r = cb(arg, BFL_FWD_CERT, epoch, b, len);
	free(b);
	return r;
}

/* Walks STORE; 0, the callback's non-zero value, or -1 if unreadable. */
static inline int store_stream(const char *dir, store_stream_cb cb, void *arg)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), sfd = -1, efd = -1;
	struct bfl_seg_list l = { 0 };
	unsigned int i, nep = 0;
	u64 sent = 0, index = 0, *ep = NULL;
	u8 *b = NULL;
	size_t len;
	int r = -1;

	if (dfd < 0)
		return -1;
	sfd = openat(dfd, "segments", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	efd = openat(dfd, "epochs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || efd < 0 || bfl_read_file(dfd, "log-info", 4096, &b, &len, NULL))
		goto out;
	r = cb(arg, BFL_FWD_INFO, 0, b, len);
	free(b);
	b = NULL;
	if (r || bfl_list_segments(sfd, &l, NULL) || bfl_list_epochs(efd, &ep, &nep, NULL)) {
		r = r ? r : -1;
		goto out;
	}
	for (i = 0; i < l.n && !r; i++) {
		struct bfl_item it;
		size_t off = BFL_SEG_HDR_SIZE;

		if (bfl_read_file(sfd, l.v[i].name, 1u << 30, &b, &len, NULL)) {
			r = -1;
			break;
		}
		while (!r && bfl_seg_next(b, len, off, &it, NULL) == 1) {
			if (it.type == BFL_ITEM_RECORD) {
				r = cb(arg, BFL_FWD_REC, index++, it.data, it.data_len);
			} else {
				struct bfl_checkpoint cp;
				struct bfl_note *n = malloc(sizeof(*n));

				if (!n || bfl_checkpoint_open(it.note, it.note_len, &cp, n, NULL)) {
					free(n);
					r = -1;
					break;
				}
				free(n);
				while (!r && sent < cp.epoch)
					r = store_stream_cert(efd, ++sent, cb, arg);
				if (!r)
					r = cb(arg, BFL_FWD_CP, cp.size, (const u8 *)it.note,
					       it.note_len);
			}
			off += it.len;
		}
		free(b);
		b = NULL;
	}
	while (!r && nep && sent < ep[nep - 1])
		r = store_stream_cert(efd, ++sent, cb, arg);
out:
	free(b);
	free(l.v);
	free(ep);
	if (sfd >= 0)
		close(sfd);
	if (efd >= 0)
		close(efd);
	close(dfd);
	return r;
}

#endif
