/* Networks end to end on the CPU: build from the tables, whole-network gradients, planning, training. */
#include "../../kernels/device/ops.h"
#include "../../kernels/nn/net.h"
#include "../../kernels/nn/optimizer.h"
#include "nn_testing.h"
#include "cancel_testing.h"

static const pgs_ops *ops;
static pgs_error err;

static pgs_net *
small_net(pgs_head head, int outputs, bool aux, float dropout)
{
	pgs_net_config c;
	pgs_net    *net = NULL;

	pgs_net_config_defaults(&c, PGS_ARCH_SMALL_CNN);
	c.head = head;
	c.outputs = outputs;
	c.aux_logits = aux;
	c.in_height = 40;
	c.in_width = 36;
	c.dropout = dropout;
	CHECK_OK(pgs_net_create(ops, &c, &net, &err), &err);
	if (net)
		CHECK_OK(pgs_net_init_weights(net, 42, &err), &err);
	return net;
}

static void
test_inception_v3_matches_torchvision_sizes(void)
{
	pgs_net_config c;
	pgs_net    *net = NULL;
	size_t		buffers;

	/* torchvision.models.inception_v3(aux_logits=False) with 1000 classes: 23,834,568 parameters. */
	pgs_net_config_defaults(&c, PGS_ARCH_INCEPTION_V3);
	c.head = PGS_HEAD_SOFTMAX;
	c.outputs = 1000;
	CHECK_OK(pgs_net_create(ops, &c, &net, &err), &err);
	if (net == NULL)
		return;
	CHECK(pgs_net_param_count(net) == 23834568);
	/* 566 state_dict entries, of which 94 are num_batches_tracked. */
	CHECK(pgs_net_tensor_count(net) == 566 - 94);
	buffers = pgs_net_buffer_count(net);
	CHECK(buffers == 34432);
	CHECK(strcmp(pgs_net_get_tensor(net, 0)->name, "Conv2d_1a_3x3.conv.weight") == 0);
	CHECK(strcmp(pgs_net_get_tensor(net, pgs_net_tensor_count(net) - 1)->name, "fc.bias") == 0);
	{
		const pgs_net_tensor *t = pgs_net_find_tensor(net, "Mixed_6b.branch7x7_2.conv.weight");

		CHECK(t != NULL && t->ndim == 4 && t->shape[0] == 128 && t->shape[1] == 128 && t->shape[2] == 1 &&
			  t->shape[3] == 7);
		t = pgs_net_find_tensor(net, "Mixed_7c.branch_pool.bn.running_var");
		CHECK(t != NULL && t->is_buffer && t->shape[0] == 192);
		CHECK(pgs_net_find_tensor(net, "AuxLogits.fc.weight") == NULL);
	}
	pgs_net_free(net);

	c.aux_logits = true;
	CHECK_OK(pgs_net_create(ops, &c, &net, &err), &err);
	if (net == NULL)
		return;
	CHECK(pgs_net_param_count(net) == 27161264);
	CHECK(pgs_net_find_tensor(net, "AuxLogits.conv1.conv.weight") != NULL);
	pgs_net_free(net);

	/* Too small an input for the strides is an error that names the architecture. */
	c.in_height = c.in_width = 60;
	CHECK_FAILS(pgs_net_create(ops, &c, &net, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECKF(strstr(err.message, "input size 60×60 is too small for inception_v3") != NULL, "%s", err.message);
}

static void
test_initialisation_is_torchvision_like_and_seeded(void)
{
	pgs_net    *a = small_net(PGS_HEAD_SIGMOID, 1, false, 0.5f),
			   *b = small_net(PGS_HEAD_SIGMOID, 1, false, 0.5f);
	int			w = -1;
	float	   *x,
			   *y;
	const pgs_net_tensor *t;
	double		sum = 0,
				sumsq = 0;

	if (!a || !b)
		return;
	for (int i = 0; i < pgs_net_tensor_count(a); i++)
		if (strcmp(pgs_net_get_tensor(a, i)->name, "conv2.conv.weight") == 0)
			w = i;
	CHECK(w >= 0);
	t = pgs_net_get_tensor(a, w);
	x = malloc(t->numel * sizeof(float));
	y = malloc(t->numel * sizeof(float));
	CHECK_OK(pgs_net_read_tensor(a, w, x, &err), &err);
	CHECK_OK(pgs_net_read_tensor(b, w, y, &err), &err);
	CHECK(memcmp(x, y, t->numel * sizeof(float)) == 0);
	for (size_t i = 0; i < t->numel; i++)
	{
		sum += x[i];
		sumsq += (double) x[i] * x[i];
	}
	CHECKF(fabs(sum / t->numel) < 0.01 && fabs(sqrt(sumsq / t->numel) - 0.1) < 0.01, "mean %g, std %g",
		   sum / t->numel, sqrt(sumsq / t->numel));
	CHECK_OK(pgs_net_init_weights(b, 43, &err), &err);
	CHECK_OK(pgs_net_read_tensor(b, w, y, &err), &err);
	CHECK(memcmp(x, y, t->numel * sizeof(float)) != 0);
	t = pgs_net_find_tensor(a, "conv2.bn.running_var");
	CHECK_OK(pgs_net_read_tensor(a, (int) (t - pgs_net_get_tensor(a, 0)), x, &err), &err);
	CHECK(x[0] == 1.0f && x[31] == 1.0f);
	free(x);
	free(y);
	pgs_net_free(a);
	pgs_net_free(b);
}

/*
 * Whole-network gradients are checked against PyTorch's, tensor by tensor, in test/oracle/nn_oracle.py
 * (agreement to about 1e-6): finite differences through a deep float32 network with batch norm over tiny
 * batches are only good to tens of per cent, too coarse to mean anything. Here: the properties the
 * training loop relies on.
 */

/* Backward accumulates: two passes over the same batch without zeroing give exactly twice the gradient. */
static void
test_gradients_accumulate(void)
{
	pgs_net    *net = small_net(PGS_HEAD_SIGMOID, 2, true, 0.0f);
	float	   *images = nn_random((size_t) 2 * 3 * 40 * 36, -1, 1, 11);
	float		targets[4] = {1, 0, 0, 1};
	size_t		n;
	float	   *once,
			   *twice;
	pgs_net_loss loss;
	double		worst = 0;

	if (net == NULL)
		return;
	n = pgs_net_param_count(net);
	once = malloc(n * sizeof(float));
	twice = malloc(n * sizeof(float));
	CHECK_OK(pgs_net_zero_grads(net, &err), &err);
	CHECK_OK(pgs_net_forward(net, 2, images, PGS_NET_TRAIN, &err), &err);
	CHECK_OK(pgs_net_backward(net, targets, NULL, 0.4f, &loss, &err), &err);
	CHECK_OK(ops->download(ops->ctx, once, pgs_net_grads(net), n * sizeof(float), &err), &err);
	/* Backward reuses activation memory: it runs once per forward. */
	CHECK_FAILS(pgs_net_backward(net, targets, NULL, 0.4f, &loss, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	CHECK_OK(pgs_net_forward(net, 2, images, PGS_NET_TRAIN, &err), &err);
	CHECK_OK(pgs_net_backward(net, targets, NULL, 0.4f, &loss, &err), &err);
	CHECK_OK(ops->download(ops->ctx, twice, pgs_net_grads(net), n * sizeof(float), &err), &err);
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, fabs(twice[i] - 2 * once[i]) / (1e-4 + fabs(once[i])));
	CHECKF(worst < 1e-4, "worst %g", worst);
	free(once);
	free(twice);
	free(images);
	pgs_net_free(net);
}

static void
test_inference_and_planning(void)
{
	pgs_net    *net = small_net(PGS_HEAD_SOFTMAX, 4, true, 0.5f);
	float	   *images = nn_random((size_t) 5 * 3 * 40 * 36, -1, 1, 3);
	float		p5[5 * 4],
				p1[4],
				again[5 * 4];
	size_t		infer_bytes,
				train_bytes;

	if (net == NULL)
		return;
	CHECK_OK(pgs_net_forward(net, 5, images, PGS_NET_INFER, &err), &err);
	CHECK_OK(pgs_net_probabilities(net, p5, &err), &err);
	infer_bytes = pgs_net_planned_bytes(net);
	for (int i = 0; i < 5; i++)
		CHECK(fabsf(p5[4 * i] + p5[4 * i + 1] + p5[4 * i + 2] + p5[4 * i + 3] - 1.0f) < 1e-6f);
	/* An image's result does not depend on the batch it is in (inference: no batch statistics). */
	CHECK_OK(pgs_net_forward(net, 1, images + 3 * 3 * 40 * 36, PGS_NET_INFER, &err), &err);
	CHECK_OK(pgs_net_probabilities(net, p1, &err), &err);
	for (int j = 0; j < 4; j++)
		CHECKF(fabsf(p1[j] - p5[12 + j]) < 1e-6f, "%g vs %g", p1[j], p5[12 + j]);
	CHECK_FAILS(pgs_net_logits(net, NULL, again, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	/* Training keeps activations for backward: its plan is larger. */
	CHECK_OK(pgs_net_forward(net, 5, images, PGS_NET_TRAIN, &err), &err);
	train_bytes = pgs_net_planned_bytes(net);
	CHECKF(train_bytes > infer_bytes, "train %zu, infer %zu", train_bytes, infer_bytes);
	CHECK_OK(pgs_net_logits(net, NULL, again, &err), &err);
	/* Back to inference: same answers as before (running statistics moved, so compare the repeat). */
	CHECK_OK(pgs_net_forward(net, 5, images, PGS_NET_INFER, &err), &err);
	CHECK_OK(pgs_net_probabilities(net, p5, &err), &err);
	CHECK_OK(pgs_net_forward(net, 5, images, PGS_NET_INFER, &err), &err);
	CHECK_OK(pgs_net_probabilities(net, again, &err), &err);
	CHECK(memcmp(p5, again, sizeof(p5)) == 0);
	CHECK_FAILS(pgs_net_backward(net, NULL, NULL, 0.4f, &(pgs_net_loss) {0}, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	free(images);
	pgs_net_free(net);
}

/* Bright discs are class 1, dark ones class 0: a few dozen steps must fit this. */
static void
make_disc_batch(float *images, float *targets, int n, int h, int w, unsigned long long *state)
{
	for (int i = 0; i < n; i++)
	{
		int			label = (int) (unit_random(state) >> 63);
		float		level = label ? 0.8f : -0.8f;

		targets[i] = (float) label;
		for (int c = 0; c < 3; c++)
			for (int y = 0; y < h; y++)
				for (int x = 0; x < w; x++)
				{
					float		r2 = (float) ((y - h / 2) * (y - h / 2) + (x - w / 2) * (x - w / 2));
					float		noise = (float) ((double) (unit_random(state) >> 11) / 9007199254740992.0) - 0.5f;

					images[((i * 3 + c) * h + y) * w + x] = (r2 < h * h / 9 ? level : 0.0f) + 0.5f * noise;
				}
	}
}

static void
train_discs(pgs_optimizer_kind kind, double *first, double *last)
{
	pgs_net    *net = small_net(PGS_HEAD_SIGMOID, 1, true, 0.2f);
	pgs_optimizer *opt = NULL;
	pgs_optimizer_config oc;
	float	   *images = malloc((size_t) 16 * 3 * 40 * 36 * sizeof(float));
	float		targets[16];
	unsigned long long state = 5;

	*first = *last = NAN;
	if (net == NULL)
		return;
	pgs_optimizer_config_defaults(&oc, kind);
	oc.lr = kind == PGS_OPTIMIZER_SGD ? 0.05f : kind == PGS_OPTIMIZER_RMSPROP ? 0.01f : 3e-3f;
	oc.weight_decay = 4e-5f;
	oc.clip_norm = 5.0f;
	CHECK_OK(pgs_optimizer_create(net, &oc, &opt, &err), &err);
	for (int step = 0; step < 30 && opt; step++)
	{
		pgs_net_loss loss;

		make_disc_batch(images, targets, 16, 40, 36, &state);
		CHECK_OK(pgs_net_zero_grads(net, &err), &err);
		CHECK_OK(pgs_net_forward(net, 16, images, PGS_NET_TRAIN, &err), &err);
		CHECK_OK(pgs_net_backward(net, targets, NULL, 0.4f, &loss, &err), &err);
		CHECK_OK(pgs_optimizer_step(opt, NULL, &err), &err);
		if (step < 3)
			*first = step == 0 ? loss.main / 3 : *first + loss.main / 3;
		if (step >= 27)
			*last = step == 27 ? loss.main / 3 : *last + loss.main / 3;
	}
	pgs_optimizer_free(opt);
	pgs_net_free(net);
	free(images);
}

static void
test_training_reduces_the_loss(void)
{
	pgs_optimizer_kind kinds[] = {PGS_OPTIMIZER_SGD, PGS_OPTIMIZER_RMSPROP, PGS_OPTIMIZER_ADAM};

	for (int k = 0; k < 3; k++)
	{
		double		first,
					last,
					first2,
					last2;

		train_discs(kinds[k], &first, &last);
		printf("# %-8s loss over the first 3 steps %.4f, last 3 %.4f\n", pgs_optimizer_kind_name(kinds[k]), first,
			   last);
		CHECKF(last < 0.5 * first, "%s: %g → %g", pgs_optimizer_kind_name(kinds[k]), first, last);
		/* Same seeds, same data: the same losses to the last bit (dropout masks included). */
		train_discs(kinds[k], &first2, &last2);
		CHECK(first == first2 && last == last2);
	}
}

/*
 * Every layer of forward and of backward is a cancel point. A stopped pass leaves no half result behind:
 * backward refuses to run after a stopped forward or backward, and the next full pass gives the same
 * logits and gradients as one that was never interrupted.
 */
static void
test_cancel_points(void)
{
	pgs_net    *net = small_net(PGS_HEAD_SIGMOID, 2, false, 0.0f);
	float	   *images = nn_random((size_t) 3 * 3 * 40 * 36, -1, 1, 5);
	float		targets[6] = {1, 0, 0, 1, 1, 1};
	float		reference[6],
				logits[6];
	float	   *grads_once,
			   *grads;
	size_t		n;
	pgs_net_loss loss;
	pgs_status	st = PGS_ERR_CANCELLED;
	int			point;
	double		worst = 0;

	if (net == NULL)
		return;
	n = pgs_net_param_count(net);
	grads_once = malloc(n * sizeof(float));
	grads = malloc(n * sizeof(float));
	CHECK_OK(pgs_net_forward(net, 3, images, PGS_NET_INFER, &err), &err);
	CHECK_OK(pgs_net_logits(net, reference, NULL, &err), &err);
	for (point = 1; st == PGS_ERR_CANCELLED && point < 1000; point++)
	{
		cancel_arm(point);
		st = pgs_net_forward(net, 3, images, PGS_NET_INFER, &err);
		cancel_arm(0);
		CHECKF(st == PGS_OK || st == PGS_ERR_CANCELLED, "forward, point %d: %s", point, err.message);
	}
	CHECKF(point - 2 >= 6, "forward: %d cancel points", point - 2);
	CHECK_OK(pgs_net_logits(net, logits, NULL, &err), &err);
	CHECK(memcmp(logits, reference, sizeof(logits)) == 0);

	CHECK_OK(pgs_net_zero_grads(net, &err), &err);
	CHECK_OK(pgs_net_forward(net, 3, images, PGS_NET_TRAIN, &err), &err);
	CHECK_OK(pgs_net_backward(net, targets, NULL, 0.0f, &loss, &err), &err);
	CHECK_OK(ops->download(ops->ctx, grads_once, pgs_net_grads(net), n * sizeof(float), &err), &err);
	cancel_arm(3);
	CHECK_FAILS(pgs_net_forward(net, 3, images, PGS_NET_TRAIN, &err), PGS_ERR_CANCELLED, &err);
	cancel_arm(0);
	CHECK_FAILS(pgs_net_backward(net, targets, NULL, 0.0f, &loss, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	st = PGS_ERR_CANCELLED;
	for (point = 1; st == PGS_ERR_CANCELLED && point < 1000; point++)
	{
		CHECK_OK(pgs_net_zero_grads(net, &err), &err);
		CHECK_OK(pgs_net_forward(net, 3, images, PGS_NET_TRAIN, &err), &err);
		cancel_arm(point);
		st = pgs_net_backward(net, targets, NULL, 0.0f, &loss, &err);
		cancel_arm(0);
		CHECKF(st == PGS_OK || st == PGS_ERR_CANCELLED, "backward, point %d: %s", point, err.message);
		if (st == PGS_ERR_CANCELLED)
			CHECK_FAILS(pgs_net_backward(net, targets, NULL, 0.0f, &loss, &err), PGS_ERR_INVALID_ARGUMENT, &err);
	}
	CHECKF(point - 2 >= 6, "backward: %d cancel points", point - 2);
	CHECK_OK(ops->download(ops->ctx, grads, pgs_net_grads(net), n * sizeof(float), &err), &err);
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, fabs(grads[i] - grads_once[i]) / (1e-4 + fabs(grads_once[i])));
	CHECKF(worst < 1e-5, "worst %g", worst);
	free(grads_once);
	free(grads);
	free(images);
	pgs_net_free(net);
}

int
main(void)
{
	ops = pgs_cpu_ops();
	RUN(test_inception_v3_matches_torchvision_sizes);
	RUN(test_initialisation_is_torchvision_like_and_seeded);
	RUN(test_gradients_accumulate);
	RUN(test_inference_and_planning);
	RUN(test_training_reduces_the_loss);
	RUN(test_cancel_points);
	return unit_done();
}
