/* Model files: writer and a strict loader (structure, checksum, metadata, tensor table, values). */
#include "model_file.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

static const uint8_t model_magic[8] = {0x89, 'P', 'G', 'S', 'N', 'E', 'T', '\n'};

#define HEADER_BYTES 32
#define DATA_ALIGN 64
#define DTYPE_F32 1
#define MAX_TENSORS 100000
#define MAX_METADATA (1 << 20)

/* ---- CRC-32 ---- */

uint32_t
pgs_crc32(uint32_t crc, const uint8_t *data, size_t len)
{
	static uint32_t table[256];
	static int	ready = 0;

	if (!ready)
	{
		for (uint32_t n = 0; n < 256; n++)
		{
			uint32_t	c = n;

			for (int k = 0; k < 8; k++)
				c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[n] = c;
		}
		ready = 1;
	}
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

/* ---- little-endian fields ---- */

static bool
host_is_little_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *) &one == 1;
}

static void
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t	v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static size_t
align_up(size_t n)
{
	return (n + DATA_ALIGN - 1) & ~(size_t) (DATA_ALIGN - 1);
}

/* ---- recipe ---- */

/* Keys the file format itself owns (the network's configuration and state); a recipe cannot use them. */
static const char *const config_keys[] = {"architecture", "head", "outputs", "aux_logits", "input_channels",
	"input_height", "input_width", "bn_eps", "bn_momentum", "dropout", "batches_tracked", "dropout_seed",
"train_steps"};

#define N_CONFIG_KEYS ((int) (sizeof(config_keys) / sizeof(config_keys[0])))

static int
config_key_index(const char *key)
{
	for (int i = 0; i < N_CONFIG_KEYS; i++)
		if (strcmp(key, config_keys[i]) == 0)
			return i;
	return -1;
}


static bool
valid_key(const char *key)
{
	if (key[0] == '\0' || strlen(key) >= sizeof(((pgs_model_kv *) 0)->key))
		return false;
	for (const char *p = key; *p; p++)
		if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) || *p == '_' || *p == '.'))
			return false;
	return true;
}

static bool
valid_value(const char *value)
{
	if (strlen(value) >= sizeof(((pgs_model_kv *) 0)->value))
		return false;
	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
		if (*p < 0x20 || *p == 0x7F)
			return false;
	return true;
}

static bool
reserved_key(const char *key)
{
	return config_key_index(key) >= 0 || strncmp(key, "optimizer.", 10) == 0;
}

pgs_status
pgs_model_recipe_set(pgs_model_recipe *recipe, const char *key, const char *value, pgs_error *err)
{
	if (!valid_key(key) || reserved_key(key))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"recipe key \"%.80s\" is invalid (lower-case letters, digits, \"_\" and \".\"; not a reserved name)",
						key);
	if (!valid_value(value))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"recipe value for \"%s\" is too long or has control characters", key);
	for (int i = 0; i < recipe->n; i++)
		if (strcmp(recipe->items[i].key, key) == 0)
		{
			snprintf(recipe->items[i].value, sizeof(recipe->items[i].value), "%s", value);
			return PGS_OK;
		}
	if (recipe->n == PGS_MODEL_MAX_RECIPE)
		return pgs_fail(err, PGS_ERR_LIMIT, "a recipe holds at most %d entries", PGS_MODEL_MAX_RECIPE);
	snprintf(recipe->items[recipe->n].key, sizeof(recipe->items[0].key), "%s", key);
	snprintf(recipe->items[recipe->n].value, sizeof(recipe->items[0].value), "%s", value);
	recipe->n++;
	return PGS_OK;
}

const char *
pgs_model_recipe_get(const pgs_model_recipe *recipe, const char *key)
{
	for (int i = 0; i < recipe->n; i++)
		if (strcmp(recipe->items[i].key, key) == 0)
			return recipe->items[i].value;
	return NULL;
}

/* ---- writing ---- */

typedef struct out_tensor
{
	const char *name;
	int			ndim;
	int64_t		shape[4];
	size_t		bytes;
	const float *device;		/* source on the network's device */
	size_t		offset;
} out_tensor;

