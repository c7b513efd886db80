// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioflow-verify: offline verification of a bioflow audit log store (or
 * of one record's inclusion proof) against the root public key exported
 * at provisioning.  docs/log-format.md describes every check.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bflog.h"
#include "witness.h"

#define MAX_WITNESSES 8

static const char *prog = "bioflow-verify";

/* A witness verifier key, given as it is or in a file (its first line). */
static int load_vkey(const char *arg, struct bfl_cosigner *w)
{
	char line[BFL_VKEY_MAX + 2];
	struct bfl_err e = { 0 };
	FILE *f = strchr(arg, '+') ? NULL : fopen(arg, "r");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
		line[strcspn(line, "\r\n")] = 0;
		arg = line;
	}
	if (bfl_cosigner_from_vkey(w, arg, &e)) {
		fprintf(stderr, "%s: --witness %s: %s\n", prog, arg, e.msg);
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: bioflow-verify [--json] [--since CHECKPOINT] [--nv-counter N]\n"
"                      [--witness VKEY]... [--cosigned CHECKPOINT]\n"
"                      --root-key PEM STORE_DIR\n"
"       bioflow-verify [--json] --inclusion RECORD PROOF CHECKPOINT\n"
"                      --root-key PEM\n"
"       bioflow-verify --export-proof INDEX --out DIR STORE_DIR\n"
"\n"
"Verifies a bioflow audit log store offline: epoch certificates against\n"
"the root key, checkpoint signatures, the Merkle tree over every record,\n"
"consistency between checkpoints, NV-counter monotonicity, kernel\n"
"sequence gaps, duplicates and reordering, truncation and rollback.\n"
"\n"
"  --root-key PEM     the root public key (exported at provisioning)\n"
"  --since FILE       a checkpoint seen earlier: the store must extend it\n"
"                     (catches truncation or rollback below it)\n"
"  --witness VKEY     a witness's verifier key (<name>+<key ID>+<key>, or a\n"
"                     file holding it; up to 8): its tlog-cosignature must\n"
"                     be on the --since/--cosigned checkpoint, or without\n"
"                     one on the store's checkpoint file\n"
"  --cosigned FILE    a checkpoint cosigned by the witnesses (--since with\n"
"                     --witness required), e.g. a collector's\n"
"                     witness/latest or a forwarder's cosigs/ note\n"
"  --nv-counter N     the root signer's counter as read now: the last\n"
"                     epoch must attest exactly N-1 (catches removal of\n"
"                     whole epochs and rollback; N: a warning)\n"
"  --json             one JSON object on stdout instead of text\n"
"  --inclusion R P C  check that record file R is in the tree signed by\n"
"                     checkpoint C, with proof file P (which carries the\n"
"                     epoch certificate)\n"
"  --export-proof I   write DIR/record, DIR/proof and DIR/checkpoint for\n"
"                     leaf index I against the store's latest checkpoint\n"
"  -q, --quiet        no progress indicator\n"
"\n"
"Exit status:\n"
"  0  verified\n"
"  1  verification failed: the store is not what was sealed (the first\n"
"     problem is named on the first line of the report)\n"
"  2  bad command line\n"
"  3  the store or a file could not be read (missing, permission, I/O)\n"
"  4  verified, with warnings (records after the latest checkpoint are\n"
"     not sealed, a torn last entry, an empty checkpoint copy: a writer\n"
"     is running or was interrupted)\n");
}

static void progress(void *arg, u64 done, u64 total)
{
	static time_t last;
	time_t now = time(NULL);

	(void)arg;
	if (total < (8ULL << 20) || (now == last && done < total))
		return;
	last = now;
	fprintf(stderr, "\rverifying: %3llu%% (%llu of %llu MiB)",
		(unsigned long long)(total ? done * 100 / total : 100),
		(unsigned long long)(done >> 20), (unsigned long long)(total >> 20));
	if (done >= total)
		fprintf(stderr, "\n");
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch == '\n')
			printf("\\n");
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static const char *verdict_name(enum bfl_verdict v)
{
	switch (v) {
	case BFL_OK:
		return "ok";
	case BFL_FAIL:
		return "failed";
	case BFL_WARN:
		return "ok-with-warnings";
	case BFL_UNREADABLE:
		return "unreadable";
	default:
		return "usage";
	}
}

static const char *sev_name(enum bfl_severity s)
{
	return s == BFL_SEV_ERROR ? "error" : s == BFL_SEV_WARN ? "warning" : "info";
}

/* The included record of --inclusion: what it is, and for a SESSION_START
 * the declared origin of the session's reference. */
