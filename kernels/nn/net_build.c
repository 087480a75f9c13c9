/* Turns a declarative layer table into primitive nodes and a tensor table, and allocates parameters. */
#include "../device/layer_shapes.h"
#include "net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
pgs_net_config_defaults(pgs_net_config *config, pgs_arch arch)
{
	memset(config, 0, sizeof(*config));
	config->arch = arch;
	config->head = PGS_HEAD_SIGMOID;
	config->outputs = 1;
	config->aux_logits = false;
	config->in_channels = 3;
	config->in_height = config->in_width = arch == PGS_ARCH_SMALL_CNN ? 64 : 299;
	config->bn_eps = 0.001f;
	config->bn_momentum = 0.1f;
	config->dropout = 0.5f;
}

const char *
pgs_arch_name(pgs_arch arch)
{
	switch (arch)
	{
		case PGS_ARCH_INCEPTION_V3:
			return "inception_v3";
		case PGS_ARCH_SMALL_CNN:
			return "small_cnn";
	}
	return "unknown";
}

pgs_status
pgs_arch_parse(const char *name, pgs_arch *arch, pgs_error *err)
{
	if (strcmp(name, "inception_v3") == 0)
		*arch = PGS_ARCH_INCEPTION_V3;
	else if (strcmp(name, "small_cnn") == 0)
		*arch = PGS_ARCH_SMALL_CNN;
	else
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT,
						"unknown architecture \"%s\" (inception_v3 and small_cnn are known)", name);
	return PGS_OK;
}

const char *
pgs_head_name(pgs_head head)
{
	return head == PGS_HEAD_SOFTMAX ? "softmax" : head == PGS_HEAD_SIGMOID ? "sigmoid" : "unknown";
}

pgs_status
pgs_head_parse(const char *name, pgs_head *head, pgs_error *err)
{
	if (strcmp(name, "sigmoid") == 0)
		*head = PGS_HEAD_SIGMOID;
	else if (strcmp(name, "softmax") == 0)
		*head = PGS_HEAD_SOFTMAX;
	else
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "unknown head \"%s\" (sigmoid and softmax are known)",
						name);
	return PGS_OK;
}

const pgs_layer_spec *
pgs_arch_spec(pgs_arch arch)
{
	switch (arch)
	{
		case PGS_ARCH_INCEPTION_V3:
			return pgs_inception_v3_spec;
		case PGS_ARCH_SMALL_CNN:
			return pgs_small_cnn_spec;
	}
	return NULL;
}

pgs_status
pgs_net_config_check(const pgs_net_config *c, pgs_error *err)
{
	if (pgs_arch_spec(c->arch) == NULL)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "unknown architecture %d", (int) c->arch);
	if (c->head != PGS_HEAD_SIGMOID && c->head != PGS_HEAD_SOFTMAX)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "unknown head %d", (int) c->head);
	if (c->head == PGS_HEAD_SOFTMAX && c->outputs < 2)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "a softmax head needs 2 or more outputs, not %d", c->outputs);
	if (c->outputs < 1 || c->outputs > 100000)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "%d outputs is outside 1 to 100000", c->outputs);
	if (c->in_channels < 1 || c->in_channels > 64 || c->in_height < 1 || c->in_width < 1 ||
		c->in_height > 8192 || c->in_width > 8192)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "invalid input size %d×%d×%d", c->in_channels,
						c->in_height, c->in_width);
	if (!(c->bn_eps > 0.0f && c->bn_eps < 1.0f) || !(c->bn_momentum >= 0.0f && c->bn_momentum <= 1.0f))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "invalid batch norm eps %g or momentum %g",
						(double) c->bn_eps, (double) c->bn_momentum);
	if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "dropout %g is not in [0, 1)", (double) c->dropout);
	return PGS_OK;
}

/* ---- building ---- */

/* Prefix the message already in err with some context (copied first: err->message is the destination). */
static pgs_status
fail_in(pgs_error *err, pgs_status st, const char *context, const char *name)
{
	char		inner[PGS_ERROR_MESSAGE_SIZE];

	snprintf(inner, sizeof(inner), "%s", err ? err->message : "");
	return pgs_fail(err, st, context, name, inner);
}

typedef struct builder
{
	pgs_net    *net;
	int			cap_nodes;
	int			cap_tensors;
	pgs_error  *err;
} builder;

static int
find_node(const pgs_net *net, const char *name)
{
	for (int i = net->n_nodes - 1; i >= 0; i--)
		if (strcmp(net->nodes[i].name, name) == 0)
			return i;
	return -1;
}

