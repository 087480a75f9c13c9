/* Keyed pseudonyms: patient IDs, 2.25 UIDs and per-patient date offsets from HMAC-SHA256 under a secret key. */
#ifndef PGS_PSEUDONYM_H
#define PGS_PSEUDONYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "PGS" and 20 upper-case hex digits (80 bits of HMAC(key, "patient" || basis)): a valid LO and PN value. */
#define PGS_PATIENT_PSEUDONYM_SIZE 24
void		pgs_pseudonym_patient_c(const uint8_t *key, size_t key_len, const char *basis, size_t basis_len,
									char out[PGS_PATIENT_PSEUDONYM_SIZE]);

/*
 * "2.25." and the decimal value of a 128-bit UUID (version 8, RFC 9562 variant) whose other bits come from
 * HMAC(key, "uid" || uid): at most 44 characters, so well within the 64 of a UI value.
 */
#define PGS_UID_PSEUDONYM_SIZE 48
void		pgs_pseudonym_uid_c(const uint8_t *key, size_t key_len, const char *uid, size_t uid_len,
								char out[PGS_UID_PSEUDONYM_SIZE]);

/* Days (1..3650) by which this patient's dates move back under the Modified Dates option. */
int			pgs_pseudonym_date_offset_c(const uint8_t *key, size_t key_len, const char *basis, size_t basis_len);

/* Move a YYYYMMDD date back by days (proleptic Gregorian); false when the input is not a valid date. */
bool		pgs_shift_date_c(const char *yyyymmdd, size_t len, int days, char out[9]);

#ifdef __cplusplus
}

#include <string>

inline std::string
pgs_pseudonym_patient(const uint8_t *key, size_t key_len, const std::string &basis)
{
	char		out[PGS_PATIENT_PSEUDONYM_SIZE];

	pgs_pseudonym_patient_c(key, key_len, basis.data(), basis.size(), out);
	return out;
}

inline std::string
pgs_pseudonym_uid(const uint8_t *key, size_t key_len, const std::string &uid)
{
	char		out[PGS_UID_PSEUDONYM_SIZE];

	pgs_pseudonym_uid_c(key, key_len, uid.data(), uid.size(), out);
	return out;
}

inline int
pgs_pseudonym_date_offset(const uint8_t *key, size_t key_len, const std::string &basis)
{
	return pgs_pseudonym_date_offset_c(key, key_len, basis.data(), basis.size());
}

/* An unparseable date becomes the dummy date rather than passing through. */
inline std::string
pgs_pseudonym_shift_date(const std::string &date, int days)
{
	char		out[9];

	return pgs_shift_date_c(date.data(), date.size(), days, out) ? std::string(out) : std::string("19000101");
}
#endif

#endif
