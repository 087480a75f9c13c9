/* The training options for several devices: "devices", "cpu_replicas", "sync_batchnorm". */
#include "../pgscreen.h"
#include "../options.h"
#include "jobs.h"

#include "utils/builtins.h"

static void
set_gpus(OptionsReader *reader, ReplicaSettings *s, JsonbValue *v)
{
	int			n;

	if (v->type == jbvString)
	{
		if (v->val.string.len != 8 || strncmp(v->val.string.val, "cuda:all", 8) != 0)
			options_wrong_type(reader, "devices", "\"cuda:all\" or an array of GPUs such as [\"cuda:0\", \"cuda:1\"]");
		s->on_gpus = true;
		s->replicas = 0;
		return;
	}
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		options_wrong_type(reader, "devices", "\"cuda:all\" or an array of GPUs such as [\"cuda:0\", \"cuda:1\"]");
	n = JsonContainerSize(v->val.binary.data);
	if (n < 1 || n > PGSCREEN_MAX_REPLICAS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training option \"devices\" must name 1 to %d GPUs, not %d", PGSCREEN_MAX_REPLICAS, n)));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(v->val.binary.data, i);
		char	   *name;
		int			ordinal;
		char	   *detail = NULL;

		if (e->type != jbvString)
			options_wrong_type(reader, "devices", "an array of GPU names such as [\"cuda:0\", \"cuda:1\"]");
		name = pnstrdup(e->val.string.val, e->val.string.len);
		if (strncmp(name, "cuda:", 5) != 0 || !pgscreen_device_check_setting(name, &ordinal, &detail) || ordinal < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("training option \"devices\" has unknown value \"%s\"", name),
					 errhint("Name GPUs as \"cuda:N\", or use \"cuda:all\"; CPU replicas are set with \"cpu_replicas\".")));
		for (int j = 0; j < i; j++)
			if (s->gpus[j] == ordinal)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("training option \"devices\" names \"%s\" twice", name)));
		s->gpus[i] = ordinal;
	}
	s->on_gpus = true;
	s->replicas = n;
}

void
pgscreen_replicas_from_options(OptionsReader *reader, ResolvedRecipe *resolved, bool device_given)
{
	ReplicaSettings *s = &resolved->replicas;
	pgs_recipe *r = &resolved->recipe;
	JsonbValue *devices = options_get_value(reader, "devices");
	int			cpu_replicas = 0;
	bool		cpu_given = options_get_int(reader, "cpu_replicas", PG_INT32_MIN, PG_INT32_MAX, &cpu_replicas);

	memset(s, 0, sizeof(*s));
	s->replicas = 1;
	(void) options_get_bool(reader, "sync_batchnorm", &s->sync_batchnorm);
	if (devices != NULL && cpu_given)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training options \"devices\" and \"cpu_replicas\" cannot be combined")));
	if (devices != NULL)
	{
		char		first[PGS_RECIPE_NAME_MAX];

		set_gpus(reader, s, devices);
		/* Replica 0 runs in the job's own worker, on the first GPU (which a recorded recipe names). */
		snprintf(first, sizeof(first), "cuda:%d", s->replicas > 0 ? s->gpus[0] : 0);
		if (device_given && strcmp(r->device, first) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("training options \"device\" and \"devices\" cannot be combined"),
					 errhint("Name every GPU in \"devices\".")));
		strlcpy(r->device, first, sizeof(r->device));
	}
	else if (cpu_given)
	{
		if (cpu_replicas < 1 || cpu_replicas > PGSCREEN_MAX_REPLICAS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("training option \"cpu_replicas\" must be between 1 and %d, not %d",
							PGSCREEN_MAX_REPLICAS, cpu_replicas)));
		if (device_given && strcmp(r->device, "cpu") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("training option \"cpu_replicas\" needs \"device\" \"cpu\", not \"%s\"", r->device)));
		strlcpy(r->device, "cpu", sizeof(r->device));
		s->replicas = cpu_replicas;
	}
	if (s->replicas > pgscreen_job_max_replicas)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a training job may train on at most %d devices, not %d", pgscreen_job_max_replicas,
						s->replicas),
				 errhint("The limit is the setting pgscreen.job_max_replicas.")));
	if (s->replicas > 1 && r->batch_size % s->replicas != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training option \"batch_size\" (%d) must be a multiple of the %d replicas", r->batch_size,
						s->replicas),
				 errdetail("Each replica trains on an equal share of every batch.")));
}

void
pgscreen_replicas_to_json(StringInfo buf, const ReplicaSettings *s)
{
	if (s->on_gpus && s->replicas == 0)
		appendStringInfoString(buf, ", \"devices\": \"cuda:all\"");
	else if (s->on_gpus)
	{
		appendStringInfoString(buf, ", \"devices\": [");
		for (int i = 0; i < s->replicas; i++)
			appendStringInfo(buf, "%s\"cuda:%d\"", i ? ", " : "", s->gpus[i]);
		appendStringInfoChar(buf, ']');
	}
	else if (s->replicas > 1)
		appendStringInfo(buf, ", \"cpu_replicas\": %d", s->replicas);
	else
		return;
	appendStringInfo(buf, ", \"sync_batchnorm\": %s", s->sync_batchnorm ? "true" : "false");
}
