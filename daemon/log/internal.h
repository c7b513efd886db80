/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Helpers shared by store.c and verify.c; not part of the library API. */
#ifndef BFLOG_INTERNAL_H
#define BFLOG_INTERNAL_H

#include "bflog.h"

#define BFL_SEG_NAME_LEN	24	/* 20 digits + ".seg" */
#define BFL_SEG_FILE_MAX	(1ULL << 31)
#define BFL_LOG_INFO		"log-info"
#define BFL_LOG_INFO_MAGIC	"bioflow-store v1\n"

struct bfl_seg {
	char name[BFL_SEG_NAME_LEN + 1];
	u64 first;		/* from the name */
};

struct bfl_seg_list {
	unsigned int n;
	struct bfl_seg *v;
	unsigned int bad;	/* entries that look like segments but are not */
	char bad_name[64];
};

/* Segment files in index order.  Other files are ignored; names that
 * start like a segment but are malformed are counted in bad. */
int bfl_list_segments(int segdirfd, struct bfl_seg_list *l,
		      struct bfl_err *e);
/* Epoch numbers having a .cert file, sorted; also .final. */
int bfl_list_epochs(int epdirfd, u64 **epochs, unsigned int *n,
		    struct bfl_err *e);
/* Checks a segment header; 0 or -EBADMSG with e set. */
int bfl_seg_header_check(const u8 *buf, size_t len, u64 *first,
			 struct bfl_err *e);
void bfl_seg_header_make(u8 hdr[BFL_SEG_HDR_SIZE], u64 first);
int bfl_read_log_info(int dirfd, char *origin, struct bfl_err *e);
void bfl_epoch_file(char *out, size_t cap, u64 epoch, const char *ext);
void bfl_remove_tmp(int dirfd, unsigned int *count);

#endif /* BFLOG_INTERNAL_H */