static pgs_status
append_line(pgs_buffer *meta, pgs_error *err, const char *fmt,...)
__attribute__((format(printf, 3, 4)));

static pgs_status
append_line(pgs_buffer *meta, pgs_error *err, const char *fmt,...)
{
	char		line[512];
	va_list		args;
	int			n;

	va_start(args, fmt);
	n = vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	if (n < 0 || (size_t) n >= sizeof(line) || pgs_buffer_append(meta, line, (size_t) n) != 0)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory writing model metadata");
	return PGS_OK;
}

static pgs_status
write_metadata(pgs_net *net, const pgs_model_recipe *recipe, pgs_optimizer *opt, pgs_buffer *meta, pgs_error *err)
{
	const pgs_net_config *c = &net->config;
	pgs_status	st;

	if ((st = append_line(meta, err, "architecture=%s\nhead=%s\noutputs=%d\naux_logits=%d\n", pgs_arch_name(c->arch),
						  pgs_head_name(c->head), c->outputs, c->aux_logits ? 1 : 0)) != PGS_OK ||
		(st = append_line(meta, err, "input_channels=%d\ninput_height=%d\ninput_width=%d\n", c->in_channels,
						  c->in_height, c->in_width)) != PGS_OK ||
		(st = append_line(meta, err, "bn_eps=%.9g\nbn_momentum=%.9g\ndropout=%.9g\nbatches_tracked=%lld\n",
						  (double) c->bn_eps, (double) c->bn_momentum, (double) c->dropout,
						  (long long) net->batches_tracked)) != PGS_OK ||
		(st = append_line(meta, err, "dropout_seed=%llu\ntrain_steps=%lld\n", (unsigned long long) net->dropout_seed,
						  (long long) net->train_steps)) != PGS_OK)
		return st;
	for (int i = 0; recipe != NULL && i < recipe->n; i++)
	{
		if (!valid_key(recipe->items[i].key) || reserved_key(recipe->items[i].key) ||
			!valid_value(recipe->items[i].value))
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "recipe entry \"%.80s\" is invalid", recipe->items[i].key);
		if ((st = append_line(meta, err, "%s=%s\n", recipe->items[i].key, recipe->items[i].value)) != PGS_OK)
			return st;
	}
	if (opt != NULL)
	{
		const pgs_optimizer_config *oc = pgs_optimizer_get_config(opt);

		if ((st = append_line(meta, err, "optimizer.kind=%s\noptimizer.steps=%lld\noptimizer.lr=%.9g\n",
							  pgs_optimizer_kind_name(oc->kind), (long long) pgs_optimizer_steps(opt),
							  (double) oc->lr)) != PGS_OK ||
			(st = append_line(meta, err, "optimizer.rmsprop_style=%s\n",
							  oc->rmsprop_style == PGS_RMSPROP_TORCH ? "torch" : "tf")) != PGS_OK)
			return st;
	}
	return PGS_OK;
}

