/* Runs any planned network: forward over the nodes in order, the loss, backward in reverse order. */
#include "net_internal.h"
#include "../device/nn_math.h"
#include "../common/cancel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static pgs_status
forward_node(pgs_net *net, int i, bool train, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	void	   *ctx = ops->ctx;
	const pgs_node *node = &net->nodes[i];
	int			batch = net->plan.batch;
	const float *x = node->n_inputs > 0 ? pgs_node_act(net, node->inputs[0]) : NULL;
	float	   *y = pgs_node_act(net, i);
	size_t		numel = pgs_shape4_numel(&node->out) * (size_t) batch;

	switch (node->kind)
	{
		case PGS_NODE_INPUT:
			return PGS_OK;
		case PGS_NODE_CONV:
			{
				pgs_conv_desc d = node->conv;

				d.x.n = batch;
				return ops->conv_forward(ctx, &d, x, net->params + net->tensors[node->weight].offset, y,
										 net->plan.workspace, net->plan.workspace_bytes, err);
			}
		case PGS_NODE_BN:
			{
				pgs_bn_desc d = {node->out, net->config.bn_eps, net->config.bn_momentum};
				const float *gamma = net->params + net->tensors[node->weight].offset;
				const float *beta = net->params + net->tensors[node->bias].offset;
				float	   *rm = net->buffers + net->tensors[node->running_mean].offset;
				float	   *rv = net->buffers + net->tensors[node->running_var].offset;

				d.x.n = batch;
				if (train && net->bn_sum != NULL)
					return pgs_net_bn_forward_replicas(net, node, &d, x, y, err);
				if (train)
					return ops->bn_forward_train(ctx, &d, x, gamma, beta, y, rm, rv, net->bn_stats + node->bn_stats,
												 net->bn_stats + node->bn_stats + node->out.c, err);
				return ops->bn_forward_infer(ctx, &d, x, gamma, beta, rm, rv, y, err);
			}
		case PGS_NODE_RELU:
			return ops->relu_forward(ctx, numel, x, y, err);
		case PGS_NODE_POOL:
			{
				pgs_pool_desc d = node->pool;

				d.x.n = batch;
				return ops->pool_forward(ctx, &d, x, y, err);
			}
		case PGS_NODE_CONCAT:
			{
				pgs_shape4	parts[PGS_SPEC_MAX_INPUTS];
				const float *inputs[PGS_SPEC_MAX_INPUTS];

				for (int k = 0; k < node->n_inputs; k++)
				{
					parts[k] = net->nodes[node->inputs[k]].out;
					parts[k].n = batch;
					inputs[k] = pgs_node_act(net, node->inputs[k]);
				}
				return ops->concat_forward(ctx, node->n_inputs, parts, inputs, y, err);
			}
		case PGS_NODE_DROPOUT:
			if (train && net->config.dropout > 0.0f)
				return ops->dropout_forward(ctx, numel, net->config.dropout,
											pgs_net_dropout_seed(net, net->train_steps, i),
											x, y, err);
			return ops->copy(ctx, y, x, numel * sizeof(float), err);
		case PGS_NODE_FC:
			return ops->fc_forward(ctx, batch, node->fc_in, node->fc_out, x,
								   net->params + net->tensors[node->weight].offset,
								   net->params + net->tensors[node->bias].offset, y, err);
	}
	return pgs_fail(err, PGS_ERR_INTERNAL, "node \"%s\" has an unknown kind", node->name);
}

