/* Weight initialisation as torchvision's Inception3(init_weights=True), drawn on the host from a seed. */
#include "net_internal.h"
#include "../device/nn_math.h"

#include <math.h>
#include <stdlib.h>

/* A splitmix64 stream: uniform doubles in [0, 1) with 53 random bits; normals come in Box-Muller pairs. */
typedef struct init_rng
{
	uint64_t	state;
	bool		has_spare;
	double		spare;			/* the second normal of the last pair */
} init_rng;

static double
uniform(init_rng *r)
{
	r->state += 0x9E3779B97F4A7C15ULL;
	return (double) (pgs_mix64(r->state) >> 11) * (1.0 / 9007199254740992.0);
}

static double
standard_normal(init_rng *r)
{
	double		u1,
				u2,
				radius;

	if (r->has_spare)
	{
		r->has_spare = false;
		return r->spare;
	}
	u1 = uniform(r);
	u2 = uniform(r);
	radius = sqrt(-2.0 * log(1.0 - u1));
	r->spare = radius * sin(2.0 * M_PI * u2);
	r->has_spare = true;
	return radius * cos(2.0 * M_PI * u2);
}

/* N(0, std²) truncated to [−2, 2] (absolute bounds, as torch.nn.init.trunc_normal_(a=−2, b=2)). */
static float
truncated_normal(init_rng *r, float std)
{
	for (;;)
	{
		double		z = standard_normal(r) * std;

		if (z >= -2.0 && z <= 2.0)
			return (float) z;
	}
}

static void
fill_tensor(const pgs_net *net, const pgs_node *node, int tensor, init_rng *r, float *host)
{
	const pgs_net_tensor *t = &net->tensors[tensor];
	float	   *x = host;

	if (node->kind == PGS_NODE_BN)
	{
		/* γ and the running variance start at 1, β and the running mean at 0. */
		float		value = (tensor == node->weight || tensor == node->running_var) ? 1.0f : 0.0f;

		for (size_t i = 0; i < t->numel; i++)
			x[i] = value;
	}
	else if (tensor == node->weight)
		for (size_t i = 0; i < t->numel; i++)
			x[i] = truncated_normal(r, node->init_std);
	else
	{
		/* nn.Linear's own bias initialisation, which torchvision leaves alone. */
		double		bound = 1.0 / sqrt((double) node->fc_in);

		for (size_t i = 0; i < t->numel; i++)
			x[i] = (float) ((2.0 * uniform(r) - 1.0) * bound);
	}
}

pgs_status
pgs_net_init_weights(pgs_net *net, uint64_t seed, pgs_error *err)
{
	init_rng	rng = {seed, false, 0.0};
	size_t		largest = 1;
	float	   *host;
	pgs_status	st = PGS_OK;

	for (int i = 0; i < net->n_tensors; i++)
		largest = net->tensors[i].numel > largest ? net->tensors[i].numel : largest;
	if ((host = malloc(largest * sizeof(float))) == NULL)
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory initialising weights");
	/* Tensors in table order, so the stream of random numbers never depends on memory layout. */
	for (int n = 0; n < net->n_nodes && st == PGS_OK; n++)
	{
		const pgs_node *node = &net->nodes[n];
		int			tensors[4] = {node->weight, node->bias, node->running_mean, node->running_var};

		for (int k = 0; k < 4 && st == PGS_OK; k++)
		{
			if (tensors[k] < 0)
				continue;
			fill_tensor(net, node, tensors[k], &rng, host);
			st = pgs_net_write_tensor(net, tensors[k], host, err);
		}
	}
	free(host);
	if (st != PGS_OK)
		return st;
	net->batches_tracked = 0;
	net->train_steps = 0;
	net->dropout_seed = pgs_mix64(seed ^ 0xD50F0D5EEDULL);
	return net->ops->zero(net->ops->ctx, net->grads, net->n_params * sizeof(float), err);
}
