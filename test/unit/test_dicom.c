/* Unit tests of kernels/dicom: HMAC-SHA256, pseudonyms, date shifts, the structural scan on hostile bytes,
 * the generated tables, tag parsing, synthetic mammograms and a de-identification round trip. */
#define _GNU_SOURCE
#include "unit.h"

#include "../../kernels/dicom/dicom.h"
#include "../../kernels/dicom/hmac_sha256.h"
#include "../../kernels/dicom/pseudonym.h"

#include <stdint.h>

static void
hex(const uint8_t *bytes, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", bytes[i]);
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than the block). */
static void
test_hmac_sha256_rfc4231(void)
{
	uint8_t		mac[32],
				key1[20],
				key6[131];
	char		text[65];

	memset(key1, 0x0b, sizeof(key1));
	pgs_hmac_sha256(key1, sizeof(key1), "Hi ", 3, "There", 5, mac);
	hex(mac, 32, text);
	CHECKF(strcmp(text, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") == 0, "case 1: %s", text);

	pgs_hmac_sha256((const uint8_t *) "Jefe", 4, "what do ya want ", 16, "for nothing?", 12, mac);
	hex(mac, 32, text);
	CHECKF(strcmp(text, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0, "case 2: %s", text);

	memset(key6, 0xaa, sizeof(key6));
	pgs_hmac_sha256(key6, sizeof(key6), "Test Using Larger Than Block-Size Key - ", 40, "Hash Key First", 14, mac);
	hex(mac, 32, text);
	CHECKF(strcmp(text, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54") == 0, "case 6: %s", text);
}

static void
test_sha256_empty_and_long(void)
{
	pgs_sha256	ctx;
	uint8_t		digest[32];
	char		text[65];
	char		block[1000];

	pgs_sha256_init(&ctx);
	pgs_sha256_final(&ctx, digest);
	hex(digest, 32, text);
	CHECK(strcmp(text, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);

	/* one million 'a's, fed in pieces that straddle block boundaries */
	memset(block, 'a', sizeof(block));
	pgs_sha256_init(&ctx);
	for (int i = 0; i < 1000; i++)
		pgs_sha256_update(&ctx, block, sizeof(block));
	pgs_sha256_final(&ctx, digest);
	hex(digest, 32, text);
	CHECKF(strcmp(text, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0, "%s", text);
}

static void
test_pseudonyms(void)
{
	const uint8_t *key = (const uint8_t *) "0123456789abcdef";
	char		a[PGS_UID_PSEUDONYM_SIZE],
				b[PGS_UID_PSEUDONYM_SIZE],
				p[PGS_PATIENT_PSEUDONYM_SIZE];
	int			offset;

	pgs_pseudonym_uid_c(key, 16, "1.2.3.4", 7, a);
	pgs_pseudonym_uid_c(key, 16, "1.2.3.4", 7, b);
	CHECK(strcmp(a, b) == 0);
	CHECKF(strncmp(a, "2.25.", 5) == 0 && strlen(a) <= 44 && strlen(a) > 30, "%s", a);
	CHECK(a[5] != '0');
	for (const char *c = a + 5; *c; c++)
		CHECK(*c >= '0' && *c <= '9');
	pgs_pseudonym_uid_c((const uint8_t *) "another key 1234", 16, "1.2.3.4", 7, b);
	CHECK(strcmp(a, b) != 0);
	pgs_pseudonym_uid_c(key, 16, "1.2.3.5", 7, b);
	CHECK(strcmp(a, b) != 0);

	pgs_pseudonym_patient_c(key, 16, "id:|12345", 9, p);
	CHECKF(strncmp(p, "PGS", 3) == 0 && strlen(p) == 23, "%s", p);
	offset = pgs_pseudonym_date_offset_c(key, 16, "id:|12345", 9);
	CHECK(offset >= 1 && offset <= 3650);
	CHECK(offset == pgs_pseudonym_date_offset_c(key, 16, "id:|12345", 9));
}

static void
test_date_shift(void)
{
	char		out[9];

	CHECK(pgs_shift_date_c("20240301", 8, 1, out) && strcmp(out, "20240229") == 0);
	CHECK(pgs_shift_date_c("20230301", 8, 1, out) && strcmp(out, "20230228") == 0);
	CHECK(pgs_shift_date_c("20000101", 8, 366, out) && strcmp(out, "19990100") != 0 && strcmp(out, "19981231") == 0);
	CHECK(pgs_shift_date_c("19700101 ", 9, 0, out) && strcmp(out, "19700101") == 0);
	CHECK(!pgs_shift_date_c("2024021", 7, 1, out));
	CHECK(!pgs_shift_date_c("20240230", 8, 1, out));
	CHECK(!pgs_shift_date_c("2024XX01", 8, 1, out));
	CHECK(!pgs_shift_date_c("00000101", 8, 1, out));
}

/* Little builders for explicit VR little endian data sets. */
static size_t
put_element(uint8_t *buf, uint16_t group, uint16_t element, const char *vr, uint32_t len, bool long_form)
{
	buf[0] = group & 0xFF, buf[1] = group >> 8, buf[2] = element & 0xFF, buf[3] = element >> 8;
	buf[4] = vr[0], buf[5] = vr[1];
	if (long_form)
	{
		buf[6] = buf[7] = 0;
		memcpy(buf + 8, &len, 4);
		return 12;
	}
	buf[6] = len & 0xFF, buf[7] = (len >> 8) & 0xFF;
	return 8;
}

static size_t
put_item(uint8_t *buf, uint16_t element, uint32_t len)
{
	buf[0] = 0xFE, buf[1] = 0xFF, buf[2] = element & 0xFF, buf[3] = element >> 8;
	memcpy(buf + 4, &len, 4);
	return 8;
}

/* A minimal Part 10 header (explicit VR little endian) into buf; returns its length. */
static size_t
part10_header(uint8_t *buf)
{
	static const char syntax[] = "1.2.840.10008.1.2.1";	/* 19 characters + NUL pad */
	size_t		n = 132;

	memset(buf, 0, 128);
	memcpy(buf + 128, "DICM", 4);
	n += put_element(buf + n, 0x0002, 0x0010, "UI", 20, false);
	memcpy(buf + n, syntax, 20);
	return n + 20;
}

static void
test_scan_rejects_hostile_input(void)
{
	uint8_t    *buf = calloc(1, 1 << 20);
	size_t		n;
	pgs_error	err;
	pgs_image_info info;
	uint8_t    *out;
	size_t		out_len;
	char		reason[128];
	pgs_deid_options opts;

	pgs_deid_options_init(&opts);
	memcpy(opts.key, "unit test key 16", 16);
	opts.key_len = 16;

	/* sequences nested past the limit */
	n = part10_header(buf);
	for (int depth = 0; depth < 40; depth++)
	{
		n += put_element(buf + n, 0x0008, 0x1140, "SQ", 0xFFFFFFFF, true);
		n += put_item(buf + n, 0xE000, 0xFFFFFFFF);
	}
	CHECK_FAILS(pgs_dicom_anonymize(buf, n, &opts, &pgs_malloc_allocator, &out, &out_len, reason, sizeof(reason), &err),
				PGS_ERR_LIMIT, &err);
	CHECKF(strstr(err.message, "nested deeper than 32") != NULL, "%s", err.message);

	/* a sequence that never ends */
	n = part10_header(buf);
	n += put_element(buf + n, 0x0008, 0x1140, "SQ", 0xFFFFFFFF, true);
	n += put_item(buf + n, 0xE000, 0xFFFFFFFF);
	n += put_element(buf + n, 0x0008, 0x1150, "UI", 4, false);
	memcpy(buf + n, "1.2\0", 4), n += 4;
	CHECK_FAILS(pgs_dicom_probe(buf, n, &info, &err), PGS_ERR_BAD_DATA, &err);
	CHECKF(strstr(err.message, "sequence (0008,1140) starting at offset") != NULL && strstr(err.message, "never closed"),
		   "%s", err.message);

	/* a huge element length */
	n = part10_header(buf);
	n += put_element(buf + n, 0x0010, 0x0010, "OB", 0xFFFFFFF0u, true);
	CHECK_FAILS(pgs_dicom_probe(buf, n + 16, &info, &err), PGS_ERR_BAD_DATA, &err);
	CHECKF(strstr(err.message, "has length 4294967280 but only 16 bytes remain") != NULL, "%s", err.message);

	/* a VR that is not two letters (after a good element, so the data set is known to be explicit VR) */
	n = part10_header(buf);
	n += put_element(buf + n, 0x0008, 0x0060, "CS", 2, false);
	memcpy(buf + n, "MG", 2), n += 2;
	n += put_element(buf + n, 0x0010, 0x0010, "\x01\x02", 0, false);
	CHECK_FAILS(pgs_dicom_probe(buf, n, &info, &err), PGS_ERR_BAD_DATA, &err);
	CHECKF(strstr(err.message, "invalid VR (bytes 01 02)") != NULL, "%s", err.message);

	/* an item whose length overruns its sequence */
	n = part10_header(buf);
	n += put_element(buf + n, 0x0008, 0x1140, "SQ", 8, true);
	n += put_item(buf + n, 0xE000, 100);
	CHECK_FAILS(pgs_dicom_probe(buf, n + 100, &info, &err), PGS_ERR_BAD_DATA, &err);

	/* "DICM" with no meta, empty input, text */
	memset(buf, 0, 140);
	memcpy(buf + 128, "DICM", 4);
	CHECK_FAILS(pgs_dicom_probe(buf, 140, &info, &err), PGS_ERR_BAD_DATA, &err);
	CHECKF(strstr(err.message, "no file meta information") != NULL, "%s", err.message);
	CHECK_FAILS(pgs_dicom_probe(buf, 0, &info, &err), PGS_ERR_BAD_DATA, &err);
	CHECK_FAILS(pgs_dicom_probe((const uint8_t *) "hello, this is not DICOM", 24, &info, &err), PGS_ERR_BAD_DATA, &err);
	free(buf);
}

static void
test_parse_tag(void)
{
	uint32_t	tag;
	pgs_error	err;

	CHECK_OK(pgs_dicom_parse_tag("PatientID", &tag, &err), &err);
	CHECK(tag == 0x00100020);
	CHECK_OK(pgs_dicom_parse_tag("(0020,0062)", &tag, &err), &err);
	CHECK(tag == 0x00200062);
	CHECK_OK(pgs_dicom_parse_tag("0018,5101", &tag, &err), &err);
	CHECK(tag == 0x00185101);
	CHECK_OK(pgs_dicom_parse_tag("ImageLaterality", &tag, &err), &err);
	CHECK(tag == 0x00200062);
	CHECK_FAILS(pgs_dicom_parse_tag("NoSuchKeyword", &tag, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_FAILS(pgs_dicom_parse_tag("(0010,00ZZ)", &tag, &err), PGS_ERR_INVALID_ARGUMENT, &err);
}

/* A synthetic mammogram decodes to its size; de-identified, the name is gone and the pixels are unchanged. */
static void
test_synthetic_round_trip(void)
{
	pgs_synthetic_mg_options mg;
	pgs_deid_options opts;
	uint8_t    *dcm,
			   *anon;
	size_t		len,
				anon_len;
	char		reason[256];
	char	   *value;
	bool		found;
	pgs_image	before,
				after;
	pgs_dicom_pixel_info info;
	pgs_error	err;

	pgs_synthetic_mg_options_init(&mg);
	mg.seed = 7;
	mg.rows = 256;
	mg.columns = 192;
	mg.laterality = 'L';
	CHECK_OK(pgs_dicom_synthetic_mammogram(&mg, &pgs_malloc_allocator, &dcm, &len, &err), &err);
	CHECK_OK(pgs_dicom_decode_frame(dcm, len, 0, INT64_MAX, &pgs_malloc_allocator, &before, &info, &err), &err);
	CHECK(before.width == 192 && before.height == 256 && before.dtype == PGS_DTYPE_U16);
	CHECK(strcmp(info.image_laterality, "L") == 0 && strcmp(info.photometric, "MONOCHROME2") == 0);
	CHECK(info.has_window && info.window_width == 2800);
	CHECK_OK(pgs_dicom_value(dcm, len, "PatientName", &pgs_malloc_allocator, &value, &found, &err), &err);
	CHECK(found && strchr(value, '^') != NULL);

	pgs_deid_options_init(&opts);
	memcpy(opts.key, "unit test key 16", 16);
	opts.key_len = 16;
	CHECK_OK(pgs_dicom_anonymize(dcm, len, &opts, &pgs_malloc_allocator, &anon, &anon_len, reason, sizeof(reason), &err), &err);
	CHECK(anon != NULL);
	if (anon == NULL)
		return;
	CHECK(memmem(anon, anon_len, value, strlen(value)) == NULL);
	CHECK_OK(pgs_dicom_decode_frame(anon, anon_len, 0, INT64_MAX, &pgs_malloc_allocator, &after, NULL, &err), &err);
	CHECK(memcmp(before.data, after.data, 256 * 192 * 2) == 0);
	free(value);
	CHECK_OK(pgs_dicom_value(anon, anon_len, "PatientIdentityRemoved", &pgs_malloc_allocator, &value, &found, &err), &err);
	CHECK(found && strcmp(value, "YES") == 0);
	free(value);
	free(before.data);
	free(after.data);
	free(anon);
	free(dcm);
	free(info.voi_lut);
}

int
main(void)
{
	pgs_dicom_register_codec();
	RUN(test_hmac_sha256_rfc4231);
	RUN(test_sha256_empty_and_long);
	RUN(test_pseudonyms);
	RUN(test_date_shift);
	RUN(test_scan_rejects_hostile_input);
	RUN(test_parse_tag);
	RUN(test_synthetic_round_trip);
	return unit_done();
}
