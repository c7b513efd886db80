/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bioctl - command-line tool for bioreader: reader information, verify
 * a person, policy, statistics, simulated readers and ID-card templates
 * of simulated persons.
 */
#ifndef _BIOCTL_H
#define _BIOCTL_H

#include <stddef.h>
#include <stdint.h>
#include <linux/bioreader.h>

/* Exit status of every command; verify maps verdicts to 0 and 3..9. */
enum bioctl_exit {
	BX_MATCH = 0,		/* success; verify: MATCH */
	BX_ERROR = 1,		/* system or device error */
	BX_USAGE = 2,		/* bad command line */
	BX_NO_MATCH = 3,
	BX_ATTACK = 4,
	BX_INCONCLUSIVE = 5,
	BX_TIMEOUT = 6,
	BX_ABORTED = 7,
	BX_LOCKED = 8,		/* reference locked out (too many failures) */
	BX_BUSY = 9,		/* reader busy with another session */
	BX_CARD = 10,		/* card verify: the ID card was refused */
	BX_CARD_IO = 11,	/* card verify: no card reader, no card, read failed */
};

#define BIOCTL_DEFAULT_DEV	"/dev/bioreader0"
#define BIOCTL_CONFIGFS		"/sys/kernel/config/bioreader_sim"

extern const char *bioctl_prog;

/* "bioctl: fmt: strerror(errno)" style messages on stderr. */
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void err_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse an unsigned decimal/hex number in [min, max]; 0 or -1. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_level(const char *s, uint32_t *level);
const char *level_name(uint32_t level);

int open_reader(const char *dev);
int read_text(const char *path, char *buf, size_t cap);
int write_text(const char *path, const char *val);
/* sysfs directory of a reader node (/sys/dev/char/MAJ:MIN). 0 or -1. */
int reader_sysfs(const char *dev, char *out, size_t cap);

/* Template of a simulated person in the uAPI format; returns length. */
size_t make_template(uint64_t identity, unsigned int dim, uint8_t *buf,
		     size_t cap);

int cmd_info(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_card(int argc, char **argv);
int card_verify(int argc, char **argv);

const char *outcome_words(uint32_t outcome);
const char *reason_words(uint32_t reason);
const char *attack_words(uint32_t cls);

#endif /* _BIOCTL_H */
