/* Unit tests of the trainer: the small CNN learns a synthetic task, runs are reproducible, checkpoints restore. */
#include "unit.h"

#include <math.h>
#include <stdint.h>
#include <fcntl.h>
#include <unistd.h>

#include "../../kernels/common/prng.h"
#include "../../kernels/device/ops.h"
#include "../../kernels/train/trainer.h"
#include "spot_task.h"

#define SIDE SPOT_SIDE

static double
train_epochs(pgs_trainer *t, int from, int to, double *last_loss)
{
	pgs_train_step step = {0};
	pgs_error	err;
	double		sum = 0;
	int			n = 0;

	for (int e = from; e <= to; e++)
	{
		CHECK_OK(pgs_trainer_begin_epoch(t, e, &err), &err);
		do
		{
			CHECK_OK(pgs_trainer_train_step(t, &step, &err), &err);
			sum += step.loss;
			n++;
		} while (!step.epoch_done);
	}
	*last_loss = step.loss;
	return sum / n;
}

static void
test_learns_synthetic_task(void)
{
	pgs_data_cache train,
				val;
	pgs_recipe	r;
	pgs_trainer *t;
	pgs_validation v0,
				v;
	pgs_error	err;
	double		last;

	spot_cache(&train, 1, 240);
	spot_cache(&val, 2, 90);
	spot_recipe(&r, false, 42);
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &t, &err), &err);
	CHECK(pgs_trainer_steps_per_epoch(t) == 15);
	CHECK_OK(pgs_trainer_validate(t, &v0, &err), &err);
	train_epochs(t, 1, 6, &last);
	CHECK_OK(pgs_trainer_validate(t, &v, &err), &err);
	printf("# untrained AUC %.3f, after 6 epochs %.3f [%.3f, %.3f], validation loss %.3f\n", v0.auc, v.auc,
		   v.auc_lower, v.auc_upper, v.loss);
	CHECKF(v.auc > 0.9, "AUC %.3f", v.auc);
	CHECK(v.auc_lower <= v.auc && v.auc <= v.auc_upper);
	CHECK(v.images == 90);
	pgs_trainer_free(t);
	pgs_data_cache_free(&train);
	pgs_data_cache_free(&val);
}

static void
test_reproducible(void)
{
	pgs_data_cache train,
				val;
	pgs_recipe	r;
	pgs_trainer *a,
			   *b;
	pgs_error	err;
	double		la,
				lb;

	spot_cache(&train, 3, 64);
	spot_cache(&val, 4, 20);
	spot_recipe(&r, true, 42);
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &a, &err), &err);
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &b, &err), &err);
	CHECK(train_epochs(a, 1, 2, &la) == train_epochs(b, 1, 2, &lb));
	CHECK(la == lb);
	pgs_trainer_free(a);
	pgs_trainer_free(b);
	pgs_data_cache_free(&train);
	pgs_data_cache_free(&val);
}