static pgs_status
add_node(builder *b, pgs_node_kind kind, const char *name, const int *inputs, int n_inputs, bool aux, int *index)
{
	pgs_net    *net = b->net;
	pgs_node   *node;

	if (net->n_nodes == b->cap_nodes)
	{
		int			cap = b->cap_nodes ? 2 * b->cap_nodes : 64;
		pgs_node   *grown = realloc(net->nodes, (size_t) cap * sizeof(pgs_node));

		if (grown == NULL)
			return pgs_fail(b->err, PGS_ERR_NO_MEMORY, "out of memory building a network");
		net->nodes = grown;
		b->cap_nodes = cap;
	}
	node = &net->nodes[net->n_nodes];
	memset(node, 0, sizeof(*node));
	node->kind = kind;
	snprintf(node->name, sizeof(node->name), "%s", name);
	memcpy(node->inputs, inputs, (size_t) n_inputs * sizeof(int));
	node->n_inputs = n_inputs;
	node->aux = aux;
	node->weight = node->bias = node->running_mean = node->running_var = -1;
	*index = net->n_nodes++;
	return PGS_OK;
}

static pgs_status
add_tensor(builder *b, const char *module, const char *suffix, int ndim, const int64_t *shape, bool is_buffer,
		   bool decayed, int *index)
{
	pgs_net    *net = b->net;
	pgs_net_tensor *t;

	if (net->n_tensors == b->cap_tensors)
	{
		int			cap = b->cap_tensors ? 2 * b->cap_tensors : 128;
		pgs_net_tensor *grown = realloc(net->tensors, (size_t) cap * sizeof(pgs_net_tensor));

		if (grown == NULL)
			return pgs_fail(b->err, PGS_ERR_NO_MEMORY, "out of memory building a network");
		net->tensors = grown;
		b->cap_tensors = cap;
	}
	t = &net->tensors[net->n_tensors];
	memset(t, 0, sizeof(*t));
	if (strlen(module) + 1 + strlen(suffix) >= sizeof(t->name))
		return pgs_fail(b->err, PGS_ERR_INTERNAL, "tensor name \"%s.%s\" is too long", module, suffix);
	memcpy(t->name, module, strlen(module));
	t->name[strlen(module)] = '.';
	strcpy(t->name + strlen(module) + 1, suffix);
	t->ndim = ndim;
	t->numel = 1;
	for (int d = 0; d < ndim; d++)
	{
		t->shape[d] = shape[d];
		t->numel *= (size_t) shape[d];
	}
	t->is_buffer = is_buffer;
	t->decayed = decayed;
	*index = net->n_tensors++;
	return PGS_OK;
}

/* A BasicConv2d: convolution "<name>.conv", batch norm "<name>.bn", ReLU "<name>". */
static pgs_status
build_conv_bn_relu(builder *b, const pgs_layer_spec *row, int input, bool aux)
{
	pgs_net    *net = b->net;
	const pgs_shape4 in = net->nodes[input].out;
	char		name[96];
	int			conv,
				bn,
				relu;
	pgs_node   *node;
	pgs_status	st;
	int64_t		wshape[4] = {row->out, in.c, row->kernel_h, row->kernel_w};
	int64_t		cshape[1] = {row->out};

	snprintf(name, sizeof(name), "%s.conv", row->name);
	if ((st = add_node(b, PGS_NODE_CONV, name, &input, 1, aux, &conv)) != PGS_OK)
		return st;
	node = &net->nodes[conv];
	node->conv = (pgs_conv_desc) {in, row->out, row->kernel_h, row->kernel_w, row->stride_h, row->stride_w,
	row->pad_h, row->pad_w};
	if ((st = pgs_check_conv_desc(&node->conv, b->err)) != PGS_OK)
		return fail_in(b->err, st, "layer \"%s\": %s", row->name);
	node->out = pgs_conv_output_shape(&node->conv);
	node->init_std = row->init_std > 0 ? row->init_std : 0.1f;
	if ((st = add_tensor(b, name, "weight", 4, wshape, false, true, &net->nodes[conv].weight)) != PGS_OK)
		return st;

	snprintf(name, sizeof(name), "%s.bn", row->name);
	if ((st = add_node(b, PGS_NODE_BN, name, &conv, 1, aux, &bn)) != PGS_OK)
		return st;
	net->nodes[bn].out = net->nodes[conv].out;
	net->nodes[bn].bn_stats = net->n_bn_stats;
	net->n_bn_stats += 2 * (size_t) row->out;
	if ((st = add_tensor(b, name, "weight", 1, cshape, false, false, &net->nodes[bn].weight)) != PGS_OK ||
		(st = add_tensor(b, name, "bias", 1, cshape, false, false, &net->nodes[bn].bias)) != PGS_OK ||
		(st = add_tensor(b, name, "running_mean", 1, cshape, true, false, &net->nodes[bn].running_mean)) != PGS_OK ||
		(st = add_tensor(b, name, "running_var", 1, cshape, true, false, &net->nodes[bn].running_var)) != PGS_OK)
		return st;

	if ((st = add_node(b, PGS_NODE_RELU, row->name, &bn, 1, aux, &relu)) != PGS_OK)
		return st;
	net->nodes[relu].out = net->nodes[bn].out;
	return PGS_OK;
}

