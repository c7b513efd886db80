// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Names of the library's errors: fixed strings, never card data, so a
 * caller may log them.
 */
#include "idcard/idcard.h"

const char *idc_strerror(int err)
{
	switch (err) {
	case IDC_OK:			return "ok";
	case IDC_ERR_ARG:		return "invalid argument";
	case IDC_ERR_NOMEM:		return "out of memory";
	case IDC_ERR_CRYPTO:		return "crypto failure";
	case IDC_ERR_TRANSPORT:		return "transport failure";
	case IDC_ERR_MALFORMED:		return "card data malformed";
	case IDC_ERR_TOO_BIG:		return "card data too large";
	case IDC_ERR_TRUNCATED:		return "card data truncated";
	case IDC_ERR_MRZ:		return "MRZ field invalid";
	case IDC_ERR_STATUS:		return "unexpected status word";
	case IDC_ERR_SECURITY:		return "security status not satisfied (6982)";
	case IDC_ERR_NOT_FOUND:		return "file or application not found (6A82)";
	case IDC_ERR_SM_CARD:		return "chip refused secure messaging (6987/6988)";
	case IDC_ERR_SM_MAC:		return "secure messaging MAC mismatch";
	case IDC_ERR_SM:		return "secure messaging response malformed";
	case IDC_ERR_BAC:		return "basic access control failed";
	case IDC_ERR_NO_TEMPLATE:	return "no reader template in DG2";
	case IDC_ERR_MRZ_MISMATCH:	return "DG1's MRZ is not the document's whose MRZ opened the chip";
	case IDC_ERR_PA_MALFORMED:	return "PA: security object malformed";
	case IDC_ERR_PA_SIGNATURE:	return "PA: bad signature";
	case IDC_ERR_PA_UNKNOWN_CSCA:	return "PA: unknown CSCA";
	case IDC_ERR_PA_EXPIRED:	return "PA: certificate expired or not yet valid";
	case IDC_ERR_PA_REVOKED:	return "PA: document signer revoked";
	case IDC_ERR_PA_CRL:		return "PA: no usable CRL";
	case IDC_ERR_PA_CHAIN:		return "PA: certificate path invalid";
	case IDC_ERR_PA_HASH:		return "PA: data group hash mismatch";
	case IDC_ERR_PA_ALGORITHM:	return "PA: hash algorithm not accepted";
	}
	return "unknown error";
}
