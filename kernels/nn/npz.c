/* .npz import and export with libzip, entirely in memory; every entry is checked before any is used. */
#include "npz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

#ifndef PGS_HAVE_NPZ

pgs_status
pgs_npz_import(pgs_net *net, const uint8_t *data, size_t len, pgs_npz_match match, pgs_npz_report *report,
			   pgs_error *err)
{
	return pgs_fail(err, PGS_ERR_UNSUPPORTED, "this build has no .npz support (libzip was not found)");
}

pgs_status
pgs_npz_export(pgs_net *net, bool deflate, const pgs_allocator *allocator, uint8_t **out, size_t *out_len,
			   pgs_error *err)
{
	return pgs_fail(err, PGS_ERR_UNSUPPORTED, "this build has no .npz support (libzip was not found)");
}

#else

#include <zip.h>
#include <zlib.h>

#include "../image/npy.h"

/* An .npy header never needs more than this beyond the data (NumPy pads headers to 64 bytes). */
#define NPY_HEADER_SLACK 65536
#define MAX_ENTRIES 100000

static bool
ends_with(const char *s, const char *suffix)
{
	size_t		n = strlen(s),
				k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool
is_head_tensor(const char *name)
{
	return strncmp(name, "fc.", 3) == 0 || strncmp(name, "AuxLogits.fc.", 13) == 0;
}

typedef struct pending
{
	int			tensor;
	float	   *values;
} pending;

/*
 * Read entry `index` whole, refusing anything larger than `limit` (a zip bomb claims small, reads big) and
 * anything whose bytes do not match the directory's CRC-32: libzip checks it only for some entries and
 * only when a read reaches the end, so a flipped byte in a stored or deflated weight would load silently.
 */
static pgs_status
read_entry(zip_t *zip, zip_uint64_t index, const char *name, zip_uint64_t size, uint32_t crc, zip_uint64_t limit,
		   uint8_t **out, pgs_error *err)
{
	zip_file_t *file;
	uint8_t    *buf;
	zip_int64_t got;

	*out = NULL;
	if (size > limit)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "npz entry \"%s\" is %llu bytes, more than its tensor needs",
						name, (unsigned long long) size);
	if ((buf = malloc(size + 1)) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory reading npz entry \"%s\"", name);
	if ((file = zip_fopen_index(zip, index, 0)) == NULL)
	{
		free(buf);
		return pgs_fail(err, PGS_ERR_BAD_DATA, "cannot open npz entry \"%s\": %s", name,
						zip_strerror(zip));
	}
	got = zip_fread(file, buf, size + 1);
	if (got < 0 || (zip_uint64_t) got != size)
	{
		pgs_status	st = pgs_fail(err, PGS_ERR_BAD_DATA, "npz entry \"%s\" is corrupt: %s", name,
								  got < 0 ? zip_file_strerror(file) : "its length differs from the directory");

		zip_fclose(file);
		free(buf);
		return st;
	}
	if (zip_fclose(file) != 0)
	{
		free(buf);
		return pgs_fail(err, PGS_ERR_BAD_DATA, "npz entry \"%s\" is corrupt (checksum)", name);
	}
	if (crc32_z(crc32_z(0, NULL, 0), buf, (z_size_t) size) != crc)
	{
		free(buf);
		return pgs_fail(err, PGS_ERR_BAD_DATA, "npz entry \"%s\" is corrupt: its CRC-32 does not match", name);
	}
	*out = buf;
	return PGS_OK;
}

/*
 * The .npy header at the start of entry `index` (a header is at most NPY_HEADER_SLACK bytes), with the
 * declared array checked against the entry's size: a shape can then be judged before any data is read.
 */
static pgs_status
read_header(zip_t *zip, zip_uint64_t index, const char *name, zip_uint64_t size, pgs_npy_header *hdr,
			pgs_error *err)
{
	zip_uint64_t want = size < NPY_HEADER_SLACK + 16 ? size : NPY_HEADER_SLACK + 16;
	uint8_t    *buf;
	zip_file_t *file;
	zip_int64_t got;
	pgs_status	st;

	if ((buf = malloc(want + 1)) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory reading npz entry \"%s\"", name);
	if ((file = zip_fopen_index(zip, index, 0)) == NULL)
	{
		free(buf);
		return pgs_fail(err, PGS_ERR_BAD_DATA, "cannot open npz entry \"%s\": %s", name, zip_strerror(zip));
	}
	got = zip_fread(file, buf, want);
	zip_fclose(file);
	if (got < 0 || (zip_uint64_t) got != want)
		st = pgs_fail(err, PGS_ERR_BAD_DATA, "npz entry \"%s\" is corrupt", name);
	else if ((st = pgs_npy_parse_prefix(buf, want, hdr, err)) != PGS_OK)
		st = pgs_fail(err, st, "npz entry \"%s\" is not a valid .npy array", name);
	else if (hdr->data_offset + hdr->data_bytes != size)
		st = pgs_fail(err, PGS_ERR_BAD_DATA, "npz entry \"%s\" is %llu bytes, but its header declares %zu",
					  name, (unsigned long long) size, hdr->data_offset + hdr->data_bytes);
	free(buf);
	return st;
}

