/* Job directories under $PGDATA/pgscreen/jobs: which jobs need a worker, found again after a restart. */
#include "../pgscreen.h"
#include "jobs.h"

#include <sys/stat.h>
#include <unistd.h>

#include "storage/fd.h"

#define JOBS_ROOT "pgscreen/jobs"
#define IDENTITY_FILE "job"

/* Relative to the data directory, which is every server process's working directory. */
char *
pgscreen_job_dir(Oid database, int64 job_id)
{
	return psprintf(JOBS_ROOT "/%u." INT64_FORMAT, database, job_id);
}

static void
make_directory(const char *path)
{
	if (MakePGDirectory(path) < 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", path)));
}

/*
 * Written before the creating transaction commits: if it aborts, the worker finds no job row and removes
 * the directory, so an orphan costs one short-lived worker.
 */
void
pgscreen_job_dir_create(const JobIdentity *identity)
{
	char	   *dir = pgscreen_job_dir(identity->database, identity->job_id);
	char	   *tmp = psprintf("%s/" IDENTITY_FILE ".tmp", dir);
	char	   *final = psprintf("%s/" IDENTITY_FILE, dir);
	FILE	   *f;

	make_directory("pgscreen");
	make_directory(JOBS_ROOT);
	make_directory(dir);
	f = AllocateFile(tmp, PG_BINARY_W);
	if (f == NULL)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create file \"%s\": %m", tmp)));
	fprintf(f, "owner %u\nxid %u\n", identity->owner, identity->creating_xid);
	if (fflush(f) != 0 || pg_fsync(fileno(f)) != 0)
	{
		FreeFile(f);
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not write file \"%s\": %m", tmp)));
	}
	FreeFile(f);
	(void) durable_rename(tmp, final, ERROR);
	fsync_fname(JOBS_ROOT, true);
}

bool
pgscreen_job_dir_read(Oid database, int64 job_id, JobIdentity *identity)
{
	char	   *path = psprintf("%s/" IDENTITY_FILE, pgscreen_job_dir(database, job_id));
	FILE	   *f = AllocateFile(path, PG_BINARY_R);
	unsigned int owner,
				xid;
	bool		ok;

	if (f == NULL)
		return false;
	ok = fscanf(f, "owner %u\nxid %u\n", &owner, &xid) == 2;
	FreeFile(f);
	if (!ok)
		return false;
	identity->database = database;
	identity->job_id = job_id;
	identity->owner = owner;
	identity->creating_xid = xid;
	return true;
}

void
pgscreen_job_dir_remove(Oid database, int64 job_id)
{
	char	   *dir = pgscreen_job_dir(database, job_id);
	struct stat st;

	if (stat(dir, &st) != 0)
		return;
	if (!rmtree(dir, true))
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not remove job directory \"%s\"", dir)));
}

int
pgscreen_job_dirs_list(void (*fn) (const JobIdentity *identity, void *arg), void *arg)
{
	DIR		   *dir;
	struct dirent *de;
	int			found = 0;
	struct stat st;

	if (stat(JOBS_ROOT, &st) != 0)
		return 0;
	dir = AllocateDir(JOBS_ROOT);
	while ((de = ReadDirExtended(dir, JOBS_ROOT, LOG)) != NULL)
	{
		unsigned int database;
		long long	job_id;
		char		tail;
		JobIdentity identity;

		if (sscanf(de->d_name, "%u.%lld%c", &database, &job_id, &tail) != 2)
			continue;
		if (!pgscreen_job_dir_read(database, job_id, &identity))
			continue;			/* still being created, or damaged: the worker would not know whom to run as */
		found++;
		fn(&identity, arg);
	}
	FreeDir(dir);
	return found;
}
