/* The network's internal structures, shared by net_build.c, net_plan.c, net_run.c and net_init.c. */
#ifndef PGS_NET_INTERNAL_H
#define PGS_NET_INTERNAL_H

#include "net.h"
#include "net_spec.h"

typedef enum pgs_node_kind
{
	PGS_NODE_INPUT = 0,
	PGS_NODE_CONV,
	PGS_NODE_BN,
	PGS_NODE_RELU,
	PGS_NODE_POOL,				/* max, average and global average pooling */
	PGS_NODE_CONCAT,
	PGS_NODE_DROPOUT,
	PGS_NODE_FC
} pgs_node_kind;

/* One primitive layer. Shapes are per image (n = 1); the plan scales them to the batch. */
typedef struct pgs_node
{
	pgs_node_kind kind;
	char		name[96];
	int			inputs[PGS_SPEC_MAX_INPUTS];
	int			n_inputs;
	pgs_shape4	out;
	bool		aux;			/* in the auxiliary head */
	bool		is_logits;
	bool		is_aux_logits;
	pgs_conv_desc conv;
	pgs_pool_desc pool;
	float		init_std;		/* convolution and FC weights */
	int			fc_in;
	int			fc_out;
	int			weight;			/* tensor index: conv/FC weight, BN gamma; −1 if none */
	int			bias;			/* FC bias, BN beta */
	int			running_mean;	/* BN buffers */
	int			running_var;
	size_t		bn_stats;		/* BN: offset (floats) of its saved mean, then 1/std, in net->bn_stats */
} pgs_node;

/* Memory plan for one (batch size, mode): offsets into one arena for every live tensor. */
typedef struct pgs_net_plan
{
	int			batch;
	pgs_net_mode mode;
	bool		valid;
	void	   *arena;
	size_t		arena_bytes;
	size_t	   *act;			/* per node: byte offset of its output in the arena */
	size_t	   *grad;			/* per node: byte offset of its gradient, or SIZE_MAX */
	int		   *zero_at;		/* per node: the node whose backward first accumulates into its gradient */
	bool	   *active;			/* per node: runs in this mode */
	void	   *workspace;
	size_t		workspace_bytes;
	float	   *losses;			/* device: per-element losses of the main head */
	float	   *aux_losses;
	void	   *targets;		/* device: float targets or int32 labels */
	float	   *logits_host;	/* host copy for probabilities */
} pgs_net_plan;

struct pgs_net
{
	const pgs_ops *ops;
	pgs_net_config config;
	pgs_node   *nodes;
	int			n_nodes;
	int			logits_node;
	int			aux_logits_node;	/* −1 without an auxiliary head */
	pgs_net_tensor *tensors;
	int			n_tensors;
	size_t		n_params;
	size_t		n_buffers;
	size_t		n_bn_stats;
	float	   *params;
	float	   *grads;
	float	   *buffers;
	float	   *bn_stats;
	int64_t		batches_tracked;
	uint64_t	dropout_seed;
	int64_t		train_steps;	/* training forwards so far: advances the dropout masks */
	bool		backward_ready; /* a training forward ran and its backward has not (backward reuses memory) */
	uint64_t	dropout_stream; /* 0, or a replica's own stream of dropout masks */
	pgs_net_sum_fn bn_sum;		/* batch-norm statistics over replicas: the sum across them, or NULL */
	void	   *bn_sum_arg;
	int			bn_replicas;
	double	   *bn_sums;		/* device: 2 × the widest batch-norm layer's channels */
	pgs_net_plan plan;
};

/* Active nodes of a mode: everything in training (aux head only with aux_logits), no aux head otherwise. */
static inline bool
pgs_node_active(const pgs_net *net, const pgs_node *node, pgs_net_mode mode)
{
	return !node->aux || mode == PGS_NET_TRAIN;
}

const pgs_layer_spec *pgs_arch_spec(pgs_arch arch);

/* net_replicas.c: the seed of a dropout layer's mask in training step `step` */
uint64_t	pgs_net_dropout_seed(const pgs_net *net, int64_t step, int node);
/* Batch norm with statistics summed across replicas (training forward and backward of one layer). */
pgs_status	pgs_net_bn_forward_replicas(pgs_net *net, const pgs_node *node, const pgs_bn_desc *d, const float *x,
										float *y, pgs_error *err);
pgs_status	pgs_net_bn_backward_replicas(pgs_net *net, const pgs_node *node, const pgs_bn_desc *d, const float *x,
										 const float *dy, float *dx, pgs_error *err);

/* net_plan.c */
pgs_status	pgs_net_plan_for(pgs_net *net, int batch, pgs_net_mode mode, pgs_error *err);
void		pgs_net_plan_release(pgs_net *net);

/* Device pointer of a node's output or gradient in the current plan. */
static inline float *
pgs_node_act(pgs_net *net, int node)
{
	return (float *) ((char *) net->plan.arena + net->plan.act[node]);
}

static inline float *
pgs_node_grad(pgs_net *net, int node)
{
	return net->plan.grad[node] == (size_t) -1 ? NULL : (float *) ((char *) net->plan.arena + net->plan.grad[node]);
}

#endif