static void print_json_record(const struct bfl_record *rec)
{
	char boot[33], hex[2 * BFL_HASH_SIZE + 1];

	bfl_boot_id_hex(rec->boot_id, boot);
	printf(",\"record\":{\"type\":\"%s\",\"version\":%u,\"size\":%u,"
	       "\"boot_id\":\"%s\",\"stream_id\":\"%016llx\",\"seq\":%llu,"
	       "\"session_id\":%llu",
	       bfl_record_type_name(rec->type), rec->version, rec->size, boot,
	       (unsigned long long)rec->stream_id, (unsigned long long)rec->seq,
	       (unsigned long long)rec->session_id);
	if (rec->has_ref) {
		printf(",\"reference\":{\"source\":\"%s\",\"flags\":%u,",
		       bfl_ref_source_name(rec->ref_source), rec->ref_flags);
		bfl_hex(rec->ref_issuer, BFL_HASH_SIZE, hex);
		printf("\"issuer_sha256\":\"%s\",", hex);
		bfl_hex(rec->ref_signer, BFL_HASH_SIZE, hex);
		printf("\"signer_sha256\":\"%s\"}", hex);
	}
	printf("}");
}

static void print_json(const char *subject, const struct bfl_verify_result *r,
		       const struct bfl_record *rec)
{
	char root[48];
	unsigned int i;

	bfl_b64_encode(r->root, BFL_HASH_SIZE, root);
	printf("{\"subject\":");
	json_str(subject);
	printf(",\"result\":\"%s\",\"exit\":%d,\"origin\":", verdict_name(r->verdict),
	       (int)r->verdict);
	json_str(r->origin);
	printf(",\"records\":%llu,\"tree_size\":%llu,\"root\":\"%s\",\"epochs\":%llu,"
	       "\"checkpoints\":%llu,\"boots\":%llu,\"nv_counter\":%llu,"
	       "\"errors\":%u,\"warnings\":%u,",
	       (unsigned long long)r->records, (unsigned long long)r->sealed, root,
	       (unsigned long long)r->epochs, (unsigned long long)r->checkpoints,
	       (unsigned long long)r->boots, (unsigned long long)r->last_nv,
	       r->nerrors, r->nwarn);
	printf("\"latest_checkpoint\":");
	if (r->checkpoint_text)
		json_str(r->checkpoint_text);
	else
		printf("null");
	printf(",\"findings\":[");
	for (i = 0; i < r->nfind; i++) {
		printf("%s{\"severity\":\"%s\",\"kind\":", i ? "," : "",
		       sev_name(r->find[i].sev));
		json_str(r->find[i].kind);
		printf(",\"where\":");
		json_str(r->find[i].where);
		printf(",\"message\":");
		json_str(r->find[i].msg);
		printf("}");
	}
	printf("]");
	if (rec)
		print_json_record(rec);
	printf("}\n");
}

static void print_text(const char *subject, const struct bfl_verify_result *r,
		       bool inclusion)
{
	const struct bfl_finding *first = bfl_first_error(r);
	unsigned int i;

	if (first)
		printf("%s: FAILED: %s: %s [%s]\n", subject, first->where, first->msg,
		       first->kind);
	else if (r->verdict == BFL_WARN)
		printf("%s: VERIFIED WITH WARNINGS\n", subject);
	else if (r->verdict == BFL_UNREADABLE)
		printf("%s: UNREADABLE\n", subject);
	else
		printf("%s: VERIFIED\n", subject);
	if (r->origin[0])
		printf("  origin:      %s\n", r->origin);
	if (inclusion) {
		printf("  tree size:   %llu\n", (unsigned long long)r->sealed);
	} else {
		printf("  records:     %llu (%llu sealed by the latest checkpoint)\n",
		       (unsigned long long)r->records, (unsigned long long)r->sealed);
		printf("  epochs:      %llu (NV counter %llu), checkpoints verified: %llu, boots: %llu\n",
		       (unsigned long long)r->epochs, (unsigned long long)r->last_nv,
		       (unsigned long long)r->checkpoints, (unsigned long long)r->boots);
	}
	if (r->nfind) {
		printf("  findings (%u errors, %u warnings):\n", r->nerrors, r->nwarn);
		for (i = 0; i < r->nfind; i++)
			printf("    %-7s %-20s %s: %s\n", sev_name(r->find[i].sev),
			       r->find[i].kind, r->find[i].where, r->find[i].msg);
		if (r->nerrors + r->nwarn > r->nfind)
			printf("    (more not shown)\n");
	}
	if (r->checkpoint_text && !first) {
		printf("  latest checkpoint:\n");
		fputs(r->checkpoint_text, stdout);
	}
}

