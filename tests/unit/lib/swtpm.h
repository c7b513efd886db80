/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * A private software TPM (swtpm, socket mode) for unit tests that talk
 * to a TPM through tpm2-tss's swtpm TCTI.
 *
 *	struct swtpm s;
 *	if (swtpm_missing()) -> skip, with that reason
 *	swtpm_start(&s);	// fresh state under a mkdtemp directory
 *	... s.tcti is "swtpm:host=127.0.0.1,port=N" ...
 *	swtpm_stop(&s, SIGKILL);	// a power cut (state directory kept)
 *	swtpm_start(&s);	// same state, same port if still free
 *	swtpm_destroy(&s);	// stop and remove the directory
 *
 * The TPM listens on 127.0.0.1 only, on a random free even port N (the
 * control channel on N + 1, as the TCTI expects), keeps its state in an
 * absolute directory, and is started with TPM2_Startup(CLEAR) done.  It
 * is killed when the test exits (atexit) or dies (PR_SET_PDEATHSIG).
 */
#ifndef BIOFLOW_TEST_SWTPM_H
#define BIOFLOW_TEST_SWTPM_H

#include <sys/types.h>

struct swtpm {
	pid_t pid;		/* 0: not running */
	int port;		/* command port; control is port + 1 */
	char base[200];		/* the mkdtemp directory (absolute) */
	char state[240];	/* base/state: --tpmstate dir */
	char log[240];		/* base/swtpm.log: its stdout and stderr */
	char tcti[64];		/* tctildr string for this instance */
};

/* NULL if swtpm can be run, else why not (for a SKIP line). */
const char *swtpm_missing(void);
/* Starts the instance (creating its directory the first time).
 * 0 or a negative errno. */
int swtpm_start(struct swtpm *s);
/* Stops it with sig (SIGTERM, or SIGKILL for a power cut) and reaps it;
 * the state directory stays. */
int swtpm_stop(struct swtpm *s, int sig);
/* Stops it and removes its directory. */
void swtpm_destroy(struct swtpm *s);
/* A tctildr string for a port on which nothing listens. */
void swtpm_dead_tcti(char *out, size_t cap);

#endif
