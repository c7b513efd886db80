/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Helpers shared by store.c, recover.c, segment.c and verify.c; not part
 * of the library API. */
#ifndef BFLOG_INTERNAL_H
#define BFLOG_INTERNAL_H

#include <time.h>

#include "bflog.h"

#define BFL_SEG_NAME_LEN	24	/* 20 digits + ".seg" */
#define BFL_SEG_FILE_MAX	(1ULL << 31)
#define BFL_LOG_INFO		"log-info"
#define BFL_LOG_INFO_MAGIC	"bioflow-store v3\n"
#define BFL_LOG_INFO_PREFIX	"bioflow-store v"

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
/* Whether all len bytes are zero (what a power cut leaves unwritten). */
bool bfl_all_zero(const u8 *b, size_t len);
/* Replaces e's message by "prefix: message" with a new code; returns it. */
int bfl_rewrap(struct bfl_err *e, int code, const char *prefix);

/* ------------------------------------------ the writer (store.c) */

#define BFL_CP_CAP		BFL_CPE_NOTE_MAX	/* a signed checkpoint note */
#define BFL_CERT_CAP		4096	/* an epoch certificate file */
#define BFL_WBUF_SIZE		(1U << 20)

/*
 * An open store.  Owned by one thread; no locking.  The invariants:
 * tree covers every record written to the segments (sealed or not);
 * sealed <= tree.size is the size of the last checkpoint entry made
 * durable; cp_text is that checkpoint.  failed: an I/O error left the
 * on-disk state unknown, so nothing more is written until a reopen
 * recovers it.
 */
struct bfl_store {
	int dirfd, segdirfd, epdirfd;
	char origin[BFL_NAME_MAX + 1];
	struct bfl_root_signer *rs;
	struct bfl_store_opts opts;
	struct bfl_tree tree;
	u64 sealed;
	bool failed;

	int segfd;		/* -1: none yet */
	u64 seg_first;		/* its first leaf index */
	u64 seg_bytes;
	bool segdir_dirty;

	struct bfl_epoch_key key;
	/* The certificate of the last certified epoch (the current one, or
	 * one whose start was interrupted) and the counter it attests. */
	char cert[BFL_CERT_CAP];
	size_t cert_len;
	u64 cert_nv;
	u64 cert_epoch;
	bool have_cert;
	u64 epoch_start;	/* tree size */
	time_t epoch_time;

	bool have_last;
	u8 last_stream[BFL_STREAM_SIZE];
	u64 last_seq;

	char cp_text[BFL_CP_CAP];	/* latest checkpoint sealed */
	size_t cp_len;
	u64 cp_epoch;			/* the epoch that signed it */
	bool cp_file_stale;		/* the checkpoint file is older */
	struct timespec cp_file_time;	/* when it was last replaced */

	u8 *wbuf;			/* BFL_WBUF_SIZE bytes */
	size_t wlen;
};

/* recover.c: the recovery half of bfl_store_open() (docs/log-format.md,
 * "Recovery rules").  Rebuilds st->tree, the sealed checkpoint and the
 * last kernel seq from the segments, cuts the unsealed tail, and leaves
 * st->segfd open on the last segment; -EUCLEAN if sealed data is
 * damaged or missing.  *last_epoch: the highest certified epoch. */
int bfl_store_recover(struct bfl_store *st, struct bfl_recovery *rep,
		      u64 *last_epoch, struct bfl_err *e);
/* store.c, for recovery: fsync or fdatasync unless opts.no_sync. */
int bfl_store_sync(const struct bfl_store *st, int fd, bool data);

#endif /* BFLOG_INTERNAL_H */
