/* NPY reader and writer: a strict header parser (the header is untrusted input) and a NumPy-compatible writer. */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* Headers are small; NumPy itself refuses ones over 10 kB by default. */
#define NPY_MAX_HEADER_BYTES (1 << 16)

static bool
host_is_little_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *) &one == 1;
}

typedef struct header_cursor
{
	const char *p;
	const char *end;
} header_cursor;

static void
skip_spaces(header_cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool
accept_char(header_cursor *c, char ch)
{
	skip_spaces(c);
	if (c->p < c->end && *c->p == ch)
	{
		c->p++;
		return true;
	}
	return false;
}

/* A Python string literal in single or double quotes, without escapes (NumPy never writes any). */
static bool
read_string(header_cursor *c, char *out, size_t out_size)
{
	char		quote;
	size_t		n = 0;

	skip_spaces(c);
	if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
		return false;
	quote = *c->p++;
	while (c->p < c->end && *c->p != quote)
	{
		if (*c->p == '\\' || n + 1 >= out_size)
			return false;
		out[n++] = *c->p++;
	}
	if (c->p >= c->end)
		return false;
	c->p++;
	out[n] = '\0';
	return true;
}

static bool
read_word(header_cursor *c, const char *word)
{
	size_t		n = strlen(word);

	skip_spaces(c);
	if ((size_t) (c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool
read_int64(header_cursor *c, int64_t *value)
{
	int64_t		v = 0;
	bool		any = false;

	skip_spaces(c);
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
	{
		int			digit = *c->p - '0';

		if (v > (INT64_MAX - digit) / 10)
			return false;
		v = v * 10 + digit;
		c->p++;
		any = true;
	}
	/* Python 2 era files may carry an 'L' suffix on longs. */
	if (any && c->p < c->end && *c->p == 'L')
		c->p++;
	*value = v;
	return any;
}

static pgs_status
parse_descr(const char *descr, pgs_npy_header *hdr, pgs_error *err)
{
	char		order = descr[0];
	const char *type = descr;

	if (order == '<' || order == '>' || order == '|' || order == '=')
		type = descr + 1;
	else
		order = '=';
	if (strcmp(type, "u1") == 0 || strcmp(type, "B") == 0)
		hdr->dtype = PGS_DTYPE_U8;
	else if (strcmp(type, "u2") == 0)
		hdr->dtype = PGS_DTYPE_U16;
	else if (strcmp(type, "f4") == 0)
		hdr->dtype = PGS_DTYPE_F32;
	else
		return pgs_fail(err, PGS_ERR_UNSUPPORTED,
						"NPY dtype \"%s\" is not supported (uint8, uint16 and float32 are)", descr);
	if (order == '=')
		hdr->big_endian = !host_is_little_endian();
	else
		hdr->big_endian = (order == '>') && hdr->dtype != PGS_DTYPE_U8;
	return PGS_OK;
}

static pgs_status
parse_shape(header_cursor *c, pgs_npy_header *hdr, pgs_error *err)
{
	if (!accept_char(c, '('))
		return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY header has a malformed shape");
	hdr->ndim = 0;
	for (;;)
	{
		int64_t		dim;

		if (accept_char(c, ')'))
			return PGS_OK;
		if (!read_int64(c, &dim))
			return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY header has a malformed shape");
		if (hdr->ndim == PGS_TENSOR_MAX_DIMS)
			return pgs_fail(err, PGS_ERR_LIMIT, "NPY array has more than %d dimensions",
							PGS_TENSOR_MAX_DIMS);
		hdr->shape[hdr->ndim++] = dim;
		if (!accept_char(c, ','))
		{
			if (accept_char(c, ')'))
				return PGS_OK;
			return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY header has a malformed shape");
		}
	}
}

static pgs_status
parse_dict(const char *text, size_t text_len, pgs_npy_header *hdr, pgs_error *err)
{
	header_cursor c = {text, text + text_len};
	bool		have_descr = false,
				have_order = false,
				have_shape = false;
	pgs_status	st;

	if (!accept_char(&c, '{'))
		return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY header is not a dictionary");
	while (!accept_char(&c, '}'))
	{
		char		key[32];

		if (!read_string(&c, key, sizeof(key)) || !accept_char(&c, ':'))
			return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY header dictionary is malformed");
		if (strcmp(key, "descr") == 0 && !have_descr)
		{
			char		descr[32];

			if (!read_string(&c, descr, sizeof(descr)))
				return pgs_fail(err, PGS_ERR_UNSUPPORTED,
								"NPY dtype is not a simple type (structured arrays are not supported)");
			if ((st = parse_descr(descr, hdr, err)) != PGS_OK)
				return st;
			have_descr = true;
		}
		else if (strcmp(key, "fortran_order") == 0 && !have_order)
		{
			if (read_word(&c, "True"))
				hdr->fortran_order = true;
			else if (read_word(&c, "False"))
				hdr->fortran_order = false;
			else
				return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY header has a malformed fortran_order");
			have_order = true;
		}
		else if (strcmp(key, "shape") == 0 && !have_shape)
		{
			if ((st = parse_shape(&c, hdr, err)) != PGS_OK)
				return st;
			have_shape = true;
		}
		else
			return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY header has an unexpected or repeated key \"%s\"", key);
		if (!accept_char(&c, ','))
		{
			if (accept_char(&c, '}'))
				break;
			return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY header dictionary is malformed");
		}
	}
	if (!have_descr || !have_order || !have_shape)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY header lacks one of descr, fortran_order, shape");
	return PGS_OK;
}

pgs_status
pgs_npy_parse_prefix(const uint8_t *buf, size_t len, pgs_npy_header *hdr, pgs_error *err)
{
	size_t		prefix,
				header_len;
	pgs_tensor	shape_only;
	int64_t		numel;
	pgs_status	st;

	memset(hdr, 0, sizeof(*hdr));
	if (len < 10 || memcmp(buf, npy_magic, sizeof(npy_magic)) != 0)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "data is not in NPY format");
	hdr->version_major = buf[6];
	if (hdr->version_major == 1)
	{
		prefix = 10;
		header_len = (size_t) buf[8] | ((size_t) buf[9] << 8);
	}
	else if (hdr->version_major == 2 || hdr->version_major == 3)
	{
		if (len < 12)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY header is truncated");
		prefix = 12;
		header_len = (size_t) buf[8] | ((size_t) buf[9] << 8) | ((size_t) buf[10] << 16) |
			((size_t) buf[11] << 24);
	}
	else
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "NPY format version %d is not supported", buf[6]);
	if (header_len > NPY_MAX_HEADER_BYTES)
		return pgs_fail(err, PGS_ERR_LIMIT, "NPY header of %zu bytes is too long", header_len);
	if (header_len > len - prefix)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY header is truncated");
	if ((st = parse_dict((const char *) buf + prefix, header_len, hdr, err)) != PGS_OK)
		return st;

	shape_only.dtype = hdr->dtype;
	shape_only.ndim = hdr->ndim;
	memcpy(shape_only.shape, hdr->shape, sizeof(hdr->shape));
	numel = pgs_tensor_numel(&shape_only);
	if (numel < 0 || (uint64_t) numel > SIZE_MAX / pgs_dtype_size(hdr->dtype))
		return pgs_fail(err, PGS_ERR_LIMIT, "NPY array size overflows");
	hdr->data_offset = prefix + header_len;
	hdr->data_bytes = (size_t) numel * pgs_dtype_size(hdr->dtype);
	if (hdr->data_bytes > SIZE_MAX - hdr->data_offset)
		return pgs_fail(err, PGS_ERR_LIMIT, "NPY array size overflows");
	return PGS_OK;
}

pgs_status
pgs_npy_parse_header(const uint8_t *buf, size_t len, pgs_npy_header *hdr, pgs_error *err)
{
	pgs_status	st;

	if ((st = pgs_npy_parse_prefix(buf, len, hdr, err)) != PGS_OK)
		return st;
	if (len - hdr->data_offset < hdr->data_bytes)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY data is truncated: shape needs %zu bytes, %zu present",
						hdr->data_bytes, len - hdr->data_offset);
	if (len - hdr->data_offset > hdr->data_bytes)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "NPY data has %zu bytes after the array",
						len - hdr->data_offset - hdr->data_bytes);
	return PGS_OK;
}

