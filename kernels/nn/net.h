/* Networks: build from a declarative table, parameters in one allocation, train and infer on any device. */
#ifndef PGS_NET_H
#define PGS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/status.h"
#include "../device/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pgs_arch
{
	PGS_ARCH_INCEPTION_V3 = 1,
	PGS_ARCH_SMALL_CNN
} pgs_arch;

typedef enum pgs_head
{
	PGS_HEAD_SIGMOID = 1,		/* `outputs` independent sigmoid outputs, binary cross-entropy (mean) */
	PGS_HEAD_SOFTMAX			/* `outputs` classes, softmax cross-entropy (mean over the batch) */
} pgs_head;

/* What a network is: everything needed to rebuild it, stored in model files. */
typedef struct pgs_net_config
{
	pgs_arch	arch;
	pgs_head	head;
	int			outputs;		/* 1 for referable/non-referable; k classes for softmax (k ≥ 2) */
	bool		aux_logits;		/* torchvision's auxiliary classifier, computed in training only */
	int			in_channels;
	int			in_height;
	int			in_width;
	float		bn_eps;			/* 0.001 for Inception-v3 */
	float		bn_momentum;	/* 0.1, PyTorch's convention */
	float		dropout;		/* before the final FC; 0.5 in torchvision */
} pgs_net_config;

/* torchvision's defaults for the architecture: 3×299×299 (small CNN: 3×64×64), one sigmoid output. */
void		pgs_net_config_defaults(pgs_net_config *config, pgs_arch arch);
pgs_status	pgs_net_config_check(const pgs_net_config *config, pgs_error *err);
const char *pgs_arch_name(pgs_arch arch);
pgs_status	pgs_arch_parse(const char *name, pgs_arch *arch, pgs_error *err);
const char *pgs_head_name(pgs_head head);
pgs_status	pgs_head_parse(const char *name, pgs_head *head, pgs_error *err);

/*
 * A named tensor of the network, in torchvision's state_dict order: trainable parameters (in the params
 * allocation, gradients at the same offsets in grads) and batch-norm running statistics (in the buffers
 * allocation). torchvision's num_batches_tracked counters are not tensors here: the network keeps one
 * count, written out for every batch-norm layer on export.
 */
typedef struct pgs_net_tensor
{
	char		name[96];		/* e.g. "Mixed_5b.branch1x1.conv.weight" */
	int			ndim;
	int64_t		shape[4];
	size_t		numel;
	size_t		offset;			/* in floats, into params/grads or buffers */
	bool		is_buffer;		/* running_mean / running_var */
	bool		decayed;		/* a convolution or FC weight: weight decay applies by default */
} pgs_net_tensor;

typedef enum pgs_net_mode
{
	PGS_NET_INFER = 0,			/* running statistics, no dropout, no auxiliary head, no gradients */
	PGS_NET_TRAIN				/* batch statistics (updating the running ones), dropout, auxiliary head */
} pgs_net_mode;

typedef struct pgs_net pgs_net;

/* Build the network on a device with zeroed parameters; see pgs_net_init_weights. */
pgs_status	pgs_net_create(const pgs_ops *ops, const pgs_net_config *config, pgs_net **out, pgs_error *err);
void		pgs_net_free(pgs_net *net);

const pgs_net_config *pgs_net_get_config(const pgs_net *net);
const pgs_ops *pgs_net_get_ops(const pgs_net *net);
int			pgs_net_tensor_count(const pgs_net *net);
const pgs_net_tensor *pgs_net_get_tensor(const pgs_net *net, int i);
const pgs_net_tensor *pgs_net_find_tensor(const pgs_net *net, const char *name);
size_t		pgs_net_param_count(const pgs_net *net);	/* trainable floats */
size_t		pgs_net_buffer_count(const pgs_net *net);	/* running-statistics floats */
int64_t		pgs_net_batches_tracked(const pgs_net *net);
void		pgs_net_set_batches_tracked(pgs_net *net, int64_t count);

/* Device pointers of the three flat allocations (float arrays of the counts above). */
float	   *pgs_net_params(pgs_net *net);
float	   *pgs_net_grads(pgs_net *net);
float	   *pgs_net_buffers(pgs_net *net);