static bool
same_shape(const pgs_npy_header *hdr, const pgs_net_tensor *t)
{
	if (hdr->ndim != t->ndim)
		return false;
	for (int d = 0; d < hdr->ndim; d++)
		if (hdr->shape[d] != t->shape[d])
			return false;
	return true;
}

static void
format_shape(char *out, size_t size, const int64_t *shape, int ndim)
{
	size_t		n = (size_t) snprintf(out, size, "(");

	for (int d = 0; d < ndim && n < size; d++)
		n += (size_t) snprintf(out + n, size - n, "%s%lld", d ? ", " : "", (long long) shape[d]);
	if (n < size)
		snprintf(out + n, size - n, ")");
}

static pgs_status
shape_error(const pgs_net_tensor *t, const pgs_npy_header *hdr, pgs_error *err)
{
	char		have[96],
				want[96];

	format_shape(have, sizeof(have), hdr->shape, hdr->ndim);
	format_shape(want, sizeof(want), t->shape, t->ndim);
	return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "tensor \"%s\" has shape %s, the network needs %s",
					t->name, have, want);
}

/* The values of an entry whose header already matched tensor t. */
static pgs_status
decode_tensor(const pgs_net_tensor *t, const char *entry, const uint8_t *npy, size_t len, float **values,
			  pgs_error *err)
{
	pgs_tensor	tensor;
	pgs_status	st;

	*values = NULL;
	if ((st = pgs_npy_read(npy, len, &pgs_malloc_allocator, &tensor, err)) != PGS_OK)
		return pgs_fail(err, st, "npz entry \"%s\" is not a valid .npy array", entry);
	for (size_t i = 0; i < t->numel; i++)
		if (!isfinite(((float *) tensor.data)[i]))
		{
			free(tensor.data);
			return pgs_fail(err, PGS_ERR_BAD_DATA, "tensor \"%s\" holds a NaN or infinity", t->name);
		}
	*values = tensor.data;
	return PGS_OK;
}