static void
byteswap_in_place(void *data, size_t numel, size_t itemsize)
{
	uint8_t    *p = data;

	for (size_t i = 0; i < numel; i++, p += itemsize)
		for (size_t a = 0, b = itemsize - 1; a < b; a++, b--)
		{
			uint8_t		t = p[a];

			p[a] = p[b];
			p[b] = t;
		}
}

/* Copy Fortran-order (column-major) src into C-order dst: walk dst in order, advancing a source offset. */
static void
fortran_to_c_order(const uint8_t *src, uint8_t *dst, const int64_t *shape, int ndim, size_t itemsize)
{
	int64_t		index[PGS_TENSOR_MAX_DIMS] = {0};
	int64_t		fstride[PGS_TENSOR_MAX_DIMS];
	int64_t		numel = 1;
	int64_t		src_offset = 0;

	for (int d = 0; d < ndim; d++)
	{
		fstride[d] = numel;
		numel *= shape[d];
	}
	for (int64_t i = 0; i < numel; i++)
	{
		memcpy(dst + (size_t) i * itemsize, src + (size_t) src_offset * itemsize, itemsize);
		for (int d = ndim - 1; d >= 0; d--)
		{
			index[d]++;
			src_offset += fstride[d];
			if (index[d] < shape[d])
				break;
			src_offset -= index[d] * fstride[d];
			index[d] = 0;
		}
	}
}

