/* The NumPy .npy tensor format (versions 1.0, 2.0, 3.0): parse, read into C order, write. */
#ifndef PGS_NPY_H
#define PGS_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/alloc.h"
#include "../common/status.h"
#include "../common/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pgs_npy_header
{
	pgs_dtype	dtype;
	bool		big_endian;
	bool		fortran_order;
	int			ndim;
	int64_t		shape[PGS_TENSOR_MAX_DIMS];
	int			version_major;
	size_t		data_offset;	/* where the array data starts */
	size_t		data_bytes;		/* numel × itemsize, checked against the buffer length */
} pgs_npy_header;

/* Parse and validate the header; the data length must match the shape exactly. */
pgs_status	pgs_npy_parse_header(const uint8_t *buf, size_t len, pgs_npy_header *hdr, pgs_error *err);

/*
 * Parse the header from the first bytes of a file (len may stop anywhere after the header), filling in
 * data_offset and data_bytes without checking them against a length: the caller knows the file's size.
 */
pgs_status	pgs_npy_parse_prefix(const uint8_t *buf, size_t len, pgs_npy_header *hdr, pgs_error *err);

/* Read a whole file into a C-order, native-endian tensor allocated with `allocator`. */
pgs_status	pgs_npy_read(const uint8_t *buf, size_t len, const pgs_allocator *allocator, pgs_tensor *out,
						 pgs_error *err);

/*
 * The NPY version 1.0 prefix (magic, length, header) of a tensor, byte-identical to numpy.save's: returns its
 * length and writes it to out when cap allows; 0 for an invalid tensor. Every image tensor (up to three
 * dimensions, sides below 10^9) has a prefix of exactly PGS_NPY_IMAGE_PREFIX_BYTES.
 */
#define PGS_NPY_IMAGE_PREFIX_BYTES 128
size_t		pgs_npy_header_bytes(const pgs_tensor *tensor, uint8_t *out, size_t cap);

/* Serialise a tensor as NPY version 1.0 (header padded to a multiple of 64 bytes, as NumPy does). */
pgs_status	pgs_npy_write(const pgs_tensor *tensor, const pgs_allocator *allocator, uint8_t **out,
						  size_t *out_len, pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
