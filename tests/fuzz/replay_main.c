// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Corpus replay without libFuzzer: runs a fuzz target over every file
 * named on the command line (or in the directories named), so the fixed
 * corpus is part of the ordinary test run with any compiler.  Prints KTAP,
 * one result per file.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ktap.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int count_or_run(const char *path, int run)
{
	struct stat st;
	int n = 0;

	if (stat(path, &st))
		return 0;
	if (S_ISDIR(st.st_mode)) {
		struct dirent **ents;
		int i, k = scandir(path, &ents, NULL, alphasort);

		for (i = 0; i < k; i++) {
			char sub[4096];

			if (ents[i]->d_name[0] != '.') {
				snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
				n += count_or_run(sub, run);
			}
			free(ents[i]);
		}
		free(k > 0 ? ents : NULL);
		return n;
	}
	if (run) {
		FILE *f = fopen(path, "rb");
		unsigned char *buf = malloc(st.st_size ? st.st_size : 1);
		size_t got = 0;

		if (f && buf)
			got = fread(buf, 1, st.st_size, f);
		if (f)
			fclose(f);
		/* A crash here kills the program: the runner counts that as a failure. */
		LLVMFuzzerTestOneInput(buf, got);
		free(buf);
		ktap_check(got == (size_t)st.st_size, path);
	}
	return 1;
}

int main(int argc, char **argv)
{
	int i, n = 0;

	for (i = 1; i < argc; i++)
		n += count_or_run(argv[i], 0);
	ktap_plan(n);
	for (i = 1; i < argc; i++)
		count_or_run(argv[i], 1);
	return ktap_finish();
}