pgs_status
pgs_model_write(pgs_net *net, const pgs_model_recipe *recipe, pgs_optimizer *opt, const pgs_allocator *allocator,
				uint8_t **out, size_t *out_len, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	pgs_buffer	meta;
	out_tensor *tensors;
	int			n = 0;
	size_t		table_bytes = 0,
				offset,
				total;
	uint8_t    *file = NULL,
			   *p;
	pgs_status	st;

	*out = NULL;
	*out_len = 0;
	if (!host_is_little_endian())
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "model files are written on little-endian hosts only");
	if ((tensors = calloc((size_t) net->n_tensors + 2, sizeof(out_tensor))) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory writing a model");
	pgs_buffer_init(&meta, &pgs_malloc_allocator);
	if ((st = write_metadata(net, recipe, opt, &meta, err)) != PGS_OK)
		goto done;
	for (int i = 0; i < net->n_tensors; i++, n++)
	{
		const pgs_net_tensor *t = &net->tensors[i];

		tensors[n] = (out_tensor) {t->name, t->ndim, {0}, t->numel * sizeof(float),
			(t->is_buffer ? net->buffers : net->params) + t->offset, 0};
		memcpy(tensors[n].shape, t->shape, sizeof(t->shape));
	}
	for (int which = 1; opt != NULL && which <= 2; which++)
		if (pgs_optimizer_state(opt, which) != NULL)
		{
			tensors[n] = (out_tensor) {which == 1 ? "optimizer.state1" : "optimizer.state2", 1,
				{(int64_t) net->n_params}, net->n_params * sizeof(float), pgs_optimizer_state(opt, which), 0};
			n++;
		}
	for (int i = 0; i < n; i++)
		table_bytes += 2 + strlen(tensors[i].name) + 2 + 8 * (size_t) tensors[i].ndim + 16;
	offset = align_up(HEADER_BYTES + meta.len + table_bytes);
	for (int i = 0; i < n; i++)
	{
		tensors[i].offset = offset;
		offset = align_up(offset + tensors[i].bytes);
	}
	total = offset + 4;
	if ((file = pgs_alloc(allocator, total)) == NULL)
	{
		st = pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory for a %zu-byte model", total);
		goto done;
	}
	memset(file, 0, total);
	memcpy(file, model_magic, 8);
	put_u32(file + 8, PGS_MODEL_FORMAT_VERSION);
	put_u64(file + 16, total);
	put_u32(file + 24, (uint32_t) meta.len);
	put_u32(file + 28, (uint32_t) n);
	memcpy(file + HEADER_BYTES, meta.data, meta.len);
	p = file + HEADER_BYTES + meta.len;
	for (int i = 0; i < n; i++)
	{
		size_t		name_len = strlen(tensors[i].name);

		put_u16(p, (uint16_t) name_len);
		memcpy(p + 2, tensors[i].name, name_len);
		p += 2 + name_len;
		*p++ = DTYPE_F32;
		*p++ = (uint8_t) tensors[i].ndim;
		for (int d = 0; d < tensors[i].ndim; d++, p += 8)
			put_u64(p, (uint64_t) tensors[i].shape[d]);
		put_u64(p, tensors[i].offset);
		put_u64(p + 8, tensors[i].bytes);
		p += 16;
		if ((st = ops->download(ops->ctx, file + tensors[i].offset, tensors[i].device, tensors[i].bytes, err)) != PGS_OK)
			goto done;
	}
	put_u32(file + total - 4, pgs_crc32(0, file, total - 4));
	*out = file;
	*out_len = total;
	file = NULL;
	st = PGS_OK;
done:
	pgs_free(allocator, file);
	pgs_buffer_release(&meta);
	free(tensors);
	return st;
}

/* ---- reading ---- */

typedef struct in_tensor
{
	char		name[96];
	int			ndim;
	int64_t		shape[4];
	uint64_t	offset;
	uint64_t	bytes;
} in_tensor;

typedef struct parsed_model
{
	pgs_model_info info;
	in_tensor  *tensors;
	int			n_tensors;
} parsed_model;

static pgs_status
parse_int(const char *key, const char *value, long long lo, long long hi, long long *out, pgs_error *err)
{
	char	   *end;

	errno = 0;
	*out = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || *out < lo || *out > hi)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "model metadata \"%s\" has an invalid value \"%.60s\"", key, value);
	return PGS_OK;
}

static pgs_status
parse_float(const char *key, const char *value, float *out, pgs_error *err)
{
	char	   *end;

	errno = 0;
	*out = strtof(value, &end);
	if (errno != 0 || end == value || *end != '\0' || !isfinite(*out))
		return pgs_fail(err, PGS_ERR_BAD_DATA, "model metadata \"%s\" has an invalid value \"%.60s\"", key, value);
	return PGS_OK;
}

static pgs_status
parse_int_field(const char *key, const char *value, long long lo, long long hi, int *out, pgs_error *err)
{
	long long	v = 0;
	pgs_status	st = parse_int(key, value, lo, hi, &v, err);

	*out = (int) v;
	return st;
}