/* The forward pass from images in host memory, or already on the device (on_device). */
static pgs_status
forward(pgs_net *net, int n, const float *images, bool on_device, pgs_net_mode mode, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	bool		train = mode == PGS_NET_TRAIN;
	size_t		bytes;
	pgs_status	st;

	net->backward_ready = false;
	if ((st = pgs_net_plan_for(net, n, mode, err)) != PGS_OK)
		return st;
	bytes = pgs_shape4_numel(&net->nodes[0].out) * (size_t) n * sizeof(float);
	st = on_device ? ops->copy(ops->ctx, pgs_node_act(net, 0), images, bytes, err) :
		ops->upload(ops->ctx, pgs_node_act(net, 0), images, bytes, err);
	if (st != PGS_OK)
		return st;
	/* A cancel point per layer: a cancelled pass leaves backward_ready false, so nothing uses its half. */
	for (int i = 1; i < net->n_nodes; i++)
		if (net->plan.active[i] &&
			((st = pgs_cancel_point(err)) != PGS_OK || (st = forward_node(net, i, train, err)) != PGS_OK))
			return st;
	if (train)
	{
		/* Matches torchvision: every training forward counts in num_batches_tracked. */
		net->batches_tracked++;
		net->train_steps++;
	}
	net->backward_ready = train;
	return PGS_OK;
}

pgs_status
pgs_net_forward(pgs_net *net, int n, const float *images, pgs_net_mode mode, pgs_error *err)
{
	return forward(net, n, images, false, mode, err);
}

pgs_status
pgs_net_forward_device(pgs_net *net, int n, const float *images, pgs_net_mode mode, pgs_error *err)
{
	return forward(net, n, images, true, mode, err);
}

pgs_status
pgs_net_logits(pgs_net *net, float *logits, float *aux_logits, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	size_t		bytes = (size_t) net->plan.batch * net->config.outputs * sizeof(float);
	pgs_status	st;

	if (!net->plan.valid)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "the network has not run a forward pass");
	if (logits != NULL &&
		(st = ops->download(ops->ctx, logits, pgs_node_act(net, net->logits_node), bytes, err)) != PGS_OK)
		return st;
	if (aux_logits != NULL)
	{
		if (net->aux_logits_node < 0 || net->plan.mode != PGS_NET_TRAIN)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "no auxiliary logits: %s",
							net->aux_logits_node < 0 ? "the network has no auxiliary head"
							: "the auxiliary head runs in training only");
		if ((st = ops->download(ops->ctx, aux_logits, pgs_node_act(net, net->aux_logits_node), bytes, err)) != PGS_OK)
			return st;
	}
	return PGS_OK;
}

pgs_status
pgs_net_probabilities(pgs_net *net, float *probabilities, pgs_error *err)
{
	int			k = net->config.outputs;
	pgs_status	st;

	if ((st = pgs_net_logits(net, probabilities, NULL, err)) != PGS_OK)
		return st;
	for (int i = 0; i < net->plan.batch; i++)
	{
		float	   *row = probabilities + (size_t) i * k;

		if (net->config.head == PGS_HEAD_SIGMOID)
			for (int j = 0; j < k; j++)
				row[j] = pgs_sigmoid(row[j]);
		else
		{
			float		max = row[0];
			double		sum = 0;

			for (int j = 1; j < k; j++)
				max = row[j] > max ? row[j] : max;
			for (int j = 0; j < k; j++)
				sum += row[j] = expf(row[j] - max);
			for (int j = 0; j < k; j++)
				row[j] = (float) (row[j] / sum);
		}
	}
	return PGS_OK;
}