static void
test_checkpoint_round_trip(void)
{
	pgs_data_cache train,
				val,
				other;
	pgs_recipe	r;
	pgs_trainer *a,
			   *b;
	pgs_trainer_progress saved = {0},
				loaded = {0};
	pgs_validation va,
				vb;
	pgs_error	err;
	double		last;
	char		path[] = "/tmp/pgs-ckpt-XXXXXX";
	int			fd = mkstemp(path);

	close(fd);
	spot_cache(&train, 5, 48);
	spot_cache(&val, 6, 30);
	spot_recipe(&r, false, 42);
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &a, &err), &err);
	train_epochs(a, 1, 2, &last);
	CHECK_OK(pgs_trainer_validate(a, &va, &err), &err);
	saved.epochs_done = 2;
	pgs_early_stopping_init(&saved.early_stopping, 0.01, 10);
	pgs_early_stopping_update(&saved.early_stopping, 2, va.auc, va.loss);
	CHECK_OK(pgs_trainer_write_checkpoint(a, &saved, path, &err), &err);

	/* A fresh trainer (fresh weights) restored from the file scores exactly as the one that wrote it. */
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &b, &err), &err);
	CHECK_OK(pgs_trainer_read_checkpoint(b, path, &loaded, &err), &err);
	CHECK_OK(pgs_trainer_validate(b, &vb, &err), &err);
	CHECK(va.auc == vb.auc && va.loss == vb.loss);
	CHECK(loaded.epochs_done == 2 && loaded.early_stopping.best_epoch == 2);
	CHECK(loaded.early_stopping.best_auc == va.auc);

	/* And it trains on exactly as the uninterrupted run does: same shuffle, optimiser state, dropout masks. */
	{
		double		mean_a,
					mean_b,
					last_a,
					last_b;

		mean_a = train_epochs(a, 3, 3, &last_a);
		mean_b = train_epochs(b, 3, 3, &last_b);
		CHECKF(mean_a == mean_b && last_a == last_b, "epoch 3 loss %.9g uninterrupted, %.9g resumed", mean_a, mean_b);
	}
	pgs_trainer_free(b);

	/* Different data (another row count) is refused rather than resumed. */
	spot_cache(&other, 5, 47);
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &other, &val, &b, &err), &err);
	CHECK_FAILS(pgs_trainer_read_checkpoint(b, path, &loaded, &err), PGS_ERR_BAD_DATA, &err);
	CHECK(strstr(err.message, "48 rows before the interruption and 47 now") != NULL);
	pgs_trainer_free(b);

	/* A damaged file is refused. */
	fd = open(path, O_WRONLY);
	CHECK(pwrite(fd, "X", 1, 200) == 1);
	close(fd);
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &b, &err), &err);
	CHECK_FAILS(pgs_trainer_read_checkpoint(b, path, &loaded, &err), PGS_ERR_BAD_DATA, &err);
	pgs_trainer_free(b);
	pgs_trainer_free(a);
	unlink(path);
	pgs_data_cache_free(&train);
	pgs_data_cache_free(&val);
	pgs_data_cache_free(&other);
}

/* Another run's weights (a pretrained model) replace a trainer's own: it then scores exactly as that run. */
static void
test_start_from_stored_model(void)
{
	pgs_data_cache train,
				val;
	pgs_recipe	r;
	pgs_trainer *a,
			   *b;
	pgs_validation va,
				vb;
	uint8_t    *model;
	size_t		len;
	pgs_error	err;
	double		last;

	spot_cache(&train, 9, 48);
	spot_cache(&val, 10, 30);
	spot_recipe(&r, false, 42);
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &a, &err), &err);
	train_epochs(a, 1, 1, &last);
	CHECK_OK(pgs_trainer_validate(a, &va, &err), &err);
	CHECK_OK(pgs_trainer_export_model(a, &pgs_malloc_allocator, &model, &len, &err), &err);
	r.seed = 43;
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &b, &err), &err);
	CHECK_OK(pgs_trainer_validate(b, &vb, &err), &err);
	CHECK(vb.loss != va.loss);
	CHECK_OK(pgs_trainer_load_model(b, model, len, true, &err), &err);
	CHECK_OK(pgs_trainer_validate(b, &vb, &err), &err);
	CHECK(vb.loss == va.loss && vb.auc == va.auc);
	free(model);
	pgs_trainer_free(a);
	pgs_trainer_free(b);
	pgs_data_cache_free(&train);
	pgs_data_cache_free(&val);
}