static pgs_status
build_pool(builder *b, const pgs_layer_spec *row, int input, bool aux)
{
	pgs_net    *net = b->net;
	pgs_shape4	in = net->nodes[input].out;
	int			index;
	pgs_node   *node;
	pgs_status	st;

	if ((st = add_node(b, PGS_NODE_POOL, row->name, &input, 1, aux, &index)) != PGS_OK)
		return st;
	node = &net->nodes[index];
	if (row->kind == PGS_SPEC_GLOBAL_AVGPOOL)
		node->pool = (pgs_pool_desc) {in, PGS_POOL_AVG_INCLUDE_PAD, in.h, in.w, 1, 1, 0, 0};
	else
		node->pool = (pgs_pool_desc) {in, row->kind == PGS_SPEC_MAXPOOL ? PGS_POOL_MAX :
			(row->flags & PGS_SPEC_EXCLUDE_PAD) ? PGS_POOL_AVG_EXCLUDE_PAD : PGS_POOL_AVG_INCLUDE_PAD,
			row->kernel_h, row->kernel_w, row->stride_h, row->stride_w, row->pad_h, row->pad_w};
	if ((st = pgs_check_pool_desc(&node->pool, b->err)) != PGS_OK)
		return fail_in(b->err, st, "layer \"%s\": %s", row->name);
	node->out = pgs_pool_output_shape(&node->pool);
	return PGS_OK;
}

static pgs_status
build_concat(builder *b, const pgs_layer_spec *row, const int *inputs, int n_inputs, bool aux)
{
	pgs_net    *net = b->net;
	pgs_shape4	parts[PGS_SPEC_MAX_INPUTS];
	int			index;
	pgs_status	st;

	for (int i = 0; i < n_inputs; i++)
		parts[i] = net->nodes[inputs[i]].out;
	if ((st = pgs_check_concat(n_inputs, parts, b->err)) != PGS_OK)
		return fail_in(b->err, st, "layer \"%s\": %s", row->name);
	if ((st = add_node(b, PGS_NODE_CONCAT, row->name, inputs, n_inputs, aux, &index)) != PGS_OK)
		return st;
	net->nodes[index].out = parts[0];
	for (int i = 1; i < n_inputs; i++)
		net->nodes[index].out.c += parts[i].c;
	return PGS_OK;
}

static pgs_status
build_fc(builder *b, const pgs_layer_spec *row, int input, bool aux)
{
	pgs_net    *net = b->net;
	pgs_shape4	in = net->nodes[input].out;
	int			index;
	pgs_node   *node;
	pgs_status	st;
	int64_t		in_features = (int64_t) in.c * in.h * in.w;
	int64_t		wshape[2] = {net->config.outputs, in_features};
	int64_t		bshape[1] = {net->config.outputs};

	if ((st = add_node(b, PGS_NODE_FC, row->name, &input, 1, aux, &index)) != PGS_OK)
		return st;
	node = &net->nodes[index];
	node->fc_in = (int) in_features;
	node->fc_out = net->config.outputs;
	node->out = (pgs_shape4) {1, node->fc_out, 1, 1, PGS_LAYOUT_NCHW};
	node->init_std = row->init_std > 0 ? row->init_std : 0.1f;
	node->is_logits = (row->flags & PGS_SPEC_LOGITS) != 0;
	node->is_aux_logits = (row->flags & PGS_SPEC_AUX_LOGITS) != 0;
	if (node->is_logits)
		net->logits_node = index;
	if (node->is_aux_logits)
		net->aux_logits_node = index;
	if ((st = add_tensor(b, row->name, "weight", 2, wshape, false, true, &net->nodes[index].weight)) != PGS_OK ||
		(st = add_tensor(b, row->name, "bias", 1, bshape, false, false, &net->nodes[index].bias)) != PGS_OK)
		return st;
	return PGS_OK;
}