static pgs_status
backward_node(pgs_net *net, int i, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	void	   *ctx = ops->ctx;
	const pgs_node *node = &net->nodes[i];
	int			batch = net->plan.batch;
	int			in = node->n_inputs > 0 ? node->inputs[0] : -1;
	const float *x = in >= 0 ? pgs_node_act(net, in) : NULL;
	float	   *dx = in >= 0 ? pgs_node_grad(net, in) : NULL;
	const float *dy = pgs_node_grad(net, i);
	size_t		numel = pgs_shape4_numel(&node->out) * (size_t) batch;

	/* Only convolutions read the image itself; nothing else has an input gradient to skip. */
	if (dx == NULL && node->kind != PGS_NODE_CONV && node->kind != PGS_NODE_INPUT)
		return pgs_fail(err, PGS_ERR_INTERNAL, "layer \"%s\" reads the input image directly", node->name);
	switch (node->kind)
	{
		case PGS_NODE_INPUT:
			return PGS_OK;
		case PGS_NODE_CONV:
			{
				pgs_conv_desc d = node->conv;
				size_t		w = net->tensors[node->weight].offset;

				d.x.n = batch;
				return ops->conv_backward(ctx, &d, x, net->params + w, dy, dx, net->grads + w, net->plan.workspace,
										  net->plan.workspace_bytes, err);
			}
		case PGS_NODE_BN:
			{
				pgs_bn_desc d = {node->out, net->config.bn_eps, net->config.bn_momentum};
				size_t		g = net->tensors[node->weight].offset,
							b = net->tensors[node->bias].offset;

				d.x.n = batch;
				if (net->bn_sum != NULL)
					return pgs_net_bn_backward_replicas(net, node, &d, x, dy, dx, err);
				return ops->bn_backward(ctx, &d, x, dy, net->params + g, net->bn_stats + node->bn_stats,
										net->bn_stats + node->bn_stats + node->out.c, dx, net->grads + g,
										net->grads + b, err);
			}
		case PGS_NODE_RELU:
			return ops->relu_backward(ctx, numel, pgs_node_act(net, i), dy, dx, err);
		case PGS_NODE_POOL:
			{
				pgs_pool_desc d = node->pool;

				d.x.n = batch;
				return ops->pool_backward(ctx, &d, x, pgs_node_act(net, i), dy, dx, err);
			}
		case PGS_NODE_CONCAT:
			{
				pgs_shape4	parts[PGS_SPEC_MAX_INPUTS];
				float	   *grads[PGS_SPEC_MAX_INPUTS];

				for (int k = 0; k < node->n_inputs; k++)
				{
					parts[k] = net->nodes[node->inputs[k]].out;
					parts[k].n = batch;
					grads[k] = pgs_node_grad(net, node->inputs[k]);
				}
				return ops->concat_backward(ctx, node->n_inputs, parts, dy, grads, err);
			}
		case PGS_NODE_DROPOUT:
			if (net->config.dropout > 0.0f)
				return ops->dropout_backward(ctx, numel, net->config.dropout,
											 pgs_net_dropout_seed(net, net->train_steps - 1, i),
											 dy, dx, err);
			return ops->axpy(ctx, numel, 1.0f, dy, dx, err);
		case PGS_NODE_FC:
			{
				size_t		w = net->tensors[node->weight].offset,
							b = net->tensors[node->bias].offset;

				return ops->fc_backward(ctx, batch, node->fc_in, node->fc_out, x, net->params + w, dy, dx,
										net->grads + w, net->grads + b, err);
			}
	}
	return pgs_fail(err, PGS_ERR_INTERNAL, "node \"%s\" has an unknown kind", node->name);
}

/* Loss of one head into losses, its gradient (scaled by weight / count) into the logits' gradient. */
static pgs_status
head_loss(pgs_net *net, int node, float weight, float *losses, double *mean, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	int			batch = net->plan.batch,
				k = net->config.outputs;
	size_t		count = net->config.head == PGS_HEAD_SIGMOID ? (size_t) batch * k : (size_t) batch;
	float	   *host = net->plan.logits_host;
	double		sum = 0;
	pgs_status	st;

	if (net->config.head == PGS_HEAD_SIGMOID)
		st = ops->sigmoid_bce(ops->ctx, count, pgs_node_act(net, node), net->plan.targets, losses,
							  pgs_node_grad(net, node), weight / (float) count, err);
	else
		st = ops->softmax_ce(ops->ctx, batch, k, pgs_node_act(net, node), net->plan.targets, losses,
							 pgs_node_grad(net, node), weight / (float) count, err);
	if (st != PGS_OK || (st = ops->download(ops->ctx, host, losses, count * sizeof(float), err)) != PGS_OK)
		return st;
	for (size_t i = 0; i < count; i++)
		sum += host[i];
	*mean = sum / (double) count;
	return PGS_OK;
}

