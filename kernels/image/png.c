/* PNG decoding and encoding with libpng: every bit depth and colour type, 16-bit kept as 16-bit. */
#include "image.h"
#include "../common/cancel.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * libpng reports errors by longjmp to the setjmp in the function that called it. That jump stays inside
 * this file: no PostgreSQL frame and no caller frame lies between, and everything allocated in between is
 * either libpng's own (freed by png_destroy_*) or recorded in a volatile local freed after the jump.
 */
typedef struct png_io
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
	pgs_buffer *out;
	char		message[256];
} png_io;

static void
on_png_error(png_structp png, png_const_charp msg)
{
	png_io	   *io = png_get_error_ptr(png);

	snprintf(io->message, sizeof(io->message), "%s", msg);
	png_longjmp(png, 1);
}

static void
on_png_warning(png_structp png, png_const_charp msg)
{
	(void) png;
	(void) msg;
}

static void
read_from_memory(png_structp png, png_bytep dest, size_t n)
{
	png_io	   *io = png_get_io_ptr(png);

	if (n > io->len - io->pos)
		png_error(png, "PNG data is truncated");
	memcpy(dest, io->data + io->pos, n);
	io->pos += n;
}

static bool
is_png(const uint8_t *data, size_t len)
{
	return len >= 8 && png_sig_cmp(data, 0, 8) == 0;
}

static int
channels_after_expansion(int color_type, bool has_trns)
{
	switch (color_type)
	{
		case PNG_COLOR_TYPE_GRAY:
			return has_trns ? 2 : 1;
		case PNG_COLOR_TYPE_GRAY_ALPHA:
			return 2;
		case PNG_COLOR_TYPE_PALETTE:
			return has_trns ? 4 : 3;
		case PNG_COLOR_TYPE_RGB:
			return has_trns ? 4 : 3;
		default:
			return 4;
	}
}

/* Read the header into info; png/png_info are libpng objects the caller owns. */
static void
read_png_header(png_structp png, png_infop png_info, pgs_image_info *info)
{
	int			bit_depth,
				color_type;

	png_set_sig_bytes(png, 0);
	png_read_info(png, png_info);
	bit_depth = png_get_bit_depth(png, png_info);
	color_type = png_get_color_type(png, png_info);
	info->format = PGS_FORMAT_PNG;
	info->width = (int) png_get_image_width(png, png_info);
	info->height = (int) png_get_image_height(png, png_info);
	info->channels = channels_after_expansion(color_type,
											  png_get_valid(png, png_info, PNG_INFO_tRNS) != 0);
	info->bits = (color_type == PNG_COLOR_TYPE_PALETTE) ? 8 : bit_depth;
	info->frames = 1;
}

static png_structp
create_reader(png_io *io)
{
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, io, on_png_error, on_png_warning);

	if (png == NULL)
		return NULL;
	png_set_read_fn(png, io, read_from_memory);
	/* Refuse absurd sizes inside libpng too; our own pixel limit is checked after the header. */
	png_set_user_limits(png, 1000000, 1000000);
	png_set_chunk_malloc_max(png, 64 * 1024 * 1024);
	return png;
}