static pgs_status
build_row(builder *b, const pgs_layer_spec *row)
{
	pgs_net    *net = b->net;
	int			inputs[PGS_SPEC_MAX_INPUTS];
	int			n_inputs = 0;
	bool		aux = (row->flags & PGS_SPEC_AUX) != 0;
	int			index;

	for (int i = 0; i < PGS_SPEC_MAX_INPUTS && row->inputs[i] != NULL; i++)
	{
		if ((inputs[n_inputs++] = find_node(net, row->inputs[i])) < 0)
			return pgs_fail(b->err, PGS_ERR_INTERNAL, "layer \"%s\" reads \"%s\", which comes later or not at all",
							row->name, row->inputs[i]);
	}
	if (n_inputs == 0)
		inputs[n_inputs++] = net->n_nodes - 1;
	if (row->kind != PGS_SPEC_CONCAT && n_inputs != 1)
		return pgs_fail(b->err, PGS_ERR_INTERNAL, "layer \"%s\" must have one input", row->name);
	switch (row->kind)
	{
		case PGS_SPEC_CONV_BN_RELU:
			return build_conv_bn_relu(b, row, inputs[0], aux);
		case PGS_SPEC_MAXPOOL:
		case PGS_SPEC_AVGPOOL:
		case PGS_SPEC_GLOBAL_AVGPOOL:
			return build_pool(b, row, inputs[0], aux);
		case PGS_SPEC_CONCAT:
			return build_concat(b, row, inputs, n_inputs, aux);
		case PGS_SPEC_DROPOUT:
			{
				pgs_status	st = add_node(b, PGS_NODE_DROPOUT, row->name, inputs, 1, aux, &index);

				if (st == PGS_OK)
					net->nodes[index].out = net->nodes[inputs[0]].out;
				return st;
			}
		case PGS_SPEC_FC:
			return build_fc(b, row, inputs[0], aux);
		case PGS_SPEC_END:
			break;
	}
	return pgs_fail(b->err, PGS_ERR_INTERNAL, "layer \"%s\" has an unknown kind", row->name);
}

/*
 * Parameter memory: all decayed tensors (convolution and FC weights) first, then the rest (batch norm
 * γ and β, FC biases), so an optimiser step is two calls whatever the weight-decay policy. The tensor table
 * keeps torchvision's order; only offsets follow this grouping.
 */
static void
assign_offsets(pgs_net *net)
{
	size_t		offset = 0;

	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < net->n_tensors; i++)
		{
			pgs_net_tensor *t = &net->tensors[i];

			if (t->is_buffer || t->decayed != (pass == 0))
				continue;
			t->offset = offset;
			offset += t->numel;
		}
	net->n_params = offset;
	offset = 0;
	for (int i = 0; i < net->n_tensors; i++)
		if (net->tensors[i].is_buffer)
		{
			net->tensors[i].offset = offset;
			offset += net->tensors[i].numel;
		}
	net->n_buffers = offset;
}

static pgs_status
allocate_device(pgs_net *net, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	pgs_status	st;

	if ((st = ops->alloc(ops->ctx, net->n_params * sizeof(float), (void **) &net->params, err)) != PGS_OK ||
		(st = ops->alloc(ops->ctx, net->n_params * sizeof(float), (void **) &net->grads, err)) != PGS_OK ||
		(st = ops->alloc(ops->ctx, net->n_buffers * sizeof(float), (void **) &net->buffers, err)) != PGS_OK ||
		(st = ops->alloc(ops->ctx, net->n_bn_stats * sizeof(float), (void **) &net->bn_stats, err)) != PGS_OK)
		return st;
	if ((st = ops->zero(ops->ctx, net->params, net->n_params * sizeof(float), err)) != PGS_OK ||
		(st = ops->zero(ops->ctx, net->grads, net->n_params * sizeof(float), err)) != PGS_OK ||
		(st = ops->zero(ops->ctx, net->buffers, net->n_buffers * sizeof(float), err)) != PGS_OK)
		return st;
	return PGS_OK;
}

