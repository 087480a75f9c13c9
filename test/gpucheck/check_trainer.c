/* The training loop and the predictor on the GPU against the CPU: same seed, same data, same numbers. */
#include <math.h>
#include <unistd.h>

#include "../../kernels/nn/net.h"
#include "../../kernels/train/predictor.h"
#include "../../kernels/train/trainer.h"
#include "../unit/spot_task.h"
#include "gpucheck.h"

#define SIDE SPOT_SIDE
#define EPOCHS 2

static pgs_error err;

typedef struct run
{
	double		first_loss;
	double		epoch_loss[EPOCHS + 1];
	pgs_validation validation;
} run;

static void
train(const pgs_ops *ops, const pgs_recipe *r, const pgs_data_cache *train_set, const pgs_data_cache *val,
	  const char *checkpoint, run *out)
{
	pgs_trainer *t = NULL;
	pgs_train_step step;
	pgs_device_options o = {0, (size_t) 1 << 30, true, false};

	memset(out, 0, sizeof(*out));
	CHECK_OK(ops->configure(ops->ctx, &o, &err), &err);
	CHECK_OK(pgs_trainer_create(r, ops, train_set, val, &t, &err), &err);
	if (t == NULL)
		return;
	for (int e = 1; e <= EPOCHS; e++)
	{
		int			n = 0;

		CHECK_OK(pgs_trainer_begin_epoch(t, e, &err), &err);
		do
		{
			CHECK_OK(pgs_trainer_train_step(t, &step, &err), &err);
			if (e == 1 && n == 0)
				out->first_loss = step.loss;
			out->epoch_loss[e] += step.loss;
			n++;
		} while (!step.epoch_done);
		out->epoch_loss[e] /= n;
	}
	CHECK_OK(pgs_trainer_validate(t, &out->validation, &err), &err);
	if (checkpoint)
	{
		pgs_trainer_progress progress = {0};

		progress.epochs_done = EPOCHS;
		pgs_early_stopping_init(&progress.early_stopping, 0.01, 10);
		CHECK_OK(pgs_trainer_write_checkpoint(t, &progress, checkpoint, &err), &err);
	}
	pgs_trainer_free(t);
}

static const pgs_ops *gpu;
static pgs_data_cache train_set,
			val;
static char checkpoint[] = "/tmp/pgs-gpucheck-ckpt-XXXXXX";
static pgs_validation gpu_plain_validation;

/* Training with and without augmentation (prepare_input on the device with the same drawn parameters). */
static void
test_training_matches_cpu(void)
{
	pgs_recipe	r;
	run			on_cpu,
				on_gpu;

	for (int augment = 0; augment <= 1; augment++)
	{
		spot_recipe(&r, augment, 5);
		train(pgs_cpu_ops(), &r, &train_set, &val, NULL, &on_cpu);
		train(gpu, &r, &train_set, &val, augment ? NULL : checkpoint, &on_gpu);
		if (!augment)
			gpu_plain_validation = on_gpu.validation;
		printf("# augmentation %s: first loss cpu %.7f gpu %.7f; epoch %d loss cpu %.6f gpu %.6f; AUC cpu %.4f gpu %.4f\n",
			   augment ? "on" : "off", on_cpu.first_loss, on_gpu.first_loss, EPOCHS, on_cpu.epoch_loss[EPOCHS],
			   on_gpu.epoch_loss[EPOCHS], on_cpu.validation.auc, on_gpu.validation.auc);
		CHECKF(fabs(on_gpu.first_loss - on_cpu.first_loss) < 1e-4 * fabs(on_cpu.first_loss), "first loss");
		CHECKF(fabs(on_gpu.epoch_loss[EPOCHS] - on_cpu.epoch_loss[EPOCHS]) < 0.05, "epoch loss");
		CHECKF(fabs(on_gpu.validation.auc - on_cpu.validation.auc) < 0.05, "validation AUC");
	}
}

/* The GPU's checkpoint scores on the CPU as it did on the GPU: weights and statistics moved intact. */
static void
test_checkpoint_moves_between_devices(void)
{
	pgs_trainer *t = NULL;
	pgs_trainer_progress progress;
	pgs_validation v;
	pgs_recipe	r;

	spot_recipe(&r, false, 5);
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train_set, &val, &t, &err), &err);
	CHECK_OK(pgs_trainer_read_checkpoint(t, checkpoint, &progress, &err), &err);
	CHECK_OK(pgs_trainer_validate(t, &v, &err), &err);
	printf("# GPU checkpoint validated on the CPU: AUC %.6f (GPU %.6f), loss %.7f (GPU %.7f)\n", v.auc,
		   gpu_plain_validation.auc, v.loss, gpu_plain_validation.loss);
	CHECK(fabs(v.loss - gpu_plain_validation.loss) < 1e-4 * fabs(v.loss) + 1e-6);
	CHECK(progress.epochs_done == EPOCHS);
	pgs_trainer_free(t);
}

int
main(void)
{
	int			fd = mkstemp(checkpoint);

	close(fd);
	gpu = gpucheck_open_gpu();
	spot_cache(&train_set, 1, 96);
	spot_cache(&val, 2, 48);
	RUN(test_training_matches_cpu);
	RUN(test_checkpoint_moves_between_devices);
	unlink(checkpoint);
	pgs_data_cache_free(&train_set);
	pgs_data_cache_free(&val);
	return unit_done();
}
