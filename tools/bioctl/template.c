// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioctl template: the "ID card" template of a simulated person, in the
 * uAPI template format, from the same identity model the simulated
 * reader uses.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bioctl.h"
#include "bioreader_hw.h"
#include "sim/sim_identity.h"

size_t make_template(uint64_t identity, unsigned int dim, uint8_t *buf,
		     size_t cap)
{
	return dim > UINT16_MAX ? 0 : sim_identity_template(identity, (u16)dim,
							   buf, cap);
}

int cmd_template(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "identity", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "dim", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t buf[BIOREADER_TEMPLATE_HDR_SIZE + BRHW_EMB_MAX];
	uint64_t identity = 0, dim = 128;
	const char *out = NULL;
	int c, fd, have_id = 0;
	size_t len;
	ssize_t n;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_u64(optarg, 0, UINT64_MAX, &identity)) {
				err_msg("template: bad identity '%s'", optarg);
				return BX_USAGE;
			}
			have_id = 1;
			break;
		case 'o': out = optarg; break;
		case 'D':
			if (parse_u64(optarg, 1, BRHW_EMB_MAX, &dim)) {
				err_msg("template: dim must be 1..%d",
					BRHW_EMB_MAX);
				return BX_USAGE;
			}
			break;
		default:
			return BX_USAGE;
		}
	}
	if (optind != argc || !have_id || !out) {
		err_msg("usage: bioctl template --identity N -o FILE [--dim D]");
		return BX_USAGE;
	}
	len = make_template(identity, dim, buf, sizeof(buf));
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_errno("cannot create %s", out);
		return BX_ERROR;
	}
	n = write(fd, buf, len);
	if (n != (ssize_t)len || close(fd)) {
		err_errno("cannot write %s", out);
		return BX_ERROR;
	}
	printf("wrote the template of simulated person %llu to %s (%zu bytes, %u dimensions)\n",
	       (unsigned long long)identity, out, len, (unsigned int)dim);
	return 0;
}