pgs_status
pgs_net_create(const pgs_ops *ops, const pgs_net_config *config, pgs_net **out, pgs_error *err)
{
	pgs_net    *net;
	builder		b = {0};
	pgs_status	st;
	int			input;
	const pgs_layer_spec *spec;

	*out = NULL;
	if (ops->version != PGS_OPS_VERSION || ops->conv_forward == NULL)
		return pgs_fail(err, PGS_ERR_INTERNAL, "device %s lacks the network ops", ops->name);
	if ((st = pgs_net_config_check(config, err)) != PGS_OK)
		return st;
	if ((net = calloc(1, sizeof(*net))) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory building a network");
	net->ops = ops;
	net->config = *config;
	net->logits_node = net->aux_logits_node = -1;
	b.net = net;
	b.err = err;
	if ((st = add_node(&b, PGS_NODE_INPUT, "input", NULL, 0, false, &input)) != PGS_OK)
		goto fail;
	net->nodes[input].out = (pgs_shape4) {1, config->in_channels, config->in_height, config->in_width,
	PGS_LAYOUT_NCHW};
	for (spec = pgs_arch_spec(config->arch); spec->kind != PGS_SPEC_END; spec++)
	{
		if ((spec->flags & PGS_SPEC_AUX) && !config->aux_logits)
			continue;
		if ((st = build_row(&b, spec)) != PGS_OK)
		{
			/* Most likely an input too small for the architecture's strides. */
			if (st == PGS_ERR_INVALID_ARGUMENT)
			{
				char		context[96];

				snprintf(context, sizeof(context), "input size %d×%d is too small for %%s: %%s", config->in_height,
						 config->in_width);
				st = fail_in(err, st, context, pgs_arch_name(config->arch));
			}
			goto fail;
		}
	}
	if (net->logits_node < 0)
	{
		st = pgs_fail(err, PGS_ERR_INTERNAL, "architecture %s has no logits layer", pgs_arch_name(config->arch));
		goto fail;
	}
	assign_offsets(net);
	if ((st = allocate_device(net, err)) != PGS_OK)
		goto fail;
	*out = net;
	return PGS_OK;

fail:
	pgs_net_free(net);
	return st;
}

void
pgs_net_free(pgs_net *net)
{
	if (net == NULL)
		return;
	pgs_net_plan_release(net);
	net->ops->free(net->ops->ctx, net->params);
	net->ops->free(net->ops->ctx, net->grads);
	net->ops->free(net->ops->ctx, net->buffers);
	net->ops->free(net->ops->ctx, net->bn_stats);
	net->ops->free(net->ops->ctx, net->bn_sums);
	free(net->nodes);
	free(net->tensors);
	free(net);
}

const pgs_net_config *
pgs_net_get_config(const pgs_net *net)
{
	return &net->config;
}

const pgs_ops *
pgs_net_get_ops(const pgs_net *net)
{
	return net->ops;
}

int
pgs_net_tensor_count(const pgs_net *net)
{
	return net->n_tensors;
}

const pgs_net_tensor *
pgs_net_get_tensor(const pgs_net *net, int i)
{
	return i >= 0 && i < net->n_tensors ? &net->tensors[i] : NULL;
}

const pgs_net_tensor *
pgs_net_find_tensor(const pgs_net *net, const char *name)
{
	for (int i = 0; i < net->n_tensors; i++)
		if (strcmp(net->tensors[i].name, name) == 0)
			return &net->tensors[i];
	return NULL;
}

size_t
pgs_net_param_count(const pgs_net *net)
{
	return net->n_params;
}

size_t
pgs_net_buffer_count(const pgs_net *net)
{
	return net->n_buffers;
}

int64_t
pgs_net_batches_tracked(const pgs_net *net)
{
	return net->batches_tracked;
}

void
pgs_net_set_batches_tracked(pgs_net *net, int64_t count)
{
	net->batches_tracked = count;
}

float *
pgs_net_params(pgs_net *net)
{
	return net->params;
}

float *
pgs_net_grads(pgs_net *net)
{
	return net->grads;
}

float *
pgs_net_buffers(pgs_net *net)
{
	return net->buffers;
}

static float *
tensor_device_pointer(pgs_net *net, const pgs_net_tensor *t)
{
	return (t->is_buffer ? net->buffers : net->params) + t->offset;
}

pgs_status
pgs_net_read_tensor(pgs_net *net, int i, float *host, pgs_error *err)
{
	const pgs_net_tensor *t = pgs_net_get_tensor(net, i);

	if (t == NULL)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "no tensor %d", i);
	return net->ops->download(net->ops->ctx, host, tensor_device_pointer(net, t), t->numel * sizeof(float), err);
}

pgs_status
pgs_net_write_tensor(pgs_net *net, int i, const float *host, pgs_error *err)
{
	const pgs_net_tensor *t = pgs_net_get_tensor(net, i);

	if (t == NULL)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "no tensor %d", i);
	return net->ops->upload(net->ops->ctx, tensor_device_pointer(net, t), host, t->numel * sizeof(float), err);
}