/* One metadata entry into the info. */
static pgs_status
parse_entry(pgs_model_info *info, const char *key, const char *value, pgs_error *err)
{
	pgs_net_config *c = &info->config;
	long long	v = 0;
	pgs_status	st;

	switch (config_key_index(key))
	{
		case 0:
			if (pgs_arch_parse(value, &c->arch, err) != PGS_OK)
				return pgs_fail(err, PGS_ERR_UNSUPPORTED, "model architecture \"%.60s\" is unknown to this pgscreen",
								value);
			return PGS_OK;
		case 1:
			if (pgs_head_parse(value, &c->head, err) != PGS_OK)
				return pgs_fail(err, PGS_ERR_UNSUPPORTED, "model head \"%.60s\" is unknown to this pgscreen", value);
			return PGS_OK;
		case 2:
			return parse_int_field(key, value, 1, 100000, &c->outputs, err);
		case 3:
			st = parse_int(key, value, 0, 1, &v, err);
			c->aux_logits = v == 1;
			return st;
		case 4:
			return parse_int_field(key, value, 1, 8192, &c->in_channels, err);
		case 5:
			return parse_int_field(key, value, 1, 8192, &c->in_height, err);
		case 6:
			return parse_int_field(key, value, 1, 8192, &c->in_width, err);
		case 7:
			return parse_float(key, value, &c->bn_eps, err);
		case 8:
			return parse_float(key, value, &c->bn_momentum, err);
		case 9:
			return parse_float(key, value, &c->dropout, err);
		case 10:
			st = parse_int(key, value, 0, INT64_MAX, &v, err);
			info->batches_tracked = v;
			return st;
		case 11:
			{
				char	   *end;

				errno = 0;
				info->dropout_seed = strtoull(value, &end, 10);
				if (errno != 0 || end == value || *end != '\0' || value[0] == '-')
					return pgs_fail(err, PGS_ERR_BAD_DATA, "model metadata \"%s\" has an invalid value", key);
				return PGS_OK;
			}
		case 12:
			st = parse_int(key, value, 0, INT64_MAX, &v, err);
			info->train_steps = v;
			return st;
	}
	if (strcmp(key, "optimizer.kind") == 0)
	{
		info->has_optimizer = true;
		if (pgs_optimizer_kind_parse(value, &info->optimizer, err) != PGS_OK)
			return pgs_fail(err, PGS_ERR_UNSUPPORTED, "model optimizer \"%.60s\" is unknown to this pgscreen", value);
		return PGS_OK;
	}
	if (strcmp(key, "optimizer.steps") == 0)
	{
		st = parse_int(key, value, 0, INT64_MAX, &v, err);
		info->optimizer_steps = v;
		return st;
	}
	if (strncmp(key, "optimizer.", 10) == 0)
		return PGS_OK;			/* descriptive: the settings the checkpoint trained with */
	/* pgscreen 0.1.0 spelt the scoring recipe's key "normalisation"; readers see today's spelling. */
	if (strcmp(key, "normalisation") == 0)
		key = "normalization";
	if (pgs_model_recipe_get(&info->recipe, key) != NULL)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "model metadata repeats \"%s\"", key);
	if (pgs_model_recipe_set(&info->recipe, key, value, err) != PGS_OK)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "model metadata entry \"%.60s\" is invalid", key);
	return PGS_OK;
}

