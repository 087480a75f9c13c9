/* Command-line face of the trainer for the parity oracle: a whole training run on given tensors, logged. */
#include "tool_io.h"
#include "../../kernels/cpu/cpu_parallel.h"
#include "../../kernels/device/ops.h"
#include "../../kernels/image/npy.h"
#include "../../kernels/train/stored_model.h"
#include "../../kernels/train/trainer.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *usage =
	"usage: pgs_train_run --train X.npy --train-labels Y.npy --val X.npy --val-labels Y.npy --out DIR\n"
	"                     [--weights W.npz [--pretrained]] [--snapshot-step K] [--threads N] KEY=VALUE...\n"
	"Images are uint8 N×H×W×C, labels uint8 or float32 0/1. Every recipe setting must be given as KEY=VALUE:\n"
	"  architecture input_size optimizer learning_rate momentum nesterov rho rmsprop_style epsilon beta1 beta2\n"
	"  weight_decay schedule step_epochs gamma warmup_epochs clip_norm dropout batch_size max_epochs\n"
	"  min_auc_gain patience normalization seed (augmentation is always off).\n"
	"Writes DIR/steps.csv (epoch, step, learning rate, loss), DIR/epochs.csv (epoch, mean loss, validation loss,\n"
	"AUC, improved), DIR/orders.csv (each epoch's image order), DIR/summary.csv (best epoch, epochs trained,\n"
	"stopped early), DIR/final.npz, DIR/best.npz and, with --snapshot-step K, DIR/snapshot.npz after step K.\n";

static void
die(const char *what, const pgs_error *err)
{
	fprintf(stderr, "pgs_train_run: %s%s%s\n", what, err ? ": " : "", err ? err->message : "");
	exit(1);
}

