/* Network input prepared on the device from uploaded uint8 images. */
#include "device_batch.h"

#include <string.h>

void
pgs_device_batch_init(pgs_device_batch *b, const pgs_ops *ops, int height, int width, int channels)
{
	memset(b, 0, sizeof(*b));
	b->ops = ops;
	b->height = height;
	b->width = width;
	b->channels = channels;
}

static void
release(pgs_device_batch *b)
{
	if (b->ops == NULL)
		return;
	if (b->images)
		b->ops->free(b->ops->ctx, b->images);
	if (b->params)
		b->ops->free(b->ops->ctx, b->params);
	if (b->input)
		b->ops->free(b->ops->ctx, b->input);
	b->images = NULL;
	b->params = NULL;
	b->input = NULL;
	b->capacity = 0;
}

static pgs_status
reserve(pgs_device_batch *b, int n, pgs_error *err)
{
	size_t		pixels = (size_t) b->height * b->width * b->channels;
	const pgs_ops *o = b->ops;
	pgs_status	st;

	if (n <= b->capacity)
		return PGS_OK;
	release(b);
	if ((st = o->alloc(o->ctx, pixels * (size_t) n, (void **) &b->images, err)) != PGS_OK ||
		(st = o->alloc(o->ctx, sizeof(pgs_augment_params) * (size_t) n, (void **) &b->params, err)) != PGS_OK ||
		(st = o->alloc(o->ctx, sizeof(float) * pixels * (size_t) n, (void **) &b->input, err)) != PGS_OK)
	{
		release(b);
		return st;
	}
	b->capacity = n;
	return PGS_OK;
}

pgs_status
pgs_device_batch_prepare(pgs_device_batch *b, int n, const uint8_t *images, const pgs_augment_params *params,
						 int normalization, pgs_error *err)
{
	const pgs_ops *o = b->ops;
	size_t		pixels = (size_t) b->height * b->width * b->channels;
	pgs_status	st;

	if (n < 1)
		return pgs_fail(err, PGS_ERR_INTERNAL, "empty batch");
	if ((st = reserve(b, n, err)) != PGS_OK ||
		(st = o->upload(o->ctx, b->images, images, pixels * (size_t) n, err)) != PGS_OK ||
		(params != NULL &&
		 (st = o->upload(o->ctx, b->params, params, sizeof(pgs_augment_params) * (size_t) n, err)) != PGS_OK))
		return st;
	return o->prepare_input(o->ctx, n, b->height, b->width, b->channels, b->images, params ? b->params : NULL,
							normalization, b->input, err);
}

void
pgs_device_batch_free(pgs_device_batch *b)
{
	release(b);
}