pgs_status
pgs_npz_import(pgs_net *net, const uint8_t *data, size_t len, pgs_npz_match match, pgs_npz_report *report,
			   pgs_error *err)
{
	zip_error_t zerr;
	zip_source_t *src;
	zip_t	   *zip = NULL;
	zip_int64_t n_entries;
	pending    *loads = calloc(net->n_tensors ? net->n_tensors : 1, sizeof(pending));
	pgs_status	st = PGS_OK;

	memset(report, 0, sizeof(*report));
	if (loads == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory reading npz");
	zip_error_init(&zerr);
	if ((src = zip_source_buffer_create(data, len, 0, &zerr)) == NULL ||
		(zip = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr)) == NULL)
	{
		st = pgs_fail(err, PGS_ERR_BAD_DATA, "data is not an npz (zip) archive: %s", zip_error_strerror(&zerr));
		if (src != NULL)
			zip_source_free(src);
		goto done;
	}
	n_entries = zip_get_num_entries(zip, 0);
	if (n_entries < 0 || n_entries > MAX_ENTRIES)
	{
		st = pgs_fail(err, PGS_ERR_LIMIT, "npz archive has too many entries");
		goto done;
	}
	for (zip_int64_t e = 0; e < n_entries && st == PGS_OK; e++)
	{
		zip_stat_t	zs;
		char		name[128];
		const pgs_net_tensor *t;
		int			ti;
		uint8_t    *npy;
		pgs_npy_header hdr;

		if (zip_stat_index(zip, e, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_NAME) || !(zs.valid & ZIP_STAT_SIZE) ||
			!(zs.valid & ZIP_STAT_CRC))
		{
			st = pgs_fail(err, PGS_ERR_BAD_DATA, "npz entry %lld is unreadable", (long long) e);
			break;
		}
		if (!ends_with(zs.name, ".npy") || strlen(zs.name) - 4 >= sizeof(name))
		{
			st = pgs_fail(err, PGS_ERR_BAD_DATA, "npz entry \"%.100s\" is not an .npy file", zs.name);
			break;
		}
		snprintf(name, sizeof(name), "%.*s", (int) (strlen(zs.name) - 4), zs.name);
		if (ends_with(name, ".num_batches_tracked"))
			continue;
		t = pgs_net_find_tensor(net, name);
		if (t == NULL && match == PGS_NPZ_PRETRAINED && strncmp(name, "AuxLogits.", 10) == 0)
			goto skip;
		if (t == NULL)
		{
			st = pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "npz has tensor \"%s\", which %s does not have", name,
						  pgs_arch_name(net->config.arch));
			break;
		}
		ti = (int) (t - net->tensors);
		if (loads[ti].values != NULL)
		{
			st = pgs_fail(err, PGS_ERR_BAD_DATA, "npz has tensor \"%s\" twice", name);
			break;
		}
		/*
		 * The header first: ImageNet's 1000-class head is skipped on its declared shape without reading its
		 * data, and an entry is read whole only when its shape is the tensor's, so no entry makes the import
		 * allocate more than the network's own tensors need.
		 */
		if ((st = read_header(zip, e, zs.name, zs.size, &hdr, err)) != PGS_OK)
			break;
		if (hdr.dtype != PGS_DTYPE_F32)
		{
			st = pgs_fail(err, PGS_ERR_UNSUPPORTED, "tensor \"%s\" is %s, not float32", t->name,
						  pgs_dtype_name(hdr.dtype));
			break;
		}
		if (!same_shape(&hdr, t))
		{
			if (match == PGS_NPZ_PRETRAINED && is_head_tensor(name))
				goto skip;
			st = shape_error(t, &hdr, err);
			break;
		}
		if ((st = read_entry(zip, e, zs.name, zs.size, zs.crc, t->numel * sizeof(float) + NPY_HEADER_SLACK, &npy,
							 err)) != PGS_OK)
			break;
		st = decode_tensor(t, zs.name, npy, zs.size, &loads[ti].values, err);
		free(npy);
		if (st != PGS_OK)
			break;
		continue;
skip:
		if (report->skipped++ == 0)
			snprintf(report->first_skipped, sizeof(report->first_skipped), "%s", name);
	}
	for (int i = 0; i < net->n_tensors && st == PGS_OK; i++)
		if (loads[i].values == NULL &&
			!(match == PGS_NPZ_PRETRAINED && is_head_tensor(net->tensors[i].name)))
			st = pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "npz lacks tensor \"%s\"", net->tensors[i].name);
	/* All checks passed: only now touch the network. */
	for (int i = 0; i < net->n_tensors && st == PGS_OK; i++)
		if (loads[i].values != NULL)
		{
			st = pgs_net_write_tensor(net, i, loads[i].values, err);
			report->loaded++;
		}
done:
	if (zip != NULL)
		zip_discard(zip);
	for (int i = 0; i < net->n_tensors; i++)
		free(loads[i].values);
	free(loads);
	return st;
}

/* numpy.save's layout of a 0-d int64 array: magic, version 1.0, header padded with spaces to 128 bytes. */
#define INT64_NPY_BYTES (128 + 8)

static size_t
int64_scalar_npy(int64_t value, uint8_t *out)
{
	static const char dict[] = "{'descr': '<i8', 'fortran_order': False, 'shape': (), }";
	size_t		header_len = 128 - 10;
	uint64_t	v = (uint64_t) value;

	memcpy(out, "\x93NUMPY\x01\x00", 8);
	out[8] = (uint8_t) header_len;
	out[9] = 0;
	memset(out + 10, ' ', header_len);
	memcpy(out + 10, dict, sizeof(dict) - 1);
	out[10 + header_len - 1] = '\n';
	for (int b = 0; b < 8; b++)
		out[128 + b] = (uint8_t) (v >> (8 * b));
	return INT64_NPY_BYTES;
}

typedef struct export_state
{
	zip_t	   *zip;
	uint8_t   **blobs;			/* kept alive until zip_close */
	int			n_blobs;
	bool		deflate;
} export_state;

static pgs_status
add_entry(export_state *x, const char *name, uint8_t *blob, size_t len, pgs_error *err)
{
	zip_source_t *s;
	zip_int64_t index;
	char		entry[128];

	x->blobs[x->n_blobs++] = blob;
	snprintf(entry, sizeof(entry), "%s.npy", name);
	if ((s = zip_source_buffer(x->zip, blob, len, 0)) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "cannot add \"%s\" to npz: %s", entry, zip_strerror(x->zip));
	if ((index = zip_file_add(x->zip, entry, s, ZIP_FL_ENC_UTF_8)) < 0)
	{
		zip_source_free(s);
		return pgs_fail(err, PGS_ERR_INTERNAL, "cannot add \"%s\" to npz: %s", entry, zip_strerror(x->zip));
	}
	if (zip_set_file_compression(x->zip, index, x->deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) != 0)
		return pgs_fail(err, PGS_ERR_INTERNAL, "cannot set npz compression: %s", zip_strerror(x->zip));
	return PGS_OK;
}