static pgs_status
parse_metadata(const char *text, size_t len, pgs_model_info *info, pgs_error *err)
{
	unsigned	seen = 0;
	const char *p = text,
			   *end = text + len;
	pgs_status	st;
	char		reason[PGS_ERROR_MESSAGE_SIZE];

	pgs_net_config_defaults(&info->config, PGS_ARCH_INCEPTION_V3);
	while (p < end)
	{
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		const char *eq;
		char		key[64],
					value[256];
		int			index;

		if (nl == NULL)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model metadata does not end with a newline");
		eq = memchr(p, '=', (size_t) (nl - p));
		if (eq == NULL || eq == p || (size_t) (eq - p) >= sizeof(key) || (size_t) (nl - eq - 1) >= sizeof(value))
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model metadata has a malformed line");
		memcpy(key, p, (size_t) (eq - p));
		key[eq - p] = '\0';
		memcpy(value, eq + 1, (size_t) (nl - eq - 1));
		value[nl - eq - 1] = '\0';
		if (!valid_key(key) || !valid_value(value) || strlen(value) != (size_t) (nl - eq - 1))
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model metadata has a malformed line");
		if ((index = config_key_index(key)) >= 0)
		{
			if (seen & (1u << index))
				return pgs_fail(err, PGS_ERR_BAD_DATA, "model metadata repeats \"%s\"", key);
			seen |= 1u << index;
		}
		if ((st = parse_entry(info, key, value, err)) != PGS_OK)
			return st;
		p = nl + 1;
	}
	if (seen != (1u << N_CONFIG_KEYS) - 1)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "model metadata lacks part of the network configuration");
	if ((st = pgs_net_config_check(&info->config, err)) != PGS_OK)
	{
		snprintf(reason, sizeof(reason), "%s", err->message);
		return pgs_fail(err, PGS_ERR_BAD_DATA, "model configuration is invalid: %s", reason);
	}
	return PGS_OK;
}

/* The tensor table, each entry's bounds and alignment checked; data must not overlap. */
static pgs_status
parse_table(const uint8_t *data, size_t len, size_t table_start, size_t data_limit, parsed_model *m,
			pgs_error *err)
{
	size_t		at = table_start;
	uint64_t	data_start,
				last_end;

	for (int i = 0; i < m->n_tensors; i++)
	{
		in_tensor  *t = &m->tensors[i];
		size_t		name_len;
		uint64_t	numel = 1;

		if (data_limit - at < 2 || (name_len = get_u16(data + at)) == 0 || name_len >= sizeof(t->name) ||
			data_limit - at - 2 < name_len + 2)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model tensor table is truncated or malformed");
		memcpy(t->name, data + at + 2, name_len);
		t->name[name_len] = '\0';
		if (strlen(t->name) != name_len)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model tensor table is truncated or malformed");
		at += 2 + name_len;
		if (data[at] != DTYPE_F32)
			return pgs_fail(err, PGS_ERR_UNSUPPORTED, "model tensor \"%s\" has unknown dtype %d", t->name, data[at]);
		t->ndim = data[at + 1];
		at += 2;
		if (t->ndim < 1 || t->ndim > 4 || data_limit - at < 8 * (size_t) t->ndim + 16)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model tensor \"%s\" has a malformed entry", t->name);
		for (int d = 0; d < t->ndim; d++, at += 8)
		{
			uint64_t	dim = get_u64(data + at);

			if (dim < 1 || dim > (1u << 30) || numel > UINT64_MAX / dim)
				return pgs_fail(err, PGS_ERR_BAD_DATA, "model tensor \"%s\" has an invalid shape", t->name);
			t->shape[d] = (int64_t) dim;
			numel *= dim;
		}
		t->offset = get_u64(data + at);
		t->bytes = get_u64(data + at + 8);
		at += 16;
		if (numel > (UINT64_MAX / 4) || t->bytes != numel * 4)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model tensor \"%s\" has %llu bytes for its shape", t->name,
							(unsigned long long) t->bytes);
		for (int j = 0; j < i; j++)
			if (strcmp(m->tensors[j].name, t->name) == 0)
				return pgs_fail(err, PGS_ERR_BAD_DATA, "model has tensor \"%s\" twice", t->name);
	}
	data_start = align_up(at);
	last_end = data_start;
	for (int i = 0; i < m->n_tensors; i++)
	{
		in_tensor  *t = &m->tensors[i];

		if (t->offset % DATA_ALIGN != 0 || t->offset < last_end || t->offset > len - 4 ||
			t->bytes > len - 4 - t->offset)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model tensor \"%s\" lies outside the data section", t->name);
		last_end = t->offset + t->bytes;
	}
	return PGS_OK;
}

