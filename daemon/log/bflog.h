/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * bioflow transparency log: the tamper-evident store of audit records
 * that bioflowd writes and bioflow-verify checks.  docs/log-format.md
 * describes every format in here.
 *
 *   record.c     audit record parsing and validation (versions 1 and 2:
 *                160 bytes, 232 for a version-2 SESSION_START)
 *   merkle.c     RFC 9162 section 2.1 tree hashing, inclusion and
 *                consistency proofs (generation and verification)
 *   note.c       C2SP signed notes: parse, sign, verify, key IDs
 *   checkpoint.c C2SP tlog-checkpoint bodies
 *   epoch.c      epoch keys (Ed25519), epoch certificates, the root
 *                signer interface
 *   attest.c     TPM2_NV_Certify attestations of the counter
 *   softroot.c   the software root signer (tests; the TPM one plugs into
 *                the same interface)
 *   tpmroot.c    the TPM root signer (tpm2-tss): key, NV counter,
 *                provisioning
 *   store.c      the append-only store: segments, group commit, epochs,
 *                crash recovery, proofs
 *   verify.c     the offline verifier
 *   fwdmsg.c     forwarding messages: one store item per syslog message
 *                (fwdmsg.h)
 *   mirror.c     the mirror writer: a store rebuilt from an appliance's
 *                forwarded items, checked as they come (mirror.h)
 *   witness.c    tlog-witness requests and tlog-cosignature
 *                cosignatures (witness.h)
 *   util.c       errors, base64, file helpers
 *
 * Every function that can fail returns 0 or a negative errno and, when
 * given a struct bfl_err, a sentence saying what went wrong.  Every size
 * read from a file is treated as hostile.
 */
#ifndef BFLOG_H
#define BFLOG_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include <openssl/evp.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