static int read_whole(const char *path, u8 **buf, size_t *len, size_t max)
{
	struct bfl_err e = { 0 };

	if (bfl_read_file(AT_FDCWD, path, max, buf, len, &e)) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ "witness", required_argument, NULL, 'w' },
		{ "cosigned", required_argument, NULL, 'c' },
		{ "root-key", required_argument, NULL, 'k' },
		{ "nv-counter", required_argument, NULL, 'n' },
		{ "inclusion", no_argument, NULL, 'i' },
		{ "export-proof", required_argument, NULL, 'x' },
		{ "out", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *since = NULL, *keyfile = NULL, *export = NULL, *out = NULL,
		   *cosigned = NULL;
	struct bfl_cosigner wit[MAX_WITNESSES];
	unsigned int nwit = 0, i;
	bool json = false, inclusion = false, quiet = false, have_incl = false;
	struct bfl_record incl;
	struct bfl_verify_opts vo;
	struct bfl_verify_result res;
	struct bfl_err e = { 0 };
	struct bfl_key root;
	EVP_PKEY *pk;
	u8 *sbuf = NULL;
	size_t slen = 0;
	int c, rc;

	memset(&vo, 0, sizeof(vo));
	while ((c = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			since = optarg;
			break;
		case 'c':
			cosigned = optarg;
			break;
		case 'w':
			if (nwit == MAX_WITNESSES) {
				fprintf(stderr, "%s: at most %d --witness\n", prog, MAX_WITNESSES);
				return BFL_USAGE;
			}
			if (load_vkey(optarg, &wit[nwit]))
				return BFL_USAGE;
			nwit++;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'n':
			if (bfl_parse_u64(optarg, strlen(optarg), &vo.nv_counter)) {
				fprintf(stderr, "%s: --nv-counter wants a number\n", prog);
				return BFL_USAGE;
			}
			vo.have_nv = true;
			break;
		case 'i':
			inclusion = true;
			break;
		case 'x':
			export = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return BFL_USAGE;
		}
	}

	if (export) {
		u64 idx;

		if (!out || optind + 1 != argc ||
		    bfl_parse_u64(export, strlen(export), &idx)) {
			usage(stderr);
			return BFL_USAGE;
		}
		if (bfl_store_export_proof(argv[optind], idx, out, &e)) {
			fprintf(stderr, "%s: %s\n", prog, e.msg);
			return e.code == -ERANGE ? BFL_USAGE : BFL_UNREADABLE;
		}
		printf("wrote %s/record, %s/proof, %s/checkpoint\n", out, out, out);
		return 0;
	}
	if (cosigned && (since || !nwit)) {
		fprintf(stderr, "%s: --cosigned needs --witness and replaces --since\n", prog);
		return BFL_USAGE;
	}
	if (cosigned)
		since = cosigned;
	vo.witness = wit;
	vo.nwitness = nwit;
	if (!keyfile || (inclusion ? optind + 3 != argc : optind + 1 != argc) ||
	    (inclusion && (since || vo.have_nv || nwit))) {
		usage(stderr);
		return BFL_USAGE;
	}
	pk = bfl_read_pubkey_pem(keyfile, &e);
	if (!pk) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return BFL_UNREADABLE;
	}
	rc = bfl_key_init(&root, BFL_ROOT_KEY_NAME, pk, &e);
	EVP_PKEY_free(pk);
	if (rc) {
		fprintf(stderr, "%s: %s: %s\n", prog, keyfile, e.msg);
		return BFL_UNREADABLE;
	}

	if (inclusion) {
		u8 *rec = NULL, *proof = NULL, *cp = NULL;
		size_t rl, pl, cl;

		if (read_whole(argv[optind], &rec, &rl, BFL_RECORD_MAX) ||
		    read_whole(argv[optind + 1], &proof, &pl, 64 * 1024) ||
		    read_whole(argv[optind + 2], &cp, &cl, BFL_NOTE_MAX)) {
			free(rec);
			free(proof);
			free(cp);
			bfl_key_free(&root);
			return BFL_UNREADABLE;
		}
		bfl_verify_inclusion_files(rec, rl, (const char *)proof, pl,
					   (const char *)cp, cl, &root, &res);
		if (res.verdict == BFL_OK &&
		    bfl_record_parse(rec, rl, &incl, NULL) > 0) {
			char d[160], ref[BFL_REF_TEXT_MAX];

			have_incl = true;
			bfl_record_describe(&incl, d, sizeof(d));
			bfl_record_ref_text(&incl, ref, sizeof(ref));
			if (!json)
				printf("%s: included: %s%s%s\n", argv[optind], d,
				       ref[0] ? " " : "", ref);
		}
		free(rec);
		free(proof);
		free(cp);
	} else {
		if (since) {
			if (read_whole(since, &sbuf, &slen, BFL_NOTE_MAX)) {
				bfl_key_free(&root);
				return BFL_UNREADABLE;
			}
			vo.since = (const char *)sbuf;
			vo.since_len = slen;
		}
		if (!quiet && !json && isatty(2))
			vo.progress = progress;
		bfl_verify_store(argv[optind], &root, &vo, &res);
	}
	if (json)
		print_json(argv[inclusion ? optind + 2 : optind], &res,
			   have_incl ? &incl : NULL);
	else
		print_text(inclusion ? argv[optind] : argv[optind], &res, inclusion);
	rc = (int)res.verdict;
	bfl_verify_result_free(&res);
	bfl_key_free(&root);
	for (i = 0; i < nwit; i++)
		bfl_cosigner_free(&wit[i]);
	free(sbuf);
	return rc;
}