static pgs_status
parse_model(const uint8_t *data, size_t len, parsed_model *m, pgs_error *err)
{
	uint32_t	version,
				meta_len,
				n_tensors;
	pgs_status	st;

	memset(m, 0, sizeof(*m));
	if (len < 8 || memcmp(data, model_magic, 8) != 0)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "data is not a pgscreen model (bad magic number)");
	if (len < HEADER_BYTES + 4)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "model is truncated");
	version = get_u32(data + 8);
	if (version != PGS_MODEL_FORMAT_VERSION)
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "model format version %u is not supported (this pgscreen reads %d)",
						version, PGS_MODEL_FORMAT_VERSION);
	if (get_u64(data + 16) != len)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "model is %zu bytes but its header says %llu (truncated or padded)",
						len, (unsigned long long) get_u64(data + 16));
	if (get_u32(data + len - 4) != pgs_crc32(0, data, len - 4))
		return pgs_fail(err, PGS_ERR_BAD_DATA, "model checksum does not match (the file is corrupt)");
	if (get_u32(data + 12) != 0)
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "model uses header flags this pgscreen does not know");
	meta_len = get_u32(data + 24);
	n_tensors = get_u32(data + 28);
	if (meta_len > MAX_METADATA || meta_len > len - HEADER_BYTES - 4 || n_tensors < 1 || n_tensors > MAX_TENSORS)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "model header has an invalid metadata length or tensor count");
	m->info.format_version = (int) version;
	if ((st = parse_metadata((const char *) data + HEADER_BYTES, meta_len, &m->info, err)) != PGS_OK)
		return st;
	if ((m->tensors = calloc(n_tensors, sizeof(in_tensor))) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory reading a model");
	m->n_tensors = (int) n_tensors;
	m->info.tensors = (int) n_tensors;
	if ((st = parse_table(data, len, HEADER_BYTES + meta_len, len - 4, m, err)) != PGS_OK)
	{
		free(m->tensors);
		m->tensors = NULL;
		return st;
	}
	/* Trainable: all but torchvision's running statistics and the optimiser's state. */
	for (int i = 0; i < m->n_tensors; i++)
	{
		const char *name = m->tensors[i].name;
		size_t		n = strlen(name);

		if (strncmp(name, "optimizer.", 10) != 0 &&
			!(n > 13 && strcmp(name + n - 13, ".running_mean") == 0) &&
			!(n > 12 && strcmp(name + n - 12, ".running_var") == 0))
			m->info.parameters += m->tensors[i].bytes / 4;
	}
	return PGS_OK;
}

static const in_tensor *
find_in(const parsed_model *m, const char *name)
{
	for (int i = 0; i < m->n_tensors; i++)
		if (strcmp(m->tensors[i].name, name) == 0)
			return &m->tensors[i];
	return NULL;
}

/* Every tensor of the network present with its shape; nothing else but the optimiser's state. */
static pgs_status
match_network(const parsed_model *m, const pgs_net *net, pgs_error *err)
{
	for (int i = 0; i < net->n_tensors; i++)
	{
		const pgs_net_tensor *t = &net->tensors[i];
		const in_tensor *f = find_in(m, t->name);

		if (f == NULL)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model lacks tensor \"%s\" of %s", t->name,
							pgs_arch_name(net->config.arch));
		if (f->ndim != t->ndim || memcmp(f->shape, t->shape, (size_t) t->ndim * sizeof(int64_t)) != 0)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model tensor \"%s\" has the wrong shape for its architecture",
							t->name);
	}
	for (int i = 0; i < m->n_tensors; i++)
	{
		const in_tensor *f = &m->tensors[i];

		if (strcmp(f->name, "optimizer.state1") == 0 || strcmp(f->name, "optimizer.state2") == 0)
		{
			if (f->ndim != 1 || (size_t) f->shape[0] != net->n_params)
				return pgs_fail(err, PGS_ERR_BAD_DATA, "model tensor \"%s\" does not fit the network", f->name);
			continue;
		}
		if (pgs_net_find_tensor(net, f->name) == NULL)
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model has tensor \"%s\", which %s does not have", f->name,
							pgs_arch_name(net->config.arch));
	}
	return PGS_OK;
}