/* Little-endian fields of the kernel's records and the store, at any alignment. */
static inline u32 bfl_get_le32(const void *p)
{
	u32 v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static inline u64 bfl_get_le64(const void *p)
{
	u64 v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static inline void bfl_put_le32(void *p, u32 v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static inline void bfl_put_le64(void *p, u64 v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

#define BFL_HASH_SIZE		32
#define BFL_RECORD_MIN		160	/* BIOREADER_AUDIT_RECORD_SIZE */
#define BFL_RECORD_REF_SIZE	232	/* a SESSION_START with its reference */
#define BFL_RECORD_MAX		4096	/* later record versions may grow */
/* A signed note read from a file: a checkpoint, perhaps with others'
 * cosignatures (note.c says why this size). */
#define BFL_NOTE_MAX		(128 * 1024)
#define BFL_NOTE_SIGS_MAX	100	/* signature lines in one note */
/* The note in a checkpoint entry of a segment (the store format). */
#define BFL_CPE_NOTE_MAX	16384
#define BFL_NAME_MAX		255	/* origin and the key names we make */
#define BFL_SIG_MAX		1024	/* one raw signature by a key we verify */
#define BFL_PROOF_MAX		64	/* hashes in one proof */
#define BFL_ROOT_KEY_NAME	"bioflow-root"

/* ------------------------------------------------------------ errors -- */

struct bfl_err {
	int code;		/* negative errno, 0 if none */
	char msg[512];
};

int bfl_errf(struct bfl_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------ util.c -- */

/* Standard base64 with padding (RFC 4648 section 4); out needs
 * 4 * ((n + 2) / 3) + 1 bytes; returns the length written. */
size_t bfl_b64_encode(const u8 *in, size_t n, char *out);
/* Strict decode: canonical padding only; -EINVAL on anything else.
 * out NULL: only check the input and set *outlen (cap is not used). */
int bfl_b64_decode(const char *in, size_t n, u8 *out, size_t cap,
		   size_t *outlen);
/* Whole file into a malloc'ed buffer (NUL-terminated), at most max bytes.
 * Opened with O_NONBLOCK | O_NOFOLLOW: anything but a regular file (a
 * FIFO, a socket, a device, a directory, a symbolic link) is -EINVAL,
 * without waiting and without reading it. */
int bfl_read_file(int dirfd, const char *path, size_t max, u8 **buf,
		  size_t *len, struct bfl_err *e);
/* "FIFO", "directory", ... for an st_mode. */
const char *bfl_file_type(unsigned int mode);
/* Durable replace: NAME.tmp, write, fsync, rename over NAME, fsync dir. */
int bfl_write_atomic(int dirfd, const char *name, const void *buf,
		     size_t len, struct bfl_err *e);
/* The same; without the two fsyncs unless durable (a crash may then
 * leave the old file, the new one, or an empty one). */
int bfl_write_replace(int dirfd, const char *name, const void *buf,
		      size_t len, bool durable, struct bfl_err *e);
/* Strict decimal u64: no sign, no leading zeros (except "0"). */
int bfl_parse_u64(const char *s, size_t n, u64 *out);
void bfl_sha256(const void *a, size_t alen, const void *b, size_t blen,
		u8 out[BFL_HASH_SIZE]);

/* ---------------------------------------------------------- record.c -- */

/* A kernel record stream: boot id and the module load's stream id. */
#define BFL_STREAM_SIZE		24

/* Host-order view of one struct bioreader_audit_record. */
struct bfl_record {
	u32 version;
	u32 size;		/* bytes the record occupies */
	u64 seq;
	u8 boot_id[16];
	u64 mono_ns;
	u64 real_ns;
	u32 type;
	u32 reader;
	u64 session_id;
	u32 uid;
	u32 pid;
	u64 actor_start_ns;
	char operator_id[33];
	u32 outcome;
	u32 reason;
	u32 attack_class;
	u32 flags;
	u64 stream_id;
	u32 detail[6];
	/* boot_id || stream_id (little-endian): the unit kernel seq counts in */
	u8 stream[BFL_STREAM_SIZE];
	/* A SESSION_START of version 2 on carries struct
	 * bioreader_audit_reference: where the session's reference template
	 * came from, as the process that started it declared it. */
	bool has_ref;
	u32 ref_source;		/* BIOREADER_REF_SOURCE_* */
	u32 ref_flags;		/* BIOREADER_REF_* */
	u8 ref_issuer[BFL_HASH_SIZE];	/* SHA-256 of the CSCA certificate */
	u8 ref_signer[BFL_HASH_SIZE];	/* SHA-256 of the DS certificate */
};

/* Parse the record at buf (avail bytes there).  Returns its size (> 0)
 * or -EBADMSG (bad magic/version/size/field), -ENODATA (avail too short).
 * Versions 1 and 2 are checked in full; a later version by the rules
 * they share (it may only append fields). */
int bfl_record_parse(const u8 *buf, size_t avail, struct bfl_record *r,
		     struct bfl_err *e);
const char *bfl_record_type_name(u32 type);
/* "none", "icao-pa", or "unknown" for a BIOREADER_REF_SOURCE_*. */
const char *bfl_ref_source_name(u32 source);
/* For a record with a reference block: "ref_source=icao-pa ref_flags=0x5
 * ref_issuer_sha256=<64 hex> ref_signer_sha256=<64 hex>"; else "".
 * out needs BFL_REF_TEXT_MAX bytes for all of it. */
#define BFL_REF_TEXT_MAX	256
void bfl_record_ref_text(const struct bfl_record *r, char *out, size_t cap);
/* Lower-case hex of n bytes; out needs 2 * n + 1 bytes. */
void bfl_hex(const u8 *in, size_t n, char *out);
/* True for records the kernel numbers (all but BIOREADER_AUDIT_DAEMON). */
bool bfl_record_is_kernel(const struct bfl_record *r);
/* "boot 1a2b3c4d seq 42 VERDICT reader 0 session 7" */
void bfl_record_describe(const struct bfl_record *r, char *out, size_t cap);
/* A DAEMON record's event in words (its detail[]). */
void bfl_daemon_event_text(const struct bfl_record *r, char *out, size_t cap);
void bfl_boot_id_hex(const u8 boot_id[16], char out[33]);
/* "<boot id hex>/<stream id hex>" */
void bfl_stream_hex(const u8 stream[BFL_STREAM_SIZE], char out[50]);

/* ---------------------------------------------------------- merkle.c -- */

typedef u8 bfl_hash[BFL_HASH_SIZE];

void bfl_leaf_hash(const void *data, size_t len, bfl_hash out);
void bfl_node_hash(const bfl_hash l, const bfl_hash r, bfl_hash out);
/* Merkle tree head of n leaf hashes (SHA-256 of "" when n == 0). */
void bfl_mth(const bfl_hash *leaves, u64 n, bfl_hash out);

/* Incremental tree: the roots of the perfect subtrees of the binary
 * decomposition of size, largest first. */
struct bfl_tree {
	u64 size;
	unsigned int n;
	bfl_hash h[64];
};

void bfl_tree_init(struct bfl_tree *t);
void bfl_tree_append(struct bfl_tree *t, const bfl_hash leaf);
void bfl_tree_root(const struct bfl_tree *t, bfl_hash out);

/* RFC 9162 2.1.3.1 / 2.1.4.1 over an array of leaf hashes.  proof gets
 * up to BFL_PROOF_MAX hashes; *len is set.  -EINVAL for bad indices. */
int bfl_inclusion_proof(const bfl_hash *leaves, u64 n, u64 index,
			bfl_hash *proof, unsigned int *len);
int bfl_consistency_proof(const bfl_hash *leaves, u64 m, u64 n,
			  bfl_hash *proof, unsigned int *len);
/* RFC 9162 2.1.3.2 / 2.1.4.2.  0 if the proof holds, -EBADMSG if not. */
int bfl_verify_inclusion(u64 index, u64 size, const bfl_hash leaf,
			 const bfl_hash *proof, unsigned int len,
			 const bfl_hash root);
int bfl_verify_consistency(u64 size1, u64 size2, const bfl_hash root1,
			   const bfl_hash root2, const bfl_hash *proof,
			   unsigned int len);

/* ------------------------------------------------------------ note.c -- */

/* One signature line, "— <name> <base64(key ID || signature)>"; the
 * pointers are into the note's buffer.  The signature is decoded only
 * when a known key's is verified: others' may be of any size. */
struct bfl_note_sig {
	const char *name;	/* name_len bytes, not NUL-terminated */
	size_t name_len;
	u32 key_id;
	const char *b64;	/* the base64 field, b64_len bytes */
	size_t b64_len;
	size_t sig_len;		/* bytes after the key ID */
};

/* A parsed signed note; text and the signatures point into the caller's
 * buffer, which must outlive it. */
struct bfl_note {
	const char *text;	/* the signed text, final newline included */
	size_t text_len;
	unsigned int nsig;
	struct bfl_note_sig sig[BFL_NOTE_SIGS_MAX];
};

/* A public key under a name, as a note verifier knows it. */
struct bfl_key {
	char name[BFL_NAME_MAX + 1];
	u32 key_id;
	EVP_PKEY *pk;		/* owned */
};

/* Parses a signed note (c2sp.org/signed-note): checks the text and the
 * grammar of every signature line, whoever's key made it; checks no
 * signature (bfl_note_verify() does). */
int bfl_note_parse(const char *buf, size_t len, struct bfl_note *n,
		   struct bfl_err *e);
/* Key ID per the signed-note spec: Ed25519 (type 0x01), ECDSA (0x02,
 * SHA-256 of the SPKI), anything else 0xff "bioflow-spki". */
int bfl_key_init(struct bfl_key *k, const char *name, EVP_PKEY *pk,
		 struct bfl_err *e);
void bfl_key_free(struct bfl_key *k);
/* Whether name may be a key name or an origin that we make or accept
 * from configuration: bfl_check_key_name() without the message. */
bool bfl_valid_key_name(const char *name);
/* 0, or -EINVAL with a sentence naming what is wrong: a key name must be
 * non-empty, at most BFL_NAME_MAX bytes of UTF-8, without Unicode white
 * space (U+0020, U+00A0, U+2000..U+200A, U+3000, ...) or '+' (the
 * signed-note rule), and without control characters. */
int bfl_check_key_name(const char *name, struct bfl_err *e);
/* The same for a log origin: a key name (the epoch keys are named
 * "<origin>/epoch/<N>") short enough for that suffix. */
int bfl_check_origin(const char *origin, struct bfl_err *e);
#define BFL_ORIGIN_MAX		(BFL_NAME_MAX - 24)
/* Signs msg with pk: Ed25519 pure, other keys over SHA-256. */
int bfl_sign(EVP_PKEY *pk, const void *msg, size_t len, u8 *sig,
	     size_t *sig_len);
int bfl_verify_sig(EVP_PKEY *pk, const void *msg, size_t len,
		   const u8 *sig, size_t sig_len);
/* 0: a signature by k verifies; -ENOKEY: none by k (signatures by other
 * keys, whatever their size, are ignored); -EKEYREJECTED: one by k does
 * not verify. */
int bfl_note_verify(const struct bfl_note *n, const struct bfl_key *k,
		    struct bfl_err *e);
/* Appends "— name base64(key id || sig)\n" to out (len in/out). */
int bfl_note_add_sig(char *out, size_t cap, size_t *len, const char *name,
		     u32 key_id, const u8 *sig, size_t sig_len);

/* ------------------------------------------------------ checkpoint.c -- */

struct bfl_checkpoint {
	char origin[BFL_NAME_MAX + 1];
	u64 size;
	bfl_hash root;
	u64 epoch;		/* extension line "bioflow-epoch N"; 0 if absent */
};

int bfl_checkpoint_parse_body(const char *text, size_t len,
			      struct bfl_checkpoint *cp, struct bfl_err *e);
int bfl_checkpoint_format_body(const struct bfl_checkpoint *cp, char *out,
			       size_t cap, size_t *len);
/* Parse a checkpoint file: signed note + body (signatures not checked). */
int bfl_checkpoint_open(const char *buf, size_t len,
			struct bfl_checkpoint *cp, struct bfl_note *note,
			struct bfl_err *e);

/* ----------------------------------------------------------- epoch.c -- */

/* The root signer: the key that certifies epoch keys and the monotonic
 * counter that numbers epochs.  In production a restricted key in the
 * TPM that signs only what the TPM itself generates (tpmroot.c); the
 * software one (softroot.c) imitates it for tests. */
struct bfl_root_signer;

#define BFL_ATTEST_MAX		1024	/* a marshalled TPMS_ATTEST */
#define BFL_NVPUB_MAX		128	/* a marshalled TPMS_NV_PUBLIC */
#define BFL_NV_NAME_SIZE	34	/* nameAlg SHA-256 || digest */

/* A TPM2_NV_Certify of the counter: its public area, the attestation
 * the TPM made, and the root key's signature over it. */
struct bfl_attestation {
	u8 nvpub[BFL_NVPUB_MAX];
	size_t nvpub_len;
	u8 attest[BFL_ATTEST_MAX];
	size_t attest_len;
	u8 sig[BFL_SIG_MAX];
	size_t sig_len;
};

struct bfl_root_signer_ops {
	/* TPM2_NV_Certify of the counter with qualifying data SHA-256(body)
	 * (an epoch certificate's body), signed by the root key.  The value
	 * attested is what the counter holds now. */
	int (*certify)(struct bfl_root_signer *rs, const char *body, size_t len,
		       struct bfl_attestation *a, struct bfl_err *e);
	/* Increment the counter past the value that cert (an epoch
	 * certificate file, durable in the store) attests; *value = the
	 * new value.  bioflowd's monitor checks cert before it increments;
	 * the TPM and software signers leave that to their caller. */
	int (*counter_increment)(struct bfl_root_signer *rs, const char *cert,
				 size_t cert_len, u64 *value, struct bfl_err *e);
	int (*counter_read)(struct bfl_root_signer *rs, u64 *value,
			    struct bfl_err *e);
	void (*destroy)(struct bfl_root_signer *rs);
};

struct bfl_root_signer {
	const struct bfl_root_signer_ops *ops;
	const char *kind;		/* "software", "tpm2" */
	struct bfl_key key;		/* public half, BFL_ROOT_KEY_NAME */
	void *priv;
};

void bfl_root_signer_free(struct bfl_root_signer *rs);

/* attest.c: an attestation taken apart (structure and sizes checked;
 * the name of the index is recomputed from its public area). */
struct bfl_nv_attest {
	u32 nv_index;
	u32 nv_attrs;
	u64 value;		/* the counter when it was certified */
	u8 extra[BFL_HASH_SIZE];	/* the qualifying data */
	u8 signer[66];		/* qualifiedSigner (TPM name of the key) */
	u16 signer_len;
	u64 clock;
	u32 reset_count, restart_count;
	u8 safe;
	u64 firmware;
};

int bfl_nv_attest_parse(const struct bfl_attestation *a,
			struct bfl_nv_attest *o, struct bfl_err *e);
/* The software signer's imitation: public area and TPMS_ATTEST (the
 * signature is the caller's). */
int bfl_nv_attest_make(u32 nv_index, u64 value, const u8 qual[BFL_HASH_SIZE],
		       struct bfl_attestation *a);
void bfl_nv_name(const u8 *nvpub, size_t len, u8 name[BFL_NV_NAME_SIZE]);

/* The body of an epoch certificate (the attestation's qualifying data
 * is its SHA-256); bfl_cert_open() also fills nv_index. */
struct bfl_epoch_cert {
	char origin[BFL_NAME_MAX + 1];
	u64 epoch;		/* 1, 2, 3, ... */
	u64 start_size;		/* tree size at which the epoch begins */
	u64 nv_counter;		/* the counter value the TPM attested */
	u64 issued;		/* unix seconds, informational */
	u8 pub[32];		/* the epoch's Ed25519 public key */
	u32 nv_index;		/* the attested counter's index */
};

#define BFL_CERT_MAGIC		"bioflow-epoch-cert v2"
#define BFL_CERT_MAGIC_OLD	"bioflow-epoch-cert v1"

/* The body: the first seven lines of the certificate. */
/* Its length in @buf (the seven lines, newlines included), 0 if shorter. */
size_t bfl_cert_body_len(const char *buf, size_t len);
int bfl_cert_format_body(const struct bfl_epoch_cert *c, char *out,
			 size_t cap, size_t *len);
int bfl_cert_parse_body(const char *text, size_t len,
			struct bfl_epoch_cert *c, struct bfl_err *e);
/* Certificate file text: the body, then the TPM's attestation of the
 * counter (qualifying data = SHA-256 of the body) and the root key's
 * signature over it.  The attestation must attest c->nv_counter. */
int bfl_cert_issue(struct bfl_root_signer *rs,
		   const struct bfl_epoch_cert *c, char *out, size_t cap,
		   size_t *len, struct bfl_err *e);
/* Parse a certificate file, check that the attestation is of a counter,
 * binds this body and attests its nv-counter, and (root not NULL) that
 * the root key signed it: -ENOKEY not by this key, -EKEYREJECTED does
 * not verify, -EPROTONOSUPPORT the old format, -EBADMSG malformed. */
int bfl_cert_open(const char *buf, size_t len, const struct bfl_key *root,
		  struct bfl_epoch_cert *c, struct bfl_err *e);

/* "<origin>/epoch/<N>" */
void bfl_epoch_key_name(const char *origin, u64 epoch, char *out,
			size_t cap);
/* The verifying key of a certificate. */
int bfl_cert_key(const struct bfl_epoch_cert *c, struct bfl_key *k,
		 struct bfl_err *e);

struct bfl_epoch_key {
	u64 epoch;
	EVP_PKEY *priv;		/* Ed25519; never written anywhere */
	struct bfl_key pub;
};

int bfl_epoch_key_generate(struct bfl_epoch_key *k, const char *origin,
			   u64 epoch, struct bfl_err *e);
/* Frees the private key (OpenSSL clears it) and wipes the struct. */
void bfl_epoch_key_destroy(struct bfl_epoch_key *k);
/* A signed checkpoint note (file text) for cp, signed by k. */
int bfl_checkpoint_sign(const struct bfl_checkpoint *cp,
			const struct bfl_epoch_key *k, char *out, size_t cap,
			size_t *len, struct bfl_err *e);

/* -------------------------------------------------------- softroot.c -- */

/* key: a private key (reference taken), or NULL to generate ECDSA P-256.
 * counter_path: a file holding the counter (created at 0), or NULL for
 * an in-memory counter starting at 0. */
struct bfl_root_signer *bfl_soft_root_new(EVP_PKEY *key,
					  const char *counter_path,
					  struct bfl_err *e);
struct bfl_root_signer *bfl_soft_root_load(const char *key_pem,
					   const char *counter_path,
					   struct bfl_err *e);
int bfl_soft_root_save_key(struct bfl_root_signer *rs, const char *path,
			   struct bfl_err *e);
/* Test hook: set the software counter (to simulate a rewound counter;
 * the TPM's cannot be). */
int bfl_soft_root_set_counter(struct bfl_root_signer *rs, u64 value);
int bfl_write_pubkey_pem(EVP_PKEY *pk, const char *path, struct bfl_err *e);
EVP_PKEY *bfl_read_pubkey_pem(const char *path, struct bfl_err *e);

/* --------------------------------------------------------- tpmroot.c -- */

/*
 * The TPM root signer (TPM 2.0 through tpm2-tss ESYS; docs/tpm.md): a
 * restricted ECC P-256 ECDSA-SHA256 signing key that never leaves the
 * TPM and signs only what the TPM generates (here TPM2_NV_Certify of the
 * counter), created from a fixed template under the owner hierarchy and
 * persisted at key_handle, usable only through its policy
 * ([PolicyPCR] PolicyAuthValue); and an NV counter index
 * (TPM2_NT_COUNTER, not orderly) at nv_index with the same authValue.
 * bioflow-provision creates both and the authorization file; the daemon
 * only loads them.
 *
 * A program that calls these functions links -ltss2-esys -ltss2-tctildr
 * -ltss2-rc (LDLIBS_TSS2 in the Makefile).  Nothing else in libbflog.a
 * refers to them, so programs that do not use the TPM do not pull
 * tpmroot.o out of the archive and need no tss2 library.
 *
 * Every TPM error becomes a negative errno and a sentence that names the
 * operation and the decoded TPM response code: -ENODEV TPM absent or not
 * answering, -ENOENT no key or counter at the handle, -EEXIST (provision)
 * a key is already there, -EMEDIUMTYPE the object there is not what it
 * must be, -EACCES authorization failed, the PCR policy is not satisfied
 * or TPM in lockout, -EIO other TPM or TCTI failures.
 */
#define BFL_TPM_TCTI_DEFAULT	"device:/dev/tpmrm0"
#define BFL_TPM_KEY_HANDLE	0x81000B10u	/* persistent, owner range */
#define BFL_TPM_NV_INDEX	0x01B10001u	/* NV counter index */
#define BFL_TPM_AUTH_DEFAULT	"/etc/bioflow/tpm-root.auth"
#define BFL_TPM_AUTH_MAX	64
#define BFL_TPM_PCR_MASK	0x00ffffffu	/* PCRs 0-23, SHA-256 bank */

struct bfl_tpm_config {
	const char *tcti;	/* tctildr string; NULL: BFL_TPM_TCTI_DEFAULT */
	u32 key_handle;		/* 0: BFL_TPM_KEY_HANDLE */
	u32 nv_index;		/* 0: BFL_TPM_NV_INDEX */
	const u8 *auth;		/* the key's and counter's authValue */
	size_t auth_len;
	u32 pcrs;		/* SHA-256 PCRs in the key's policy (bits) */
};

/* The authorization file bioflow-provision writes (root only, 0600). */
struct bfl_tpm_auth {
	u8 value[BFL_TPM_AUTH_MAX];
	size_t len;
	u32 pcrs;
};

/* Reads it; refuses a file that is not regular, not owned by the
 * caller's uid or accessible to group or others.  Wipe with
 * bfl_tpm_auth_cleanse(). */
int bfl_tpm_auth_read(const char *path, struct bfl_tpm_auth *a,
		      struct bfl_err *e);
void bfl_tpm_auth_cleanse(struct bfl_tpm_auth *a);

/* Connects, loads the key at key_handle (checks that it is a restricted,
 * non-exportable P-256 ECDSA-SHA256 signing key with a policy) and the
 * counter index (checks its type), and checks that the key's policy can
 * be satisfied now (-EACCES naming the PCRs if not); creates nothing.
 * kind "tpm2". */
struct bfl_root_signer *bfl_tpm_root_open(const struct bfl_tpm_config *cfg,
					  struct bfl_err *e);

struct bfl_tpm_provision_opts {
	struct bfl_tpm_config cfg;	/* auth and pcrs are not used */
	const u8 *owner_auth;	/* owner hierarchy authValue; NULL: empty */
	size_t owner_auth_len;	/* at most 64 */
	bool force;		/* replace an object already at key_handle */
	u32 pcrs;		/* bind the key to these PCRs' values now */
	const char *auth_file;	/* written atomically, mode 0600 */
};

struct bfl_tpm_provision_report {
	bool key_replaced;	/* an object at key_handle was evicted first */
	bool nv_defined;	/* the counter index was defined */
	bool nv_replaced;	/* ... after deleting the one that was there */
	bool auth_failed;	/* the authorization file could not be written */
	u32 pcrs;
	u64 counter;		/* its value now (at least 1) */
	EVP_PKEY *pub;		/* the root public key; the caller frees it */
};

/* Creates a new authorization value (written to auth_file), the primary
 * key from the fixed template with the policy for it and pcrs, persists
 * it at key_handle, and (re)defines the counter index with that
 * authorization (a re-defined counter never starts below the old one)
 * and increments it once.  An object already at key_handle: -EEXIST
 * unless force. */
int bfl_tpm_provision(const struct bfl_tpm_provision_opts *o,
		      struct bfl_tpm_provision_report *rep,
		      struct bfl_err *e);
/* The public key of the root key at key_handle (checked as above). */
EVP_PKEY *bfl_tpm_read_pubkey(const struct bfl_tpm_config *cfg,
			      struct bfl_err *e);

/* ----------------------------------------------------------- store.c -- */

/*
 * STORE/
 *   log-info                 "bioflow-store v2" + origin
 *   checkpoint               a recent signed checkpoint (a copy, see below)
 *   epochs/NNNNNNNNNN.cert   epoch certificate (root-signed)
 *   epochs/NNNNNNNNNN.final  last checkpoint signed by that epoch
 *   segments/NNN...NNN.seg   records from leaf index NNN (20 digits), and
 *                            after each group commit's records the
 *                            checkpoint entry that seals them
 */
#define BFL_SEG_MAGIC		"BFLSEG02"
#define BFL_SEG_HDR_SIZE	32
#define BFL_ENTRY_EXTRA		BFL_HASH_SIZE	/* leaf hash after a record */
#define BFL_CPE_MAGIC		"BFLCKP02"
#define BFL_CPE_HDR_SIZE	16	/* magic, note length LE32, 4 zero bytes */

/* segment.c: one entry of a segment. */
enum bfl_item_type { BFL_ITEM_RECORD = 1, BFL_ITEM_CHECKPOINT };

struct bfl_item {
	enum bfl_item_type type;
	size_t off;		/* of the entry in the segment */
	size_t len;		/* of the whole entry */
	/* BFL_ITEM_RECORD */
	struct bfl_record rec;
	const u8 *data;		/* the record's bytes */
	size_t data_len;
	const u8 *stored_leaf;	/* the leaf hash written after them */
	/* BFL_ITEM_CHECKPOINT */
	const char *note;	/* the signed checkpoint note */
	size_t note_len;
};

/* Parses the entry at buf[off..len): 1 and *it, 0 at the end of the
 * buffer, -ENODATA if the entry runs past the end (a torn write), or
 * -EBADMSG if it is malformed (e says why). */
int bfl_seg_next(const u8 *buf, size_t len, size_t off, struct bfl_item *it,
		 struct bfl_err *e);
/* Size of a checkpoint entry for a note of note_len bytes, and the
 * entry itself written to out (bfl_cpe_size(note_len) bytes). */
size_t bfl_cpe_size(size_t note_len);
size_t bfl_cpe_make(u8 *out, const char *note, size_t note_len);

struct bfl_store_opts {
	u64 segment_max_bytes;	/* start a new segment past this (64 MiB) */
	u64 epoch_max_records;	/* rotate after this many (0: never) */
	u64 epoch_max_seconds;	/* rotate after this long (0: never) */
	/* The checkpoint file is a copy of the latest checkpoint entry for
	 * people and tools, replaced at most this often (0: 1000 ms; < 0:
	 * at every commit), and durably at epoch starts and at close. */
	int checkpoint_file_ms;
	bool no_sync;		/* tests only: skip fsync/fdatasync */
	bool keep_duplicates;	/* tests only: no redelivery filtering */
};

struct bfl_recovery {
	u64 sealed_size;		/* records kept (= last checkpoint's size) */
	u64 discarded_records;		/* whole unsealed records dropped */
	u64 discarded_bytes;		/* bytes truncated in total */
	unsigned int removed_segments;	/* segment files wholly unsealed */
	unsigned int removed_tmp;	/* leftover *.tmp files */
	bool lost_checkpoint_file;	/* found empty (a crash mid-replace) */
	u64 new_epoch;			/* epoch started by this open */
	bool wrote_final;		/* sealed the previous epoch's final */
};

struct bfl_store;

/* New store in an empty or missing directory; epoch 1, checkpoint 0. */
int bfl_store_create(const char *dir, const char *origin,
		     struct bfl_root_signer *rs,
		     const struct bfl_store_opts *opts, struct bfl_store **out,
		     struct bfl_err *e);
/* Open for writing: recover (truncate the unsealed tail) and start a new
 * epoch (epoch private keys live only in memory). */
int bfl_store_open(const char *dir, struct bfl_root_signer *rs,
		   const struct bfl_store_opts *opts, struct bfl_store **out,
		   struct bfl_recovery *rep, struct bfl_err *e);
/* Append whole records (concatenated, each its own size).  Kernel
 * records already in the store (same boot id, seq <= the last one) are
 * skipped: redelivery after a crash.  appended and skipped may be NULL. */
int bfl_store_append(struct bfl_store *st, const void *buf, size_t len,
		     unsigned int *appended, unsigned int *skipped,
		     struct bfl_err *e);
/* Group commit: fdatasync, sign and durably write the checkpoint;
 * rotates the epoch when due.  After it returns 0 everything appended is
 * sealed and durable. */
int bfl_store_commit(struct bfl_store *st, struct bfl_err *e);
int bfl_store_rotate_epoch(struct bfl_store *st, struct bfl_err *e);
u64 bfl_store_size(const struct bfl_store *st);
u64 bfl_store_sealed_size(const struct bfl_store *st);
u64 bfl_store_epoch(const struct bfl_store *st);
/* Last kernel (boot id, seq) stored; false if none. */
bool bfl_store_last_seq(const struct bfl_store *st, u8 stream[BFL_STREAM_SIZE],
			u64 *seq);
/* Closes without committing: anything not committed is unsealed. */
void bfl_store_close(struct bfl_store *st);

/* Reads the whole store's records into memory with their recomputed leaf
 * hashes, and the last checkpoint entry, up to the first entry that
 * cannot be read.  For proofs. */
struct bfl_leaves {
	u64 n;
	bfl_hash *leaf;
	u8 **rec;
	size_t *rec_len;
	char *last_cp;		/* the last checkpoint entry's note, or NULL */
	size_t last_cp_len;
};

int bfl_store_load_leaves(const char *dir, struct bfl_leaves *lv,
			  struct bfl_err *e);
void bfl_leaves_free(struct bfl_leaves *lv);

/* An inclusion proof file for one record against a checkpoint. */
struct bfl_proof {
	u64 index;
	u64 size;
	unsigned int n;
	bfl_hash h[BFL_PROOF_MAX];
	char *cert;		/* the epoch certificate text, malloc'ed */
	size_t cert_len;
};

int bfl_proof_format(const struct bfl_proof *p, char **out, size_t *len);
int bfl_proof_parse(const char *buf, size_t len, struct bfl_proof *p,
		    struct bfl_err *e);
void bfl_proof_free(struct bfl_proof *p);
/* Writes DIR/record, DIR/proof, DIR/checkpoint for leaf index against
 * the store's latest checkpoint. */
int bfl_store_export_proof(const char *store, u64 index, const char *outdir,
			   struct bfl_err *e);

/* ---------------------------------------------------------- verify.c -- */

enum bfl_verdict {
	BFL_OK = 0,		/* every check passed */
	BFL_FAIL = 1,		/* the store is not what was sealed */
	BFL_USAGE = 2,
	BFL_UNREADABLE = 3,	/* I/O error, missing store */
	BFL_WARN = 4,		/* verified, with warnings (unsealed tail) */
};

enum bfl_severity { BFL_SEV_INFO, BFL_SEV_WARN, BFL_SEV_ERROR };

struct bfl_finding {
	enum bfl_severity sev;
	const char *kind;	/* stable short name, e.g. "seq-gap" */
	char where[160];	/* file and/or record */
	char msg[512];
};

struct bfl_cosigner;		/* witness.h */

struct bfl_verify_opts {
	const char *since;	/* pinned checkpoint text, or NULL */
	size_t since_len;
	/* Witnesses whose tlog-cosignatures must be on the pinned checkpoint
	 * (or, without one, on the checkpoint file): witness-missing,
	 * witness-cosignature. */
	const struct bfl_cosigner *witness;
	unsigned int nwitness;
	bool have_nv;		/* the auditor read the counter: */
	u64 nv_counter;		/* the last epoch must claim exactly this */
	/* progress: called every few MiB with bytes done / total */
	void (*progress)(void *arg, u64 done, u64 total);
	void *progress_arg;
	unsigned int max_findings;	/* 0: 100 */
};

struct bfl_verify_result {
	enum bfl_verdict verdict;
	char origin[BFL_NAME_MAX + 1];
	u64 records;		/* complete records found */
	u64 sealed;		/* latest checkpoint's size */
	u64 epochs;
	u64 checkpoints;	/* checkpoints verified: entries and files */
	u64 boots;
	u64 last_nv;
	bfl_hash root;
	char *checkpoint_text;	/* the latest checkpoint, malloc'ed */
	unsigned int nfind;	/* findings kept */
	unsigned int nerrors;	/* errors seen (may exceed those kept) */
	unsigned int nwarn;
	struct bfl_finding *find;
};

int bfl_verify_store(const char *dir, const struct bfl_key *root,
		     const struct bfl_verify_opts *opts,
		     struct bfl_verify_result *res);
/* Single record: record bytes, proof file, checkpoint file. */
int bfl_verify_inclusion_files(const u8 *rec, size_t rec_len,
			       const char *proof, size_t proof_len,
			       const char *cp, size_t cp_len,
			       const struct bfl_key *root,
			       struct bfl_verify_result *res);
void bfl_verify_result_free(struct bfl_verify_result *res);
const struct bfl_finding *bfl_first_error(const struct bfl_verify_result *r);

#endif /* BFLOG_H */
