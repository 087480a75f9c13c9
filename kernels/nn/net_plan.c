/* Activation memory planning: one arena per (batch, mode), buffers placed by lifetime so they share memory. */
#include "net_internal.h"

#include <stdlib.h>
#include <string.h>

/*
 * Time runs over the forward pass (node at position p acts at time p), the loss (time L, the number of
 * active nodes) and the backward pass (node at position p at time 2L − p). Each activation lives from its
 * forward until its last reader: a later layer's forward, a backward that needs it (convolution, batch
 * norm, pooling and FC read their input; ReLU and pooling their output) or, for logits, the end. Each
 * gradient lives from the backward of its first reader in backward order (it is zeroed then) to its own
 * node's backward. Buffers are placed largest first at the lowest offset where no buffer alive at the same
 * time sits: inference then needs only a few layers' worth of memory, training keeps what backward needs.
 */

#define ALIGN 256
#define FOREVER (1 << 30)

typedef struct planned_buffer
{
	size_t		bytes;
	int			start;
	int			end;
	size_t	   *offset;			/* where to store the placement */
} planned_buffer;

typedef struct placed
{
	size_t		begin;
	size_t		end;
} placed;

static int
by_size_descending(const void *a, const void *b)
{
	const planned_buffer *x = a,
			   *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->start - y->start;
}

