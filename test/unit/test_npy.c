/* Unit tests of the NPY reader and writer: round trips, NumPy's exact header layout, hostile headers. */
#include "../../kernels/image/npy.h"
#include "unit.h"

static pgs_error err;

/* Build an NPY v1 file from a header dict and raw data. */
static size_t
make_npy(uint8_t *out, const char *dict, const void *data, size_t data_len)
{
	size_t		hlen = strlen(dict);

	memcpy(out, "\x93NUMPY\x01\x00", 8);
	out[8] = (uint8_t) (hlen & 0xff);
	out[9] = (uint8_t) (hlen >> 8);
	memcpy(out + 10, dict, hlen);
	memcpy(out + 10 + hlen, data, data_len);
	return 10 + hlen + data_len;
}

static void
test_round_trip_each_dtype(void)
{
	uint8_t		u8[24];
	uint16_t	u16[24];
	float		f32[24];
	void	   *datas[3] = {u8, u16, f32};
	pgs_dtype	dtypes[3] = {PGS_DTYPE_U8, PGS_DTYPE_U16, PGS_DTYPE_F32};

	for (int i = 0; i < 24; i++)
	{
		u8[i] = (uint8_t) (i * 11);
		u16[i] = (uint16_t) (i * 2731);
		f32[i] = (float) i / 7.0f - 1.5f;
	}
	for (int k = 0; k < 3; k++)
	{
		pgs_tensor	t = {dtypes[k], 3, {2, 3, 4}, datas[k]};
		pgs_tensor	back;
		uint8_t    *file;
		size_t		len;

		CHECK_OK(pgs_npy_write(&t, &pgs_malloc_allocator, &file, &len, &err), &err);
		CHECK((len - 24 * pgs_dtype_size(dtypes[k])) % 64 == 0);
		CHECK(file[len - 24 * pgs_dtype_size(dtypes[k]) - 1] == '\n');
		CHECK_OK(pgs_npy_read(file, len, &pgs_malloc_allocator, &back, &err), &err);
		CHECK(back.dtype == dtypes[k] && back.ndim == 3);
		CHECK(back.shape[0] == 2 && back.shape[1] == 3 && back.shape[2] == 4);
		CHECK(memcmp(back.data, datas[k], 24 * pgs_dtype_size(dtypes[k])) == 0);
		free(back.data);
		free(file);
	}
}

/* Files must be byte-identical to what numpy.save (1.24, Debian 12) writes for the same array. */
static void
check_numpy_bytes(const pgs_tensor *t, const char *dict, size_t expected_header_len)
{
	uint8_t    *file;
	size_t		len;
	size_t		dict_len = strlen(dict);

	CHECK_OK(pgs_npy_write(t, &pgs_malloc_allocator, &file, &len, &err), &err);
	CHECK(file[8] == (expected_header_len & 0xff) && file[9] == (expected_header_len >> 8));
	CHECK(memcmp(file + 10, dict, dict_len) == 0);
	for (size_t i = 10 + dict_len; i < 10 + expected_header_len - 1; i++)
		CHECKF(file[i] == ' ', "byte %zu is not padding", i);
	CHECK(file[10 + expected_header_len - 1] == '\n');
	free(file);
}