static pgs_status
add_tensors(pgs_net *net, export_state *x, pgs_error *err)
{
	pgs_status	st;

	for (int i = 0; i < net->n_tensors; i++)
	{
		const pgs_net_tensor *t = &net->tensors[i];
		pgs_tensor	tensor = {PGS_DTYPE_F32, t->ndim, {0}, NULL};
		uint8_t    *npy;
		size_t		npy_len;

		for (int d = 0; d < t->ndim; d++)
			tensor.shape[d] = t->shape[d];
		if ((tensor.data = malloc(t->numel * sizeof(float))) == NULL)
			return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory writing npz");
		st = pgs_net_read_tensor(net, i, tensor.data, err);
		if (st == PGS_OK)
			st = pgs_npy_write(&tensor, &pgs_malloc_allocator, &npy, &npy_len, err);
		free(tensor.data);
		if (st != PGS_OK || (st = add_entry(x, t->name, npy, npy_len, err)) != PGS_OK)
			return st;
		/* torchvision's BatchNorm2d ends with its counter, after running_var. */
		if (ends_with(t->name, ".running_var"))
		{
			char		counter[128];
			uint8_t    *blob = malloc(INT64_NPY_BYTES);

			if (blob == NULL)
				return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory writing npz");
			snprintf(counter, sizeof(counter), "%.*s.num_batches_tracked",
					 (int) (strlen(t->name) - strlen(".running_var")), t->name);
			if ((st = add_entry(x, counter, blob, int64_scalar_npy(net->batches_tracked, blob), err)) != PGS_OK)
				return st;
		}
	}
	return PGS_OK;
}

/* The finished archive's bytes, copied out of libzip's in-memory source. */
static pgs_status
copy_out(zip_source_t *src, const pgs_allocator *allocator, uint8_t **out, size_t *out_len, pgs_error *err)
{
	zip_stat_t	zs;
	uint8_t    *buf;

	if (zip_source_stat(src, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE) || zip_source_open(src) != 0)
		return pgs_fail(err, PGS_ERR_INTERNAL, "cannot read back the npz archive");
	if ((buf = pgs_alloc(allocator, zs.size ? zs.size : 1)) == NULL)
	{
		zip_source_close(src);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory for a %llu-byte npz",
						(unsigned long long) zs.size);
	}
	if (zip_source_read(src, buf, zs.size) != (zip_int64_t) zs.size)
	{
		zip_source_close(src);
		pgs_free(allocator, buf);
		return pgs_fail(err, PGS_ERR_INTERNAL, "cannot read back the npz archive");
	}
	zip_source_close(src);
	*out = buf;
	*out_len = zs.size;
	return PGS_OK;
}

pgs_status
pgs_npz_export(pgs_net *net, bool deflate, const pgs_allocator *allocator, uint8_t **out, size_t *out_len,
			   pgs_error *err)
{
	zip_error_t zerr;
	zip_source_t *src;
	export_state x = {NULL, NULL, 0, deflate};
	pgs_status	st;

	*out = NULL;
	*out_len = 0;
	zip_error_init(&zerr);
	if ((x.blobs = calloc(2 * (size_t) net->n_tensors + 1, sizeof(uint8_t *))) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory writing npz");
	if ((src = zip_source_buffer_create(NULL, 0, 0, &zerr)) == NULL ||
		(x.zip = zip_open_from_source(src, ZIP_TRUNCATE, &zerr)) == NULL)
	{
		st = pgs_fail(err, PGS_ERR_NO_MEMORY, "cannot create an npz archive: %s", zip_error_strerror(&zerr));
		if (src != NULL)
			zip_source_free(src);
		goto done;
	}
	zip_source_keep(src);		/* survives zip_close, which writes the archive into it */
	if ((st = add_tensors(net, &x, err)) != PGS_OK)
	{
		zip_discard(x.zip);
		zip_source_free(src);
		goto done;
	}
	if (zip_close(x.zip) != 0)
	{
		st = pgs_fail(err, PGS_ERR_INTERNAL, "cannot finish the npz archive: %s", zip_strerror(x.zip));
		zip_discard(x.zip);
		zip_source_free(src);
		goto done;
	}
	st = copy_out(src, allocator, out, out_len, err);
	zip_source_free(src);
done:
	for (int i = 0; i < x.n_blobs; i++)
		free(x.blobs[i]);
	free(x.blobs);
	return st;
}

#endif
