/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the VM test programs (tests/vm/t_*.c): simulated
 * reader instances through configfs and their test files in debugfs
 * (fault injection, session capture), finding a reader's device node,
 * ID-card templates of simulated persons, and thin ioctl wrappers.
 *
 * The programs run as root inside the test VM with bioreader.ko and
 * bioreader_sim.ko installed (modprobe finds them).
 */
#ifndef _BRVM_H
#define _BRVM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/bioreader.h>

#define BRVM_CONFIGFS		"/sys/kernel/config/bioreader_sim"
/* Per live device: BRVM_DEBUGFS/<dev_name>/{inject,capture}. */
#define BRVM_DEBUGFS		"/sys/kernel/debug/bioreader-sim"
#define BRVM_EMB_DIM		128

/* Small frames keep the emulated VM fast; the driver does not care. */
#define BRVM_WIDTH		160
#define BRVM_HEIGHT		120
#define BRVM_FPS		30

/* An ioctl number of the reader with any direction, nr and size. */
#define BRVM_IOC(dir, nr, size)	_IOC(dir, BIOREADER_IOC_MAGIC, nr, size)

struct brvm_sim {
	char name[64];		/* configfs directory name */
	char dev_name[64];	/* platform device, "bioreader.N" */
	char node[64];		/* /dev/bioreaderN */
	char cls[128];		/* /sys/class/bioreader/bioreaderN */
	int index;		/* N */
	int live;
};

/* Load configfs + both modules, mount configfs if needed. 0 or -1. */
int brvm_setup(void);
/* Run a shell command; returns its exit status (or -1). */
int brvm_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Create a simulated reader NAME (made unique with the pid), geometry
 * w x h at fps (0 = defaults of this file), make it live and wait for
 * its device node.  Registered for removal at exit.  0 or -1.
 */
int brvm_sim_create(struct brvm_sim *s, const char *name, unsigned int w,
		    unsigned int h, unsigned int fps);
/* live = 1 and wait for the reader's node (after brvm_sim_unlive). */
int brvm_sim_golive(struct brvm_sim *s);
/* (Re)discover the node of a live instance, e.g. after the driver was
 * reloaded; waits up to @ms. */
int brvm_sim_find_node(struct brvm_sim *s, int ms);
/* Write the scene attribute ("empty", "person 42"). 0 or -1. */
int brvm_sim_scene(struct brvm_sim *s, const char *scene);
int brvm_sim_person(struct brvm_sim *s, uint64_t identity);
/*
 * Path of the live instance's debugfs file @file ("inject", "capture")
 * into @path; mounts debugfs first if it is not.  0, or -1 when the
 * instance has no device name (not live) or @path is too small.
 */
int brvm_sim_debugfs(const struct brvm_sim *s, const char *file, char *path,
		     size_t cap);
/* Arm a fault or attack injection ("bad_mac", "stall 250", "none"). */
int brvm_sim_inject(const struct brvm_sim *s, const char *what);
/* live = 0 (removes the devices). 0 or -1 with errno. */
int brvm_sim_unlive(struct brvm_sim *s);
/* live = 0 if needed, then rmdir. 0 or -1. */
int brvm_sim_destroy(struct brvm_sim *s);
/* Remove every instance created by this process (also run at exit). */
void brvm_sim_destroy_all(void);

/* open(node, O_RDWR | O_CLOEXEC) */
int brvm_open(const struct brvm_sim *s);

/* Wait up to ms for a path to exist (want = 1) or to vanish (want = 0). */
int brvm_wait_path(const char *path, int want, int ms);

/* ID-card template of simulated person @identity; returns its length. */
size_t brvm_template(uint64_t identity, unsigned int dim, void *buf,
		     size_t cap);
/* The clean embedding of a simulated person (what the template holds). */
void brvm_embedding(uint64_t identity, unsigned int dim, int8_t *out);

/* SESSION_START; 0 or -1 with errno. @sid may be NULL. */
int brvm_start(int fd, const void *tpl, size_t len, const char *op,
	       uint32_t timeout_ms, uint32_t level, uint64_t *sid);