static pgs_status
upload_targets(pgs_net *net, const float *targets, const int32_t *labels, pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	int			batch = net->plan.batch,
				k = net->config.outputs;

	if (net->config.head == PGS_HEAD_SIGMOID)
	{
		if (targets == NULL)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "a sigmoid head needs float targets");
		for (size_t i = 0; i < (size_t) batch * k; i++)
			if (!(targets[i] >= 0.0f && targets[i] <= 1.0f))
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "target %g is not in [0, 1]", (double) targets[i]);
		return ops->upload(ops->ctx, net->plan.targets, targets, (size_t) batch * k * sizeof(float), err);
	}
	if (labels == NULL)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "a softmax head needs class labels");
	/* Checked here because a GPU kernel cannot report a bad label. */
	for (int i = 0; i < batch; i++)
		if (labels[i] < 0 || labels[i] >= k)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "class label %d is not in [0, %d)", labels[i], k);
	return ops->upload(ops->ctx, net->plan.targets, labels, (size_t) batch * sizeof(int32_t), err);
}

pgs_status
pgs_net_backward(pgs_net *net, const float *targets, const int32_t *labels, float aux_weight, pgs_net_loss *loss,
				 pgs_error *err)
{
	const pgs_ops *ops = net->ops;
	pgs_net_plan *plan = &net->plan;
	bool		with_aux = net->aux_logits_node >= 0;
	pgs_status	st;

	memset(loss, 0, sizeof(*loss));
	/* Backward reuses activation memory as it goes, so each training forward allows one backward. */
	if (!plan->valid || plan->mode != PGS_NET_TRAIN || !net->backward_ready)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "backward needs a training forward pass first");
	net->backward_ready = false;
	if ((st = upload_targets(net, targets, labels, err)) != PGS_OK)
		return st;
	for (int i = 0; i < net->n_nodes; i++)
		if (plan->active[i] && plan->zero_at[i] == -2 &&
			(st = ops->zero(ops->ctx, pgs_node_grad(net, i),
							pgs_shape4_numel(&net->nodes[i].out) * (size_t) plan->batch * sizeof(float), err)) != PGS_OK)
			return st;
	if ((st = head_loss(net, net->logits_node, 1.0f, plan->losses, &loss->main, err)) != PGS_OK)
		return st;
	if (with_aux && (st = head_loss(net, net->aux_logits_node, aux_weight, plan->aux_losses, &loss->aux, err)) != PGS_OK)
		return st;
	loss->loss = loss->main + (with_aux ? aux_weight * loss->aux : 0.0);

	for (int i = net->n_nodes - 1; i > 0; i--)
	{
		const pgs_node *node = &net->nodes[i];

		if (!plan->active[i])
			continue;
		if ((st = pgs_cancel_point(err)) != PGS_OK)
			return st;
		/* Gradients whose first writer is this node start from zero (their memory may be reused). */
		for (int k = 0; k < node->n_inputs; k++)
		{
			int			in = node->inputs[k];

			if (plan->zero_at[in] == i && pgs_node_grad(net, in) != NULL &&
				(st = ops->zero(ops->ctx, pgs_node_grad(net, in),
								pgs_shape4_numel(&net->nodes[in].out) * (size_t) plan->batch * sizeof(float), err)) != PGS_OK)
				return st;
		}
		if (plan->zero_at[i] == i &&
			(st = ops->zero(ops->ctx, pgs_node_grad(net, i),
							pgs_shape4_numel(&node->out) * (size_t) plan->batch * sizeof(float), err)) != PGS_OK)
			return st;
		if ((st = backward_node(net, i, err)) != PGS_OK)
			return st;
	}
	return PGS_OK;
}

pgs_status
pgs_net_zero_grads(pgs_net *net, pgs_error *err)
{
	return net->ops->zero(net->ops->ctx, net->grads, net->n_params * sizeof(float), err);
}