static pgs_status
check_finite(const in_tensor *t, const float *values, pgs_error *err)
{
	for (uint64_t i = 0; i < t->bytes / 4; i++)
		if (!isfinite(values[i]))
			return pgs_fail(err, PGS_ERR_BAD_DATA, "model tensor \"%s\" holds a NaN or infinity", t->name);
	return PGS_OK;
}

pgs_status
pgs_model_read_info(const uint8_t *data, size_t len, pgs_model_info *info, pgs_error *err)
{
	parsed_model m;
	pgs_status	st = parse_model(data, len, &m, err);

	if (st == PGS_OK)
		*info = m.info;
	free(m.tensors);
	return st;
}

pgs_status
pgs_model_load(const pgs_ops *ops, const uint8_t *data, size_t len, pgs_net **out, pgs_model_info *info,
			   pgs_error *err)
{
	parsed_model m;
	pgs_net    *net = NULL;
	pgs_status	st;

	*out = NULL;
	if (!host_is_little_endian())
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "model files are read on little-endian hosts only");
	if ((st = parse_model(data, len, &m, err)) != PGS_OK)
		return st;
	if ((st = pgs_net_create(ops, &m.info.config, &net, err)) == PGS_OK &&
		(st = match_network(&m, net, err)) == PGS_OK)
	{
		for (int i = 0; i < net->n_tensors && st == PGS_OK; i++)
		{
			const in_tensor *f = find_in(&m, net->tensors[i].name);
			/* The data section is 64-aligned in the file, but the buffer itself may not be: copy. */
			float	   *values = malloc(f->bytes ? f->bytes : 1);

			if (values == NULL)
				st = pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory loading a model");
			else
			{
				memcpy(values, data + f->offset, f->bytes);
				if ((st = check_finite(f, values, err)) == PGS_OK)
					st = pgs_net_write_tensor(net, i, values, err);
			}
			free(values);
		}
	}
	if (st == PGS_OK)
	{
		net->batches_tracked = m.info.batches_tracked;
		net->dropout_seed = m.info.dropout_seed;
		net->train_steps = m.info.train_steps;
		if (info != NULL)
			*info = m.info;
		*out = net;
	}
	else
		pgs_net_free(net);
	free(m.tensors);
	return st;
}

pgs_status
pgs_model_load_optimizer(pgs_optimizer *opt, const uint8_t *data, size_t len, pgs_error *err)
{
	parsed_model m;
	pgs_status	st;
	const pgs_ops *ops;
	size_t		n;

	if ((st = parse_model(data, len, &m, err)) != PGS_OK)
		return st;
	ops = pgs_net_get_ops(pgs_optimizer_net(opt));
	n = pgs_net_param_count(pgs_optimizer_net(opt));
	if (!m.info.has_optimizer || m.info.optimizer != pgs_optimizer_get_config(opt)->kind)
		st = pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "model holds no %s optimizer state",
					  pgs_optimizer_kind_name(pgs_optimizer_get_config(opt)->kind));
	for (int which = 1; which <= 2 && st == PGS_OK; which++)
	{
		const in_tensor *f = find_in(&m, which == 1 ? "optimizer.state1" : "optimizer.state2");
		float	   *state = pgs_optimizer_state(opt, which);
		float	   *values;

		if ((f == NULL) != (state == NULL) || (f != NULL && (f->ndim != 1 || (size_t) f->shape[0] != n)))
		{
			st = pgs_fail(err, PGS_ERR_BAD_DATA, "model optimizer state does not fit this optimizer and network");
			break;
		}
		if (f == NULL)
			continue;
		if ((values = malloc(f->bytes)) == NULL)
		{
			st = pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory loading optimizer state");
			break;
		}
		memcpy(values, data + f->offset, f->bytes);
		if ((st = check_finite(f, values, err)) == PGS_OK)
			st = ops->upload(ops->ctx, state, values, f->bytes, err);
		free(values);
	}
	if (st == PGS_OK)
		pgs_optimizer_set_steps(opt, m.info.optimizer_steps);
	free(m.tensors);
	return st;
}