static int
by_begin(const void *a, const void *b)
{
	const placed *x = a,
			   *y = b;

	return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static bool
reads_input_in_backward(pgs_node_kind kind)
{
	return kind == PGS_NODE_CONV || kind == PGS_NODE_BN || kind == PGS_NODE_POOL || kind == PGS_NODE_FC;
}

static bool
reads_output_in_backward(pgs_node_kind kind)
{
	return kind == PGS_NODE_RELU || kind == PGS_NODE_POOL;
}

/* First-fit by offset among the buffers already placed whose lifetimes overlap this one's. */
static size_t
place(planned_buffer *buffers, int n_placed, const planned_buffer *b, placed *scratch)
{
	int			k = 0;
	size_t		offset = 0;

	for (int i = 0; i < n_placed; i++)
		if (buffers[i].start <= b->end && b->start <= buffers[i].end)
		{
			scratch[k].begin = *buffers[i].offset;
			scratch[k].end = *buffers[i].offset + buffers[i].bytes;
			k++;
		}
	qsort(scratch, k, sizeof(placed), by_begin);
	for (int i = 0; i < k; i++)
	{
		if (scratch[i].begin >= offset + b->bytes)
			break;
		if (scratch[i].end > offset)
			offset = scratch[i].end;
	}
	return offset;
}

static size_t
aligned(size_t bytes)
{
	return (bytes + ALIGN - 1) & ~(size_t) (ALIGN - 1);
}

/* Grow a device allocation to at least `bytes`, keeping it when it is already large enough. */
static pgs_status
ensure_capacity(const pgs_ops *ops, void **ptr, size_t *capacity, size_t bytes, pgs_error *err)
{
	pgs_status	st;

	if (*ptr != NULL && *capacity >= bytes)
		return PGS_OK;
	ops->free(ops->ctx, *ptr);
	*ptr = NULL;
	*capacity = 0;
	if ((st = ops->alloc(ops->ctx, bytes ? bytes : ALIGN, ptr, err)) != PGS_OK)
		return st;
	*capacity = bytes;
	return PGS_OK;
}

static pgs_status
plan_lifetimes(pgs_net *net, int batch, pgs_net_mode mode, planned_buffer *buffers, int *n_buffers,
			   pgs_error *err)
{
	pgs_net_plan *plan = &net->plan;
	int			n = net->n_nodes;
	int		   *pos = malloc((size_t) n * sizeof(int));
	int			length = 0;
	bool		train = mode == PGS_NET_TRAIN;

	if (pos == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory planning a network");
	for (int i = 0; i < n; i++)
	{
		plan->active[i] = pgs_node_active(net, &net->nodes[i], mode);
		pos[i] = plan->active[i] ? length++ : -1;
		plan->grad[i] = (size_t) -1;
		plan->zero_at[i] = -1;
	}
	*n_buffers = 0;
	for (int i = 0; i < n; i++)
	{
		const pgs_node *node = &net->nodes[i];
		planned_buffer *act,
				   *grad = NULL;
		size_t		bytes = aligned(pgs_shape4_numel(&node->out) * (size_t) batch * sizeof(float));
		int			first_reader_backward = -1;

		if (!plan->active[i])
			continue;
		act = &buffers[(*n_buffers)++];
		*act = (planned_buffer) {bytes, pos[i], pos[i], &plan->act[i]};
		if (train && node->kind != PGS_NODE_INPUT)
		{
			grad = &buffers[(*n_buffers)++];
			*grad = (planned_buffer) {bytes, 2 * length - pos[i], 2 * length - pos[i], &plan->grad[i]};
		}
		if (node->is_logits || node->is_aux_logits)
		{
			act->end = FOREVER;
			if (grad)
			{
				grad->start = length;
				plan->zero_at[i] = -2;	/* before the loss */
			}
		}
		if (train && reads_output_in_backward(node->kind))
			act->end = 2 * length - pos[i];
		for (int c = i + 1; c < n; c++)
		{
			const pgs_node *reader = &net->nodes[c];

			if (!plan->active[c])
				continue;
			for (int k = 0; k < reader->n_inputs; k++)
			{
				if (reader->inputs[k] != i)
					continue;
				if (pos[c] > act->end)
					act->end = pos[c];
				if (train && reads_input_in_backward(reader->kind) && 2 * length - pos[c] > act->end)
					act->end = 2 * length - pos[c];
				if (first_reader_backward < 0 || 2 * length - pos[c] < 2 * length - pos[first_reader_backward])
					first_reader_backward = c;
			}
		}
		if (grad && plan->zero_at[i] == -1)
		{
			if (first_reader_backward >= 0)
			{
				grad->start = 2 * length - pos[first_reader_backward];
				plan->zero_at[i] = first_reader_backward;
			}
			else
				plan->zero_at[i] = i;	/* read by nothing: zero just before its own backward */
		}
	}
	free(pos);
	return PGS_OK;
}

static pgs_status
plan_workspace(pgs_net *net, int batch, pgs_net_mode mode, size_t *bytes, pgs_error *err)
{
	*bytes = 0;
	for (int i = 0; i < net->n_nodes; i++)
	{
		pgs_conv_desc d;
		size_t		need;
		pgs_status	st;

		if (net->nodes[i].kind != PGS_NODE_CONV || !net->plan.active[i])
			continue;
		d = net->nodes[i].conv;
		d.x.n = batch;
		if ((st = net->ops->conv_workspace(net->ops->ctx, &d, &need, err)) != PGS_OK)
			return st;
		*bytes = need > *bytes ? need : *bytes;
	}
	return PGS_OK;
}

static pgs_status
allocate_io(pgs_net *net, int batch, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	pgs_net_plan *plan = &net->plan;
	size_t		outputs = (size_t) batch * net->config.outputs;
	pgs_status	st;

	if ((st = ops->alloc(ops->ctx, outputs * sizeof(float), (void **) &plan->losses, err)) != PGS_OK ||
		(st = ops->alloc(ops->ctx, outputs * sizeof(float), (void **) &plan->aux_losses, err)) != PGS_OK ||
		(st = ops->alloc(ops->ctx, outputs * sizeof(float), &plan->targets, err)) != PGS_OK)
		return st;
	if ((plan->logits_host = malloc(outputs * sizeof(float))) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory planning a network");
	return PGS_OK;
}

static void
release_io(pgs_net *net)
{
	pgs_net_plan *plan = &net->plan;

	net->ops->free(net->ops->ctx, plan->losses);
	net->ops->free(net->ops->ctx, plan->aux_losses);
	net->ops->free(net->ops->ctx, plan->targets);
	free(plan->logits_host);
	plan->losses = plan->aux_losses = NULL;
	plan->targets = NULL;
	plan->logits_host = NULL;
}

pgs_status
pgs_net_plan_for(pgs_net *net, int batch, pgs_net_mode mode, pgs_error *err)
{
	pgs_net_plan *plan = &net->plan;
	int			n = net->n_nodes;
	planned_buffer *buffers = NULL;
	placed	   *scratch = NULL;
	int			n_buffers = 0;
	size_t		arena_bytes = 0,
				workspace_bytes = 0,
				arena_capacity,
				workspace_capacity;
	pgs_status	st;

	if (plan->valid && plan->batch == batch && plan->mode == mode)
		return PGS_OK;
	if (batch < 1 || batch > 1 << 16)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "batch size %d is not in [1, 65536]", batch);
	/* Allocations of an earlier plan are kept when large enough (training and validation alternate). */
	arena_capacity = plan->arena ? plan->arena_bytes : 0;
	workspace_capacity = plan->workspace ? plan->workspace_bytes : 0;
	if (plan->act == NULL)
	{
		plan->act = calloc(n, sizeof(size_t));
		plan->grad = calloc(n, sizeof(size_t));
		plan->zero_at = calloc(n, sizeof(int));
		plan->active = calloc(n, sizeof(bool));
		if (!plan->act || !plan->grad || !plan->zero_at || !plan->active)
			return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory planning a network");
	}
	if (plan->valid && plan->batch != batch)
		release_io(net);
	plan->valid = false;
	buffers = malloc(2 * (size_t) n * sizeof(planned_buffer));
	scratch = malloc(2 * (size_t) n * sizeof(placed));
	if (buffers == NULL || scratch == NULL)
	{
		st = pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory planning a network");
		goto done;
	}
	if ((st = plan_lifetimes(net, batch, mode, buffers, &n_buffers, err)) != PGS_OK)
		goto done;
	qsort(buffers, n_buffers, sizeof(planned_buffer), by_size_descending);
	for (int i = 0; i < n_buffers; i++)
	{
		*buffers[i].offset = place(buffers, i, &buffers[i], scratch);
		if (*buffers[i].offset + buffers[i].bytes > arena_bytes)
			arena_bytes = *buffers[i].offset + buffers[i].bytes;
	}
	if ((st = plan_workspace(net, batch, mode, &workspace_bytes, err)) != PGS_OK)
		goto done;
	if ((st = ensure_capacity(net->ops, &plan->arena, &arena_capacity, arena_bytes, err)) != PGS_OK ||
		(st = ensure_capacity(net->ops, &plan->workspace, &workspace_capacity, workspace_bytes, err)) != PGS_OK)
		goto done;
	plan->arena_bytes = arena_capacity;
	plan->workspace_bytes = workspace_capacity;
	if (plan->losses == NULL && (st = allocate_io(net, batch, err)) != PGS_OK)
		goto done;
	plan->batch = batch;
	plan->mode = mode;
	plan->valid = true;
done:
	free(buffers);
	free(scratch);
	return st;
}

void
pgs_net_plan_release(pgs_net *net)
{
	pgs_net_plan *plan = &net->plan;

	release_io(net);
	net->ops->free(net->ops->ctx, plan->arena);
	net->ops->free(net->ops->ctx, plan->workspace);
	free(plan->act);
	free(plan->grad);
	free(plan->zero_at);
	free(plan->active);
	memset(plan, 0, sizeof(*plan));
}

size_t
pgs_net_planned_bytes(const pgs_net *net)
{
	const pgs_net_plan *plan = &net->plan;

	if (!plan->valid)
		return 0;
	return plan->arena_bytes + plan->workspace_bytes +
		3 * (size_t) plan->batch * net->config.outputs * sizeof(float);
}