/* Start with the template of @identity, operator "op-test". */
int brvm_start_id(int fd, uint64_t identity, uint32_t timeout_ms,
		  uint64_t *sid);
/*
 * SESSION_START with the template of @identity, operator "op-test", and
 * the declared origin of the reference (struct version 1): @source,
 * @flags and the CSCA's and the DS's certificate fingerprints, 32 bytes
 * each (NULL: zero).  0 or -1 with errno.
 */
int brvm_start_declared(int fd, uint64_t identity, uint32_t timeout_ms,
			uint32_t source, uint32_t flags, const uint8_t *issuer,
			const uint8_t *signer, uint64_t *sid);
/* SESSION_WAIT; 0 or -1 with errno. */
int brvm_wait(int fd, uint32_t timeout_ms, struct bioreader_verdict *v);
int brvm_abort(int fd);
int brvm_info(int fd, struct bioreader_info *info);
int brvm_get_policy(int fd, struct bioreader_policy *p);
int brvm_set_policy(int fd, const struct bioreader_policy *p);
/* Set or clear BIOREADER_POLICY_ALLOW_NO_LIVENESS. 0 or -1. */
int brvm_allow_no_liveness(int fd, int on);

/* A sysfs statistic of the reader (stats/NAME), or -1 on error. */
long long brvm_stat(const struct brvm_sim *s, const char *name);

int brvm_write_file(const char *path, const char *val);
/* Reads at most cap-1 bytes, NUL-terminates, strips a trailing newline. */
int brvm_read_file(const char *path, char *buf, size_t cap);

const char *brvm_outcome_name(uint32_t outcome);
const char *brvm_reason_name(uint32_t reason);
/* "# verdict: OUTCOME/REASON class=.. flags=.. sid=.." */
void brvm_diag_verdict(const char *what, const struct bioreader_verdict *v);

/* Monotonic milliseconds. */
long long brvm_now_ms(void);
void brvm_sleep_ms(int ms);

/*
 * The audit channel.  Sessions need an attached consumer (fail closed),
 * so the suite runs a background drain, `bioctl audit drain`, that
 * appends every record to BRVM_DRAIN_OUT and acknowledges it.  A program
 * that unloads bioreader (the open node pins the module) or wants to be
 * the consumer itself stops it first and starts it again after.
 */
#define BRVM_AUDIT_DEV		"/dev/bioreader-audit"
#define BRVM_AUDIT_SYSFS	"/sys/class/misc/bioreader-audit"
#define BRVM_BOOT_ID_PARAM	"/sys/module/bioreader/parameters/boot_id"
#define BRVM_DRAIN_PIDFILE	"/run/bioreader-audit-drain.pid"
#define BRVM_DRAIN_OUT		"/tmp/bioreader-audit.bin"

/* pid of the running background drain, 0 if none. */
int brvm_drain_pid(void);
/*
 * Start the background drain (unless one runs) with extra drain
 * options @opts (NULL: none; e.g. "--no-ack"), writing to @out (NULL:
 * BRVM_DRAIN_OUT); waits until it is attached.  0 or -1.
 */
int brvm_drain_start_opts(const char *out, const char *opts);
int brvm_drain_start(void);
/* Stop it and wait until the node is free. 0 or -1. */
int brvm_drain_stop(void);
/* A number from /sys/class/misc/bioreader-audit/NAME, or -1. */
long long brvm_audit_attr(const char *name);
/* Load bioreader with the boot id (and @params, may be NULL). 0 or -1. */
int brvm_load_bioreader(const char *params);

/* A SESSION_WAIT in a thread of its own (pthread_create(.., brvm_waiter_run, w)). */
struct brvm_waiter {
	int fd;
	uint32_t timeout_ms;	/* 0: 20 s */
	int ret, err;		/* brvm_wait()'s result and errno */
	struct bioreader_verdict v;
};
void *brvm_waiter_run(void *arg);

#endif /* _BRVM_H */
