/* Keyed pseudonyms from HMAC-SHA256: nobody without the key can recompute or dictionary-attack them. */
#include "pseudonym.h"
#include "hmac_sha256.h"

#include <stdio.h>
#include <string.h>

/* Domain labels keep the three uses independent even for equal inputs. */
static const char PATIENT_LABEL[] = "pgscreen/patient\x1f";
static const char UID_LABEL[] = "pgscreen/uid\x1f";
static const char DATE_LABEL[] = "pgscreen/date-offset\x1f";

void
pgs_pseudonym_patient_c(const uint8_t *key, size_t key_len, const char *basis, size_t basis_len,
						char out[PGS_PATIENT_PSEUDONYM_SIZE])
{
	uint8_t		mac[PGS_SHA256_BYTES];

	pgs_hmac_sha256(key, key_len, PATIENT_LABEL, sizeof(PATIENT_LABEL) - 1, basis, basis_len, mac);
	memcpy(out, "PGS", 3);
	for (int i = 0; i < 10; i++)
		snprintf(out + 3 + 2 * i, 3, "%02X", mac[i]);
}

void
pgs_pseudonym_uid_c(const uint8_t *key, size_t key_len, const char *uid, size_t uid_len,
					char out[PGS_UID_PSEUDONYM_SIZE])
{
	uint8_t		mac[PGS_SHA256_BYTES];
	unsigned __int128 value = 0;
	char		digits[40];
	int			n = 0;

	pgs_hmac_sha256(key, key_len, UID_LABEL, sizeof(UID_LABEL) - 1, uid, uid_len, mac);
	mac[6] = (mac[6] & 0x0F) | 0x80;	/* UUID version 8 (custom) */
	mac[8] = (mac[8] & 0x3F) | 0x80;	/* RFC 9562 variant */
	for (int i = 0; i < 16; i++)
		value = value << 8 | mac[i];
	do
	{
		digits[n++] = (char) ('0' + (int) (value % 10));
		value /= 10;
	} while (value != 0);
	memcpy(out, "2.25.", 5);
	for (int i = 0; i < n; i++)
		out[5 + i] = digits[n - 1 - i];
	out[5 + n] = '\0';
}

int
pgs_pseudonym_date_offset_c(const uint8_t *key, size_t key_len, const char *basis, size_t basis_len)
{
	uint8_t		mac[PGS_SHA256_BYTES];
	uint32_t	v;

	pgs_hmac_sha256(key, key_len, DATE_LABEL, sizeof(DATE_LABEL) - 1, basis, basis_len, mac);
	v = (uint32_t) mac[0] << 24 | (uint32_t) mac[1] << 16 | (uint32_t) mac[2] << 8 | mac[3];
	return 1 + (int) (v % 3650);
}

/* Days since 1970-01-01 of a civil date and back (Howard Hinnant's algorithms). */
static long
days_from_civil(long y, unsigned m, unsigned d)
{
	long		era;
	unsigned	yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long) doe - 719468;
}

static void
civil_from_days(long z, long *y, unsigned *m, unsigned *d)
{
	long		era;
	unsigned	doe,
				yoe,
				doy,
				mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned) (z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	*y = (long) yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y += *m <= 2;
}

bool
pgs_shift_date_c(const char *s, size_t len, int days, char out[9])
{
	long		y;
	unsigned	m,
				d;
	static const unsigned month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\0'))
		len--;
	if (len != 8)
		return false;
	for (size_t i = 0; i < 8; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (unsigned) ((s[4] - '0') * 10 + (s[5] - '0'));
	d = (unsigned) ((s[6] - '0') * 10 + (s[7] - '0'));
	if (m < 1 || m > 12 || d < 1 || d > month_days[m - 1])
		return false;
	civil_from_days(days_from_civil(y, m, d) - days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return false;
	snprintf(out, 9, "%04ld%02u%02u", y % 10000, m % 100, d % 100);
	return true;
}