static void
test_divergence_is_reported(void)
{
	pgs_data_cache train,
				val;
	pgs_recipe	r;
	pgs_trainer *t;
	pgs_train_step step;
	pgs_error	err;
	bool		diverged = false;

	spot_cache(&train, 7, 64);
	spot_cache(&val, 8, 20);
	spot_recipe(&r, false, 42);
	/*
	 * Weight decay with lr·wd ≫ 2 multiplies every weight by about −(lr·wd) per step whatever the data, so
	 * the weights overflow within a few steps and batch norm turns the infinities into NaN.
	 */
	pgs_recipe_optimizer_defaults(&r, PGS_RECIPE_SGD);
	r.learning_rate = 1e5;
	r.weight_decay = 0.5;
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &t, &err), &err);
	for (int e = 1; e <= 3 && !diverged; e++)
	{
		CHECK_OK(pgs_trainer_begin_epoch(t, e, &err), &err);
		do
		{
			CHECK_OK(pgs_trainer_train_step(t, &step, &err), &err);
			diverged = !isfinite(step.loss);
		} while (!step.epoch_done && !diverged);
	}
	CHECK(diverged);
	pgs_trainer_free(t);
	pgs_data_cache_free(&train);
	pgs_data_cache_free(&val);
}

/* Oversampling: a rare class fills half of every epoch, each of its images about equally often. */
static void
test_balanced_epochs(void)
{
	pgs_data_cache train,
				val;
	uint8_t		image[SIDE * SIDE * 3];
	pgs_recipe	r;
	pgs_trainer *t;
	pgs_error	err;
	int			seen[200] = {0};
	int			common_seen[200] = {0};

	CHECK_OK(pgs_data_cache_init(&train, SIDE, SIDE, 3, 1 << 26, 1 << 26, "/tmp/unused", &err), &err);
	for (int i = 0; i < 200; i++)
	{
		spot_image(5, i, i % 10 == 0, image);
		CHECK_OK(pgs_data_cache_append(&train, image, i % 10 == 0, &err), &err);
	}
	spot_cache(&val, 6, 20);
	spot_recipe(&r, false, 42);
	r.balance = PGS_RECIPE_BALANCE_OVERSAMPLE;
	CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &t, &err), &err);
	for (int e = 1; e <= 2; e++)
	{
		const int64_t *order;
		int			positives = 0;

		CHECK_OK(pgs_trainer_begin_epoch(t, e, &err), &err);
		order = pgs_trainer_epoch_order(t);
		for (int i = 0; i < 200; i++)
		{
			positives += order[i] % 10 == 0;
			if (order[i] % 10 == 0)
				seen[order[i]]++;
			else
				common_seen[order[i]]++;
		}
		CHECKF(positives == 100, "epoch %d has %d positives of 200", e, positives);
	}
	/* 20 positives fill 100 places per epoch: each one 5 times; negatives at most once per epoch. */
	for (int i = 0; i < 200; i++)
	{
		if (i % 10 == 0)
			CHECKF(seen[i] == 10, "positive %d drawn %d times in two epochs", i, seen[i]);
		else
			CHECKF(common_seen[i] <= 2, "negative %d drawn %d times in two epochs", i, common_seen[i]);
	}
	/* The same seed and epoch give the same epoch, as a resumed run needs. */
	{
		int64_t		first[200];
		pgs_trainer *again;

		memcpy(first, pgs_trainer_epoch_order(t), sizeof(first));
		CHECK_OK(pgs_trainer_create(&r, pgs_cpu_ops(), &train, &val, &again, &err), &err);
		CHECK_OK(pgs_trainer_begin_epoch(again, 2, &err), &err);
		CHECK(memcmp(first, pgs_trainer_epoch_order(again), sizeof(first)) == 0);
		pgs_trainer_free(again);
	}
	pgs_trainer_free(t);
	pgs_data_cache_free(&train);
	pgs_data_cache_free(&val);
}

int
main(void)
{
	RUN(test_learns_synthetic_task);
	RUN(test_reproducible);
	RUN(test_checkpoint_round_trip);
	RUN(test_start_from_stored_model);
	RUN(test_divergence_is_reported);
	RUN(test_balanced_epochs);
	return unit_done();
}
