/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The audit daemon in the VM tests: provisioning the TPM root signer,
 * starting and stopping bioflowd on the real audit node, finding its
 * worker, and running bioflow-verify (docs/bioflowd.md, docs/tpm.md).
 */
#ifndef _BRVM_FLOW_H
#define _BRVM_FLOW_H

#include <stdint.h>
#include <sys/types.h>
#include <linux/bioreader_audit.h>

#define BRVM_TPM_DEV		"/dev/tpmrm0"
#define BRVM_TPM_TCTI		"device:/dev/tpmrm0"

/*
 * Provision the TPM root (key + NV counter) or, when it is provisioned
 * already, export its public key again; writes the root public key PEM
 * to @pubkey.  0 or -1.
 */
int brvm_flow_provision(const char *pubkey);

struct brvm_flow {
	pid_t pid;		/* the monitor */
	char store[256];
	char log[256];		/* its stderr */
};

/*
 * Start `bioflowd --tpm TCTI --user nobody --store STORE` (@extra: more
 * options, may be NULL) with stderr appended to @log, and wait until it
 * is the attached consumer of the audit node.  0 or -1 (then it is
 * stopped again).
 */
int brvm_flow_start(struct brvm_flow *f, const char *store, const char *log,
		    const char *extra);
/* SIGTERM, wait; the daemon's exit status, or -1 (killed, timed out). */
int brvm_flow_stop(struct brvm_flow *f);
/* pid of the daemon's worker (a child of the monitor), 0 if none. */
pid_t brvm_flow_worker(const struct brvm_flow *f);
/* Wait up to @ms for a worker other than @old to be the consumer. */
pid_t brvm_flow_wait_worker(const struct brvm_flow *f, pid_t old, int ms);
/*
 * The store at @store holds the VERDICT record of session @sid exactly
 * once, and its seq is @seq (the verdict's audit_seq).  1 or 0.
 */
int brvm_flow_verdict_in_store(const char *store, uint64_t sid, uint64_t seq);
/*
 * The store at @store holds the SESSION_START record of session @sid
 * exactly once, of format version 2 and 232 bytes, and its reference
 * block is @want byte for byte; its leaf index goes to *@index.  1 or 0.
 */
int brvm_flow_start_in_store(const char *store, uint64_t sid,
			     const struct bioreader_audit_reference *want,
			     uint64_t *index);
/* bioflow-verify --root-key PUBKEY STORE; its exit status. */
int brvm_flow_verify(const char *pubkey, const char *store);

#endif /* _BRVM_FLOW_H */