/*
 * torchvision's initialisation: convolution and FC weights ~ N(0, std²) truncated to [−2, 2] (std 0.1 or the
 * row's init_std), FC biases ~ U(±1/√in) (nn.Linear's default), batch norm γ = 1, β = 0, running mean 0,
 * running variance 1. Deterministic for a seed on every device (drawn on the host, then uploaded).
 */
pgs_status	pgs_net_init_weights(pgs_net *net, uint64_t seed, pgs_error *err);

/* Copy one tensor (by index) between the device and host memory. */
pgs_status	pgs_net_read_tensor(pgs_net *net, int i, float *host, pgs_error *err);
pgs_status	pgs_net_write_tensor(pgs_net *net, int i, const float *host, pgs_error *err);

/*
 * Forward pass on a batch of n images (host memory, n × C × H × W float32, NCHW). Plans activation memory
 * the first time a (batch size, mode) pair is seen, reusing buffers whose lifetimes do not overlap. In
 * training the dropout masks come from the seed and the step counter, so a run is reproducible.
 */
pgs_status	pgs_net_forward(pgs_net *net, int n, const float *images, pgs_net_mode mode, pgs_error *err);

/*
 * The same from images already in the network's device memory (n × C × H × W float32, NCHW), such as the
 * output of the ops table's prepare_input: the training and scoring paths prepare and augment their
 * batches on the device and never move float images through the host.
 */
pgs_status	pgs_net_forward_device(pgs_net *net, int n, const float *images, pgs_net_mode mode,
								   pgs_error *err);

/* The last forward's logits (n × outputs) and, after a training forward with aux_logits, the auxiliary ones. */
pgs_status	pgs_net_logits(pgs_net *net, float *logits, float *aux_logits, pgs_error *err);

/* Probabilities of the last forward: sigmoid per output, or softmax per row. */
pgs_status	pgs_net_probabilities(pgs_net *net, float *probabilities, pgs_error *err);

typedef struct pgs_net_loss
{
	double		loss;			/* the value minimised: main + aux_weight · aux */
	double		main;			/* mean loss of the main head */
	double		aux;			/* mean loss of the auxiliary head (0 without one) */
} pgs_net_loss;

/*
 * After a training forward: the loss against targets (sigmoid head: n × outputs floats in [0, 1]) or
 * labels (softmax head: n class numbers), then backward, ACCUMULATING parameter gradients into grads (call
 * pgs_net_zero_grads first unless accumulating over several batches). aux_weight weighs the auxiliary
 * loss (torchvision's reference recipe: 0.4). Backward overwrites activations it no longer needs, so it
 * runs once per training forward.
 */
pgs_status	pgs_net_backward(pgs_net *net, const float *targets, const int32_t *labels, float aux_weight,
							 pgs_net_loss *loss, pgs_error *err);
pgs_status	pgs_net_zero_grads(pgs_net *net, pgs_error *err);

/*
 * Data parallelism (kernels/train/replica.h). With a batch-norm sum set, training batch norm takes its
 * statistics over every replica's batch, as PyTorch's SyncBatchNorm: each layer calls sum(arg, sums, 2·C)
 * on its per-channel sums (device memory), which must add them across the `replicas` replicas in step, and
 * then normalises with the totals; backward sums its two per-channel terms the same way. NULL restores
 * per-replica statistics. The dropout stream (0 by default, and in model files) gives each replica its own
 * dropout masks.
 */
typedef pgs_status (*pgs_net_sum_fn) (void *arg, double *sums, size_t n, pgs_error *err);
pgs_status	pgs_net_set_batch_norm_sum(pgs_net *net, pgs_net_sum_fn sum, void *arg, int replicas, pgs_error *err);
void		pgs_net_set_dropout_stream(pgs_net *net, uint64_t stream);

/* Bytes of device memory the current plan holds (activations, gradients, workspace), for reports. */
size_t		pgs_net_planned_bytes(const pgs_net *net);

#ifdef __cplusplus
}
#endif

#endif
