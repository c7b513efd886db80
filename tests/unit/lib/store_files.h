/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Whole-file read and write for the tests that damage a store's files
 * the way an attacker or a crash would (test_log_store, test_log_verify).
 */
#ifndef _BIOREADER_TEST_STORE_FILES_H
#define _BIOREADER_TEST_STORE_FILES_H

#include <fcntl.h>
#include <unistd.h>

#include "bflog.h"

/* The file's bytes (malloc'ed, NUL after them), or NULL. */
static inline u8 *slurp(const char *path, size_t *len)
{
	u8 *b = NULL;

	if (bfl_read_file(AT_FDCWD, path, 1 << 26, &b, len, NULL))
		return NULL;
	return b;
}

/* Replaces the file's contents; 0 or -1. */
static inline int spit(const char *path, const void *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok = fd >= 0 && write(fd, b, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

#endif
