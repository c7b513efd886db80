// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target: ATR parsing (lib/idcard/atr.c) on the bytes a card
 * (or a reader) hands back at power-on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "idcard/atr.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	struct atr a;
	char d[200];
	int rc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	rc = atr_parse(buf, size, &a);
	if (rc != 0 && rc != -EBADMSG)
		abort();
	if (rc == -EBADMSG && !a.why)
		abort();
	if (rc == 0) {
		if (a.len != size || a.nhist > 15 || a.levels > ATR_MAX_LEVELS ||
		    !a.protocols || a.first_protocol > 14)
			abort();
		if (a.nhist && (a.hist < a.raw || a.hist + a.nhist > a.raw + a.len))
			abort();
		(void)atr_describe(&a, d, sizeof(d));
		(void)atr_describe(&a, d, 8);
	}
	free(buf);
	return 0;
}