pgs_status
pgs_png_probe(const uint8_t *data, size_t len, pgs_image_info *info, pgs_error *err)
{
	png_io		io = {data, len, 0, NULL, ""};
	png_structp png;
	png_infop	png_info;

	if (!is_png(data, len))
		return pgs_fail(err, PGS_ERR_BAD_DATA, "data is not a PNG file");
	if ((png = create_reader(&io)) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not initialise the PNG decoder");
	if ((png_info = png_create_info_struct(png)) == NULL)
	{
		png_destroy_read_struct(&png, NULL, NULL);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not initialise the PNG decoder");
	}
	if (setjmp(png_jmpbuf(png)))
	{
		png_destroy_read_struct(&png, &png_info, NULL);
		return pgs_fail(err, PGS_ERR_BAD_DATA, "invalid PNG header: %s", io.message);
	}
	read_png_header(png, png_info, info);
	png_destroy_read_struct(&png, &png_info, NULL);
	return PGS_OK;
}

pgs_status
pgs_png_decode(const uint8_t *data, size_t len, const pgs_decode_options *opts,
			   const pgs_allocator *allocator, pgs_image *out, pgs_error *err)
{
	png_io		io = {data, len, 0, NULL, ""};
	png_structp png;
	png_infop	png_info;
	pgs_image_info info;
	uint8_t    *volatile pixels = NULL;
	png_bytep  *volatile rows = NULL;
	pgs_status	st;
	size_t		row_bytes;
	int			bit_depth,
				color_type,
				passes;

	memset(out, 0, sizeof(*out));
	if (opts->frame != 0)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "frame %d requested, a PNG image has one frame",
						opts->frame);
	if (!is_png(data, len))
		return pgs_fail(err, PGS_ERR_BAD_DATA, "data is not a PNG file");
	if ((png = create_reader(&io)) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not initialise the PNG decoder");
	if ((png_info = png_create_info_struct(png)) == NULL)
	{
		png_destroy_read_struct(&png, NULL, NULL);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not initialise the PNG decoder");
	}
	if (setjmp(png_jmpbuf(png)))
	{
		png_destroy_read_struct(&png, &png_info, NULL);
		free(rows);
		pgs_free(allocator, pixels);
		return pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt PNG data: %s", io.message);
	}
	read_png_header(png, png_info, &info);
	if ((st = pgs_image_check_dimensions(info.width, info.height, opts->max_pixels, err)) != PGS_OK)
	{
		png_destroy_read_struct(&png, &png_info, NULL);
		return st;
	}

	bit_depth = png_get_bit_depth(png, png_info);
	color_type = png_get_color_type(png, png_info);
	if (color_type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (png_get_valid(png, png_info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(png);
	if (bit_depth == 16)
	{
		const uint16_t one = 1;

		if (*(const uint8_t *) &one == 1)
			png_set_swap(png);	/* PNG stores big-endian samples */
	}
	passes = png_set_interlace_handling(png);
	png_read_update_info(png, png_info);

	row_bytes = png_get_rowbytes(png, png_info);
	if (row_bytes != (size_t) info.width * info.channels * (bit_depth == 16 ? 2 : 1))
		png_error(png, "unexpected row size after expansion");
	pixels = pgs_alloc(allocator, row_bytes * (size_t) info.height);
	rows = malloc(sizeof(png_bytep) * (size_t) info.height);
	if (pixels == NULL || rows == NULL)
	{
		png_destroy_read_struct(&png, &png_info, NULL);
		free(rows);
		pgs_free(allocator, pixels);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate a %d×%d image", info.width, info.height);
	}
	for (int y = 0; y < info.height; y++)
		rows[y] = pixels + (size_t) y * row_bytes;
	/* png_read_image's loop, with a cancel point every PGS_CANCEL_ROWS rows */
	for (int pass = 0; pass < passes; pass++)
		for (int y = 0; y < info.height; y++)
		{
			if (y % PGS_CANCEL_ROWS == 0 && (st = pgs_cancel_point(err)) != PGS_OK)
			{
				png_destroy_read_struct(&png, &png_info, NULL);
				free(rows);
				pgs_free(allocator, pixels);
				return st;
			}
			png_read_row(png, rows[y], NULL);
		}
	png_read_end(png, NULL);
	png_destroy_read_struct(&png, &png_info, NULL);
	free(rows);

	out->width = info.width;
	out->height = info.height;
	out->channels = info.channels;
	out->dtype = bit_depth == 16 ? PGS_DTYPE_U16 : PGS_DTYPE_U8;
	out->bits = bit_depth == 16 ? 16 : 8;
	out->data = pixels;
	return PGS_OK;
}

static void
write_to_buffer(png_structp png, png_bytep bytes, size_t n)
{
	png_io	   *io = png_get_io_ptr(png);

	if (pgs_buffer_append(io->out, bytes, n) != 0)
		png_error(png, "out of memory while encoding PNG");
}

static void
flush_nothing(png_structp png)
{
	(void) png;
}

pgs_status
pgs_png_encode(const pgs_image *image, const pgs_allocator *allocator, uint8_t **out, size_t *out_len,
			   pgs_error *err)
{
	static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
	PNG_COLOR_TYPE_RGB_ALPHA};
	pgs_buffer	buffer;
	png_io		io = {NULL, 0, 0, &buffer, ""};
	png_structp png;
	png_infop	png_info;
	size_t		sample_bytes,
				row_bytes;

	*out = NULL;
	*out_len = 0;
	if (image->dtype != PGS_DTYPE_U8 && image->dtype != PGS_DTYPE_U16)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "PNG can only hold 8-bit or 16-bit samples");
	if (image->channels < 1 || image->channels > 4)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "PNG can only hold 1 to 4 channels, not %d",
						image->channels);
	if (image->width <= 0 || image->height <= 0 || image->width > 0x7fffffff / 8)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "invalid image size %d×%d", image->width, image->height);
	sample_bytes = pgs_dtype_size(image->dtype);
	row_bytes = (size_t) image->width * (size_t) image->channels * sample_bytes;

	pgs_buffer_init(&buffer, allocator);
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, on_png_error, on_png_warning);
	if (png == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not initialise the PNG encoder");
	if ((png_info = png_create_info_struct(png)) == NULL)
	{
		png_destroy_write_struct(&png, NULL);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not initialise the PNG encoder");
	}
	if (setjmp(png_jmpbuf(png)))
	{
		png_destroy_write_struct(&png, &png_info);
		pgs_buffer_release(&buffer);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not encode PNG: %s", io.message);
	}
	png_set_write_fn(png, &io, write_to_buffer, flush_nothing);
	/* Level 3 with the default adaptive filters: close to level 6's size at a fraction of its time. */
	png_set_compression_level(png, 3);
	png_set_IHDR(png, png_info, (png_uint_32) image->width, (png_uint_32) image->height,
				 (int) sample_bytes * 8, color_types[image->channels], PNG_INTERLACE_NONE,
				 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, png_info);
	if (sample_bytes == 2)
	{
		const uint16_t one = 1;

		if (*(const uint8_t *) &one == 1)
			png_set_swap(png);
	}
	for (int y = 0; y < image->height; y++)
		png_write_row(png, (png_const_bytep) image->data + (size_t) y * row_bytes);
	png_write_end(png, png_info);
	png_destroy_write_struct(&png, &png_info);
	*out = buffer.data;
	*out_len = buffer.len;
	return PGS_OK;
}