static void
test_header_matches_numpy(void)
{
	uint8_t		data[6] = {0};
	pgs_tensor	t1 = {PGS_DTYPE_U8, 1, {6}, data};
	pgs_tensor	t2 = {PGS_DTYPE_U8, 2, {2, 3}, data};
	pgs_tensor	t0 = {PGS_DTYPE_F32, 0, {0}, data};

	/* Header lengths as numpy.save gives them: b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', ..." */
	check_numpy_bytes(&t1, "{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }", 118);
	check_numpy_bytes(&t2, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", 118);
	check_numpy_bytes(&t0, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 118);
}

static void
test_fortran_order_is_transposed(void)
{
	/* A 2×3 array [[0,1,2],[3,4,5]] stored column-major is 0,3,1,4,2,5. */
	uint8_t		col_major[6] = {0, 3, 1, 4, 2, 5};
	uint8_t		file[256];
	size_t		len = make_npy(file, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", col_major, 6);
	pgs_tensor	t;

	CHECK_OK(pgs_npy_read(file, len, &pgs_malloc_allocator, &t, &err), &err);
	for (int i = 0; i < 6; i++)
		CHECKF(((uint8_t *) t.data)[i] == i, "element %d is %d", i, ((uint8_t *) t.data)[i]);
	free(t.data);
}

static void
test_three_d_fortran_order(void)
{
	/* shape (2,2,2): C-order value v(i,j,k) = 4i+2j+k; Fortran offset = i + 2j + 4k. */
	uint16_t	fdata[8];
	uint8_t		file[256];
	size_t		len;
	pgs_tensor	t;

	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			for (int k = 0; k < 2; k++)
				fdata[i + 2 * j + 4 * k] = (uint16_t) (4 * i + 2 * j + k);
	len = make_npy(file, "{'descr': '<u2', 'fortran_order': True, 'shape': (2, 2, 2), }", fdata, sizeof(fdata));
	CHECK_OK(pgs_npy_read(file, len, &pgs_malloc_allocator, &t, &err), &err);
	for (int i = 0; i < 8; i++)
		CHECKF(((uint16_t *) t.data)[i] == i, "element %d is %d", i, ((uint16_t *) t.data)[i]);
	free(t.data);
}

static void
test_big_endian_is_swapped(void)
{
	uint8_t		be[4] = {0x01, 0x02, 0xAB, 0xCD};
	uint8_t		file[256];
	size_t		len = make_npy(file, "{'descr': '>u2', 'fortran_order': False, 'shape': (2,), }", be, 4);
	pgs_tensor	t;
	float		one = 1.0f;
	uint8_t		be_one[4];

	CHECK_OK(pgs_npy_read(file, len, &pgs_malloc_allocator, &t, &err), &err);
	CHECK(((uint16_t *) t.data)[0] == 0x0102 && ((uint16_t *) t.data)[1] == 0xABCD);
	free(t.data);

	memcpy(be_one, &one, 4);
	for (int i = 0; i < 2; i++)
	{
		uint8_t		tmp = be_one[i];

		be_one[i] = be_one[3 - i];
		be_one[3 - i] = tmp;
	}
	len = make_npy(file, "{\"descr\": \">f4\", \"shape\": (1,), \"fortran_order\": False}", be_one, 4);
	CHECK_OK(pgs_npy_read(file, len, &pgs_malloc_allocator, &t, &err), &err);
	CHECK(((float *) t.data)[0] == 1.0f);
	free(t.data);
}

static void
test_version_two_header(void)
{
	const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }\n";
	uint8_t		file[256];
	size_t		hlen = strlen(dict);
	pgs_tensor	t;

	memcpy(file, "\x93NUMPY\x02\x00", 8);
	file[8] = (uint8_t) hlen;
	file[9] = file[10] = file[11] = 0;
	memcpy(file + 12, dict, hlen);
	memcpy(file + 12 + hlen, "abc", 3);
	CHECK_OK(pgs_npy_read(file, 12 + hlen + 3, &pgs_malloc_allocator, &t, &err), &err);
	CHECK(t.ndim == 1 && t.shape[0] == 3 && memcmp(t.data, "abc", 3) == 0);
	free(t.data);
}

static void
test_hostile_headers(void)
{
	static const struct
	{
		const char *dict;
		size_t		data_len;
		pgs_status	expected;
	}			cases[] = {
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 8, PGS_ERR_UNSUPPORTED},
		{"{'descr': [('a', '<u1')], 'fortran_order': False, 'shape': (1,), }", 1, PGS_ERR_UNSUPPORTED},
		{"{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", 3, PGS_ERR_BAD_DATA},
		{"{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", 3, PGS_ERR_BAD_DATA},
		{"{'descr': '|u1', 'fortran_order': False}", 1, PGS_ERR_BAD_DATA},
		{"{'descr': '|u1', 'fortran_order': Maybe, 'shape': (1,), }", 1, PGS_ERR_BAD_DATA},
		{"{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'extra': 1}", 1, PGS_ERR_BAD_DATA},
		{"{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': (1,)}", 1, PGS_ERR_BAD_DATA},
		{"{'descr': '|u1', 'fortran_order': False, 'shape': (-1,), }", 1, PGS_ERR_BAD_DATA},
		{"{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 3, 4, 5, 6, 7, 8, 9), }", 1, PGS_ERR_LIMIT},
		{"{'descr': '|u1', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", 1, PGS_ERR_LIMIT},
		{"{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999,), }", 1, PGS_ERR_BAD_DATA},
		{"{'descr': '|u1', 'fortran_order': False, 'shape': (1", 0, PGS_ERR_BAD_DATA},
		{"['descr']", 1, PGS_ERR_BAD_DATA},
		{"{'descr: '|u1'}", 1, PGS_ERR_BAD_DATA},
	};
	uint8_t		zeros[16] = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		uint8_t		file[512];
		size_t		len = make_npy(file, cases[i].dict, zeros, cases[i].data_len);
		pgs_tensor	t;
		pgs_status	st = pgs_npy_read(file, len, &pgs_malloc_allocator, &t, &err);

		CHECKF(st == cases[i].expected, "case %zu (%s): got %s (%s)", i, cases[i].dict, pgs_strerror(st),
			   err.message);
		if (st == PGS_OK)
			free(t.data);
	}
}

static void
test_truncated_prefixes(void)
{
	uint8_t		data[12] = {0};
	pgs_tensor	t = {PGS_DTYPE_U16, 2, {2, 3}, data};
	uint8_t    *file;
	size_t		len;

	CHECK_OK(pgs_npy_write(&t, &pgs_malloc_allocator, &file, &len, &err), &err);
	/* Every strict prefix must fail cleanly. */
	for (size_t cut = 0; cut < len; cut++)
	{
		pgs_tensor	back;

		CHECKF(pgs_npy_read(file, cut, &pgs_malloc_allocator, &back, &err) != PGS_OK, "prefix %zu accepted", cut);
	}
	free(file);
	CHECK_FAILS(pgs_npy_read((const uint8_t *) "\x93NUMPY\x09\x00\x00\x00", 10, &pgs_malloc_allocator, &t, &err),
				PGS_ERR_UNSUPPORTED, &err);
}

int
main(void)
{
	RUN(test_round_trip_each_dtype);
	RUN(test_header_matches_numpy);
	RUN(test_fortran_order_is_transposed);
	RUN(test_three_d_fortran_order);
	RUN(test_big_endian_is_swapped);
	RUN(test_version_two_header);
	RUN(test_hostile_headers);
	RUN(test_truncated_prefixes);
	return unit_done();
}