static FILE *
open_log(const char *dir, const char *name)
{
	char		path[1024];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
	{
		fprintf(stderr, "pgs_train_run: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return f;
}

/* The recipe's settings by name; every one must be given, so no run depends on the recipe's defaults. */
typedef enum setting_kind
{
	S_INT,
	S_DOUBLE,
	S_BOOL,
	S_U64,
	S_CHOICE
} setting_kind;

typedef struct setting
{
	const char *key;
	setting_kind kind;
	size_t		offset;
	int			(*parse) (const char *);
	bool		given;
} setting;

#define FIELD(key, kind, field, parse) {key, kind, offsetof(pgs_recipe, field), parse, false}

static setting settings[] = {
	FIELD("architecture", S_CHOICE, architecture, pgs_recipe_arch_parse),
	FIELD("input_size", S_INT, input_size, NULL),
	FIELD("optimizer", S_CHOICE, optimizer, pgs_recipe_optimizer_parse),
	FIELD("learning_rate", S_DOUBLE, learning_rate, NULL),
	FIELD("momentum", S_DOUBLE, momentum, NULL),
	FIELD("nesterov", S_BOOL, nesterov, NULL),
	FIELD("rho", S_DOUBLE, rho, NULL),
	FIELD("rmsprop_style", S_CHOICE, rmsprop_style, pgs_recipe_rmsprop_style_parse),
	FIELD("epsilon", S_DOUBLE, epsilon, NULL),
	FIELD("beta1", S_DOUBLE, beta1, NULL),
	FIELD("beta2", S_DOUBLE, beta2, NULL),
	FIELD("weight_decay", S_DOUBLE, weight_decay, NULL),
	FIELD("schedule", S_CHOICE, schedule, pgs_recipe_schedule_parse),
	FIELD("step_epochs", S_INT, step_epochs, NULL),
	FIELD("gamma", S_DOUBLE, gamma, NULL),
	FIELD("warmup_epochs", S_INT, warmup_epochs, NULL),
	FIELD("clip_norm", S_DOUBLE, clip_norm, NULL),
	FIELD("dropout", S_DOUBLE, dropout, NULL),
	FIELD("batch_size", S_INT, batch_size, NULL),
	FIELD("max_epochs", S_INT, max_epochs, NULL),
	FIELD("min_auc_gain", S_DOUBLE, min_auc_gain, NULL),
	FIELD("patience", S_INT, patience, NULL),
	FIELD("normalization", S_CHOICE, normalization, pgs_recipe_normalization_parse),
	FIELD("seed", S_U64, seed, NULL),
};
#define N_SETTINGS ((int) (sizeof(settings) / sizeof(settings[0])))

static void
set(pgs_recipe *r, const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	const char *value = eq ? eq + 1 : NULL;

	for (int i = 0; eq != NULL && i < N_SETTINGS; i++)
	{
		setting    *s = &settings[i];
		void	   *field = (char *) r + s->offset;
		int			choice;

		if (strlen(s->key) != (size_t) (eq - assignment) || strncmp(s->key, assignment, eq - assignment) != 0)
			continue;
		switch (s->kind)
		{
			case S_INT:
				*(int *) field = atoi(value);
				break;
			case S_DOUBLE:
				*(double *) field = strtod(value, NULL);
				break;
			case S_BOOL:
				*(bool *) field = strcmp(value, "true") == 0;
				break;
			case S_U64:
				*(uint64_t *) field = strtoull(value, NULL, 10);
				break;
			case S_CHOICE:
				if ((choice = s->parse(value)) < 0)
				{
					fprintf(stderr, "pgs_train_run: unknown %s \"%s\"\n", s->key, value);
					exit(2);
				}
				*(int *) field = choice;
				break;
		}
		s->given = true;
		return;
	}
	fprintf(stderr, "pgs_train_run: unknown argument %s\n%s", assignment, usage);
	exit(2);
}

/* An N×H×W×C uint8 tensor and its N labels into a data cache held in memory. */
static void
load_cache(const char *images_path, const char *labels_path, pgs_data_cache *cache)
{
	size_t		len;
	uint8_t    *bytes = tool_read_file(images_path, &len);
	pgs_tensor	images,
				labels;
	pgs_error	err;
	size_t		record;

	if (pgs_npy_read(bytes, len, &pgs_malloc_allocator, &images, &err) != PGS_OK)
		die(images_path, &err);
	free(bytes);
	bytes = tool_read_file(labels_path, &len);
	if (pgs_npy_read(bytes, len, &pgs_malloc_allocator, &labels, &err) != PGS_OK)
		die(labels_path, &err);
	free(bytes);
	if (images.dtype != PGS_DTYPE_U8 || images.ndim != 4 || labels.ndim != 1 || labels.shape[0] != images.shape[0] ||
		(labels.dtype != PGS_DTYPE_U8 && labels.dtype != PGS_DTYPE_F32))
		die("images must be uint8 N×H×W×C and labels N uint8 or float32 values", NULL);
	if (pgs_data_cache_init(cache, (int) images.shape[1], (int) images.shape[2], (int) images.shape[3],
							(size_t) 1 << 34, (size_t) 1 << 34, "/nonexistent", &err) != PGS_OK)
		die("data cache", &err);
	record = cache->record_bytes;
	for (int64_t i = 0; i < images.shape[0]; i++)
	{
		int			label = labels.dtype == PGS_DTYPE_U8 ? ((uint8_t *) labels.data)[i] != 0 :
			((float *) labels.data)[i] > 0.5f;

		if (pgs_data_cache_append(cache, (uint8_t *) images.data + (size_t) i * record, label, &err) != PGS_OK)
			die(images_path, &err);
	}
	free(images.data);
	free(labels.data);
}

/* The trainer's current weights, batch-norm statistics included, as .npz with torchvision's names. */
static void
write_weights(pgs_trainer *t, const char *dir, const char *name)
{
	uint8_t    *model,
			   *npz;
	size_t		model_len,
				npz_len;
	char		path[1024];
	pgs_error	err;

	if (pgs_trainer_export_model(t, &pgs_malloc_allocator, &model, &model_len, &err) != PGS_OK ||
		pgs_stored_model_to_npz(model, model_len, &pgs_malloc_allocator, &npz, &npz_len, &err) != PGS_OK)
		die("export", &err);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tool_write_file(path, npz, npz_len);
	free(model);
	free(npz);
}

/* Start from .npz weights through the path screen.model_from_npz and a pretrained job take. */
static void
load_weights(pgs_trainer *t, const pgs_recipe *r, const char *path, bool pretrained)
{
	size_t		len,
				model_len;
	uint8_t    *npz = tool_read_file(path, &len);
	uint8_t    *model;
	pgs_scoring_recipe scoring;
	pgs_error	err;

	pgs_scoring_recipe_of(r, &scoring);
	if (pgs_stored_model_from_npz(r->architecture, r->input_size, &scoring, npz, len, r->seed,
								  &pgs_malloc_allocator, &model, &model_len, &err) != PGS_OK ||
		pgs_trainer_load_model(t, model, model_len, pretrained, &err) != PGS_OK)
		die(path, &err);
	free(npz);
	free(model);
}

static void
write_order(FILE *f, const pgs_recipe *r, int epoch, int64_t n)
{
	int64_t    *order = malloc(sizeof(int64_t) * (size_t) n);

	pgs_trainer_shuffle_order(r->seed, epoch, n, order);
	fprintf(f, "%d", epoch);
	for (int64_t i = 0; i < n; i++)
		fprintf(f, ",%lld", (long long) order[i]);
	fputc('\n', f);
	free(order);
}

/* The epoch loop of a training job (extension/train/job_training.c) without the database around it. */
static void
run(const pgs_recipe *r, pgs_trainer *t, int64_t n_train, const char *out, int snapshot_step)
{
	FILE	   *steps = open_log(out, "steps.csv"),
			   *epochs = open_log(out, "epochs.csv"),
			   *orders = open_log(out, "orders.csv"),
			   *summary = open_log(out, "summary.csv");
	pgs_early_stopping es;
	pgs_error	err;
	int			global_step = 0,
				epoch;
	bool		stopped_early = false;

	pgs_early_stopping_init(&es, r->min_auc_gain, r->patience);
	for (epoch = 1; epoch <= r->max_epochs; epoch++)
	{
		pgs_train_step step;
		pgs_validation v;
		double		loss_sum = 0;
		int			n_steps = 0;
		bool		improved;

		write_order(orders, r, epoch, n_train);
		if (pgs_trainer_begin_epoch(t, epoch, &err) != PGS_OK)
			die("begin epoch", &err);
		do
		{
			if (pgs_trainer_train_step(t, &step, &err) != PGS_OK)
				die("train step", &err);
			if (!isfinite(step.loss))
				die("the loss diverged", NULL);
			loss_sum += step.loss;
			n_steps++;
			global_step++;
			fprintf(steps, "%d,%d,%.9g,%.9g\n", epoch, global_step, step.learning_rate, step.loss);
			if (global_step == snapshot_step)
				write_weights(t, out, "snapshot.npz");
		} while (!step.epoch_done);
		if (pgs_trainer_validate(t, &v, &err) != PGS_OK)
			die("validate", &err);
		improved = pgs_early_stopping_update(&es, epoch, v.auc, v.loss);
		fprintf(epochs, "%d,%.9g,%.9g,%.9g,%d\n", epoch, loss_sum / n_steps, v.loss, v.auc, improved);
		if (improved)
			write_weights(t, out, "best.npz");
		if (pgs_early_stopping_should_stop(&es))
		{
			stopped_early = true;
			break;
		}
	}
	write_weights(t, out, "final.npz");
	fprintf(summary, "%d,%d,%d\n", es.best_epoch, epoch > r->max_epochs ? r->max_epochs : epoch, stopped_early);
	fclose(steps);
	fclose(epochs);
	fclose(orders);
	fclose(summary);
}

int
main(int argc, char **argv)
{
	const char *train = NULL,
			   *train_labels = NULL,
			   *val = NULL,
			   *val_labels = NULL,
			   *out = NULL,
			   *weights = NULL;
	bool		pretrained = false;
	int			snapshot_step = 0,
				threads = 0;
	pgs_recipe	r;
	pgs_data_cache training,
				validation;
	pgs_trainer *t;
	pgs_device_options dev = {0, (size_t) 1 << 30, false, true};
	const pgs_ops *ops = pgs_cpu_ops();
	pgs_error	err;

	memset(&r, 0, sizeof(r));
	r.preset = PGS_PRESET_NONE;
	strcpy(r.device, "cpu");
	for (int i = 1; i < argc; i++)
	{
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--pretrained") == 0)
		{
			pretrained = true;
			continue;
		}
		if (strncmp(argv[i], "--", 2) == 0 && v == NULL)
		{
			fputs(usage, stderr);
			return 2;
		}
		if (strcmp(argv[i], "--train") == 0)
			train = argv[++i];
		else if (strcmp(argv[i], "--train-labels") == 0)
			train_labels = argv[++i];
		else if (strcmp(argv[i], "--val") == 0)
			val = argv[++i];
		else if (strcmp(argv[i], "--val-labels") == 0)
			val_labels = argv[++i];
		else if (strcmp(argv[i], "--out") == 0)
			out = argv[++i];
		else if (strcmp(argv[i], "--weights") == 0)
			weights = argv[++i];
		else if (strcmp(argv[i], "--snapshot-step") == 0)
			snapshot_step = atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[++i]);
		else
			set(&r, argv[i]);
	}
	if (!train || !train_labels || !val || !val_labels || !out)
	{
		fputs(usage, stderr);
		return 2;
	}
	for (int i = 0; i < N_SETTINGS; i++)
		if (!settings[i].given)
		{
			fprintf(stderr, "pgs_train_run: the recipe setting %s is missing\n", settings[i].key);
			return 2;
		}
	if (pgs_recipe_validate(&r, &err) != PGS_OK)
		die("invalid recipe", &err);
	mkdir(out, 0755);
	dev.cpu_threads = threads;
	if (ops->configure(ops->ctx, &dev, &err) != PGS_OK)
		die("configure", &err);
	load_cache(train, train_labels, &training);
	load_cache(val, val_labels, &validation);
	if (pgs_trainer_create(&r, ops, &training, &validation, &t, &err) != PGS_OK)
		die("trainer", &err);
	if (weights != NULL)
		load_weights(t, &r, weights, pretrained);
	run(&r, t, training.count, out, snapshot_step);
	pgs_trainer_free(t);
	pgs_data_cache_free(&training);
	pgs_data_cache_free(&validation);
	pgs_cpu_shutdown();
	return 0;
}
