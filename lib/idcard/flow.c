// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The document layer of the kiosk flow: read the card (BAC, SM), prove
 * it with Passive Authentication, and only then take the reader's
 * template out of DG2.  The template is the one thing that leaves; the
 * files read are wiped here whatever the outcome.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "idcard/idcard.h"

void idc_result_wipe(struct idc_result *res)
{
	if (!res)
		return;
	if (res->tpl)
		OPENSSL_clear_free(res->tpl, res->tpl_len);
	memset(res, 0, sizeof(*res));
}

/*
 * DG1 (authentic once PA passed) must hold the MRZ whose key opened the
 * chip: BAC proves only that the chip knows that key, PA only that the
 * files were issued.  Without this, a chip answering BAC for one
 * document could serve another genuine document's files (a relay or a
 * mixed-up clone), and the kiosk would verify the holder against a face
 * whose printed card it never saw.
 */
static int dg1_is_this_document(const struct idc_doc *doc,
				const char mrz_info[IDC_MRZ_INFO_LEN])
{
	char dg1_info[IDC_MRZ_INFO_LEN];
	const uint8_t *mrz;
	size_t len;
	int r;

	r = idc_parse_dg1(doc->ef[IDC_EF_DG1].data, doc->ef[IDC_EF_DG1].len,
			  &mrz, &len);
	if (!r)
		r = idc_mrz_info_from_mrz((const char *)mrz, len, dg1_info);
	if (!r && !idc_mrz_info_equal(dg1_info, mrz_info))
		r = IDC_ERR_MRZ_MISMATCH;
	OPENSSL_cleanse(dg1_info, sizeof(dg1_info));
	return r;
}

int idc_read_verified(idc_transmit_fn tx, void *ctx,
		      const char mrz_info[IDC_MRZ_INFO_LEN],
		      const struct idc_trust *trust, struct idc_result *res)
{
	struct idc_doc doc;
	const uint8_t *tpl;
	size_t len;
	int r;

	if (!res)
		return IDC_ERR_ARG;
	memset(res, 0, sizeof(*res));
	if (!trust)
		return IDC_ERR_ARG;
	r = idc_read_document(tx, ctx, mrz_info, &doc, &res->read);
	if (r)
		return r;
	r = idc_pa_verify(trust, &doc, &res->pa);
	if (!r)
		r = dg1_is_this_document(&doc, mrz_info);
	if (!r)
		r = idc_dg2_template(doc.ef[IDC_EF_DG2].data, doc.ef[IDC_EF_DG2].len,
				     &tpl, &len);
	if (!r) {
		res->tpl = OPENSSL_memdup(tpl, len);
		res->tpl_len = len;
		if (!res->tpl)
			r = IDC_ERR_NOMEM;
	}
	idc_doc_wipe(&doc);
	if (r) {
		struct idc_read_info keep = res->read;

		idc_result_wipe(res);
		res->read = keep;	/* where it ended: no data */
	}
	return r;
}