pgs_status
pgs_npy_read(const uint8_t *buf, size_t len, const pgs_allocator *allocator, pgs_tensor *out, pgs_error *err)
{
	pgs_npy_header hdr;
	pgs_status	st;
	size_t		itemsize;
	uint8_t    *data;

	memset(out, 0, sizeof(*out));
	if ((st = pgs_npy_parse_header(buf, len, &hdr, err)) != PGS_OK)
		return st;
	itemsize = pgs_dtype_size(hdr.dtype);
	data = pgs_alloc(allocator, hdr.data_bytes);
	if (data == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate %zu bytes for an NPY array", hdr.data_bytes);
	if (hdr.fortran_order && hdr.ndim > 1)
		fortran_to_c_order(buf + hdr.data_offset, data, hdr.shape, hdr.ndim, itemsize);
	else
		memcpy(data, buf + hdr.data_offset, hdr.data_bytes);
	if (hdr.big_endian != !host_is_little_endian() && itemsize > 1)
		byteswap_in_place(data, hdr.data_bytes / itemsize, itemsize);

	out->dtype = hdr.dtype;
	out->ndim = hdr.ndim;
	memcpy(out->shape, hdr.shape, sizeof(hdr.shape));
	out->data = data;
	return PGS_OK;
}

static const char *
descr_for(pgs_dtype dtype)
{
	bool		le = host_is_little_endian();

	switch (dtype)
	{
		case PGS_DTYPE_U8:
			return "|u1";
		case PGS_DTYPE_U16:
			return le ? "<u2" : ">u2";
		case PGS_DTYPE_F32:
			return le ? "<f4" : ">f4";
	}
	return NULL;
}

size_t
pgs_npy_header_bytes(const pgs_tensor *tensor, uint8_t *out, size_t cap)
{
	char		dict[512];
	int			n;
	size_t		header_len;
	const char *descr = descr_for(tensor->dtype);

	if (descr == NULL || tensor->ndim < 0 || tensor->ndim > PGS_TENSOR_MAX_DIMS || pgs_tensor_numel(tensor) < 0)
		return 0;
	n = snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
	for (int d = 0; d < tensor->ndim; d++)
		n += snprintf(dict + n, sizeof(dict) - n, "%lld,%s", (long long) tensor->shape[d],
					  (d + 1 < tensor->ndim) ? " " : "");
	/* Python writes a 1-tuple as "(5,)" and longer ones as "(3, 4)". */
	if (tensor->ndim > 1)
		n--;
	n += snprintf(dict + n, sizeof(dict) - n, "), }");

	/*
	 * NumPy (1.23 and later) leaves room for the first axis to grow to 21 digits in place, then pads with
	 * spaces so that magic + length + header is a multiple of 64, ending in a newline. Doing the same makes
	 * our files byte-identical to numpy.save's.
	 */
	header_len = (size_t) n + 1;
	if (tensor->ndim > 0)
	{
		char		first[24];
		int			digits = snprintf(first, sizeof(first), "%lld", (long long) tensor->shape[0]);

		header_len += (size_t) (21 - digits);
	}
	header_len += (64 - (10 + header_len) % 64) % 64;
	if (out == NULL || cap < 10 + header_len)
		return 10 + header_len;
	memcpy(out, npy_magic, sizeof(npy_magic));
	out[6] = 1;
	out[7] = 0;
	out[8] = (uint8_t) (header_len & 0xff);
	out[9] = (uint8_t) (header_len >> 8);
	memcpy(out + 10, dict, (size_t) n);
	memset(out + 10 + n, ' ', header_len - (size_t) n - 1);
	out[10 + header_len - 1] = '\n';
	return 10 + header_len;
}

pgs_status
pgs_npy_write(const pgs_tensor *tensor, const pgs_allocator *allocator, uint8_t **out, size_t *out_len,
			  pgs_error *err)
{
	size_t		prefix = pgs_npy_header_bytes(tensor, NULL, 0);
	size_t		data_bytes,
				total;
	uint8_t    *file;

	*out = NULL;
	*out_len = 0;
	if (prefix == 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "tensor has an invalid dtype or shape");
	data_bytes = (size_t) pgs_tensor_numel(tensor) * pgs_dtype_size(tensor->dtype);
	total = prefix + data_bytes;
	file = pgs_alloc(allocator, total);
	if (file == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate %zu bytes for an NPY file", total);
	pgs_npy_header_bytes(tensor, file, prefix);
	if (data_bytes > 0)
		memcpy(file + prefix, tensor->data, data_bytes);
	*out = file;
	*out_len = total;
	return PGS_OK;
}
