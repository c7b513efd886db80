// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * TPM2_NV_Certify attestations of the root signer's counter, as epoch
 * certificates carry them (docs/log-format.md, "Epoch certificates";
 * docs/tpm.md, "The certificate").  Parsed by hand, big-endian as the
 * TPM marshals them (TPM 2.0 Part 2), so that the verifier needs no TPM
 * library; every size in them is checked against what is left.
 *
 *   TPMS_NV_PUBLIC   nvIndex u32, nameAlg u16, attributes u32,
 *                    authPolicy TPM2B, dataSize u16
 *   TPMS_ATTEST      magic u32 (TPM_GENERATED_VALUE), type u16
 *                    (TPM_ST_ATTEST_NV), qualifiedSigner TPM2B_NAME,
 *                    extraData TPM2B_DATA, clockInfo (u64 clock, u32
 *                    resetCount, u32 restartCount, u8 safe),
 *                    firmwareVersion u64, TPMS_NV_CERTIFY_INFO
 *                    (indexName TPM2B_NAME, offset u16, nvContents
 *                    TPM2B_MAX_NV_BUFFER)
 *
 * The TPM signs the marshalled TPMS_ATTEST with the root key (ECDSA over
 * SHA-256 of it), and a restricted key signs nothing that starts with
 * TPM_GENERATED_VALUE unless the TPM made it: the value in nvContents is
 * what the counter held when the TPM certified it.
 */
#include <errno.h>
#include <string.h>

#include "bflog.h"

#define TPM_GENERATED_VALUE	0xff544347u
#define TPM_ST_ATTEST_NV	0x8014u
#define TPM_ALG_SHA256		0x000bu
#define TPM_NT_COUNTER		1u
#define TPMA_NV_TPM_NT_SHIFT	4
#define TPMA_NV_TPM_NT_MASK	0xf0u
#define TPMA_NV_WRITTEN		0x20000000u

struct rd {
	const u8 *p;
	size_t left;
	bool bad;
};

static u64 rd_be(struct rd *r, unsigned int n)
{
	u64 v = 0;

	if (r->bad || r->left < n) {
		r->bad = true;
		return 0;
	}
	while (n--) {
		v = v << 8 | *r->p++;
		r->left--;
	}
	return v;
}

/* A TPM2B: u16 size, then that many bytes (at most cap). */
static const u8 *rd_2b(struct rd *r, size_t cap, u16 *len)
{
	const u8 *b;

	*len = (u16)rd_be(r, 2);
	if (r->bad || *len > cap || *len > r->left) {
		r->bad = true;
		return NULL;
	}
	b = r->p;
	r->p += *len;
	r->left -= *len;
	return b;
}

static void put_be(u8 **p, u64 v, unsigned int n)
{
	while (n--)
		*(*p)++ = (u8)(v >> (8 * n));
}

void bfl_nv_name(const u8 *nvpub, size_t len, u8 name[BFL_NV_NAME_SIZE])
{
	name[0] = 0x00;
	name[1] = 0x0b;
	bfl_sha256(nvpub, len, NULL, 0, name + 2);
}

int bfl_nv_attest_parse(const struct bfl_attestation *a,
			struct bfl_nv_attest *o, struct bfl_err *e)
{
	struct rd r = { .p = a->nvpub, .left = a->nvpub_len };
	u8 name[BFL_NV_NAME_SIZE];
	const u8 *b;
	u16 l;
	u64 v = 0;
	unsigned int i;

	memset(o, 0, sizeof(*o));
	if (a->nvpub_len > sizeof(a->nvpub) || a->attest_len > sizeof(a->attest) ||
	    a->sig_len > sizeof(a->sig))
		return bfl_errf(e, -EBADMSG, "attestation: a part is too long");
	/* The counter's public area: what the attestation names. */
	o->nv_index = (u32)rd_be(&r, 4);
	if (rd_be(&r, 2) != TPM_ALG_SHA256)
		r.bad = true;
	o->nv_attrs = (u32)rd_be(&r, 4);
	(void)rd_2b(&r, 64, &l);
	if (rd_be(&r, 2) != 8 || r.bad || r.left)
		return bfl_errf(e, -EBADMSG,
				"attestation: the NV public area is malformed (not an 8-byte index with a SHA-256 name)");
	if ((o->nv_index >> 24) != 0x01 ||
	    ((o->nv_attrs & TPMA_NV_TPM_NT_MASK) >> TPMA_NV_TPM_NT_SHIFT) != TPM_NT_COUNTER)
		return bfl_errf(e, -EBADMSG,
				"attestation: NV index 0x%08x (attributes 0x%08x) is not a TPM counter: only a counter can never go back",
				o->nv_index, o->nv_attrs);
	if (!(o->nv_attrs & TPMA_NV_WRITTEN))
		return bfl_errf(e, -EBADMSG,
				"attestation: the counter 0x%08x was never written", o->nv_index);
	bfl_nv_name(a->nvpub, a->nvpub_len, name);

	r.p = a->attest;
	r.left = a->attest_len;
	r.bad = false;
	if (rd_be(&r, 4) != TPM_GENERATED_VALUE || rd_be(&r, 2) != TPM_ST_ATTEST_NV)
		return bfl_errf(e, -EBADMSG,
				"attestation: not a TPM-generated NV certification (magic or type)");
	b = rd_2b(&r, sizeof(o->signer), &l);
	if (b) {
		memcpy(o->signer, b, l);
		o->signer_len = l;
	}
	b = rd_2b(&r, BFL_HASH_SIZE, &l);
	if (!b || l != BFL_HASH_SIZE)
		return bfl_errf(e, -EBADMSG,
				"attestation: qualifying data is not 32 bytes");
	memcpy(o->extra, b, BFL_HASH_SIZE);
	o->clock = rd_be(&r, 8);
	o->reset_count = (u32)rd_be(&r, 4);
	o->restart_count = (u32)rd_be(&r, 4);
	o->safe = (u8)rd_be(&r, 1);
	o->firmware = rd_be(&r, 8);
	b = rd_2b(&r, BFL_NV_NAME_SIZE, &l);
	if (r.bad || !b || l != BFL_NV_NAME_SIZE || memcmp(b, name, l))
		return bfl_errf(e, -EBADMSG,
				"attestation: it certifies another NV index than the counter whose public area it carries");
	if (rd_be(&r, 2) != 0)
		return bfl_errf(e, -EBADMSG, "attestation: not of the whole counter (offset)");
	b = rd_2b(&r, 8, &l);
	if (r.bad || !b || l != 8 || r.left)
		return bfl_errf(e, -EBADMSG,
				"attestation: malformed (counter contents, or bytes after them)");
	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	o->value = v;
	return 0;
}

int bfl_nv_attest_make(u32 nv_index, u64 value, const u8 qual[BFL_HASH_SIZE],
		       struct bfl_attestation *a)
{
	u8 name[BFL_NV_NAME_SIZE], *p;
	u32 attrs = (TPM_NT_COUNTER << TPMA_NV_TPM_NT_SHIFT) | TPMA_NV_WRITTEN |
		    0x00040000u /* AUTHREAD */ | 0x00000004u /* AUTHWRITE */;

	memset(a, 0, sizeof(*a));
	p = a->nvpub;
	put_be(&p, nv_index, 4);
	put_be(&p, TPM_ALG_SHA256, 2);
	put_be(&p, attrs, 4);
	put_be(&p, 0, 2);		/* no authPolicy */
	put_be(&p, 8, 2);
	a->nvpub_len = (size_t)(p - a->nvpub);
	bfl_nv_name(a->nvpub, a->nvpub_len, name);
	p = a->attest;
	put_be(&p, TPM_GENERATED_VALUE, 4);
	put_be(&p, TPM_ST_ATTEST_NV, 2);
	put_be(&p, 0, 2);		/* qualifiedSigner: none (software) */
	put_be(&p, BFL_HASH_SIZE, 2);
	memcpy(p, qual, BFL_HASH_SIZE);
	p += BFL_HASH_SIZE;
	memset(p, 0, 8 + 4 + 4 + 1 + 8);	/* clockInfo, firmware: 0 */
	p += 8 + 4 + 4 + 1 + 8;
	put_be(&p, BFL_NV_NAME_SIZE, 2);
	memcpy(p, name, BFL_NV_NAME_SIZE);
	p += BFL_NV_NAME_SIZE;
	put_be(&p, 0, 2);		/* offset */
	put_be(&p, 8, 2);
	put_be(&p, value, 8);
	a->attest_len = (size_t)(p - a->attest);
	return 0;
}
