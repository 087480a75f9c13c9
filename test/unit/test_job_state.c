/* Unit tests of the training job state machine's transition table. */
#include "unit.h"

#include "../../kernels/train/job_state.h"

static void
test_happy_path(void)
{
	CHECK(pgs_job_next_state(PGS_JOB_QUEUED, PGS_JOB_START) == PGS_JOB_RUNNING);
	CHECK(pgs_job_next_state(PGS_JOB_RUNNING, PGS_JOB_SUCCEED) == PGS_JOB_SUCCEEDED);
	CHECK(pgs_job_next_state(PGS_JOB_RUNNING, PGS_JOB_FAIL) == PGS_JOB_FAILED);
	CHECK(pgs_job_next_state(PGS_JOB_RUNNING, PGS_JOB_CANCEL) == PGS_JOB_CANCELLED);
	CHECK(pgs_job_next_state(PGS_JOB_RUNNING, PGS_JOB_RESUME) == PGS_JOB_RUNNING);
	CHECK(pgs_job_next_state(PGS_JOB_QUEUED, PGS_JOB_CANCEL) == PGS_JOB_CANCELLED);
	CHECK(pgs_job_next_state(PGS_JOB_QUEUED, PGS_JOB_FAIL) == PGS_JOB_FAILED);
}

static void
test_forbidden(void)
{
	/* A queued job cannot succeed or be resumed; a running one cannot start again. */
	CHECK(pgs_job_next_state(PGS_JOB_QUEUED, PGS_JOB_SUCCEED) < 0);
	CHECK(pgs_job_next_state(PGS_JOB_QUEUED, PGS_JOB_RESUME) < 0);
	CHECK(pgs_job_next_state(PGS_JOB_RUNNING, PGS_JOB_START) < 0);
	/* Terminal states never change, whatever the event. */
	for (int s = PGS_JOB_SUCCEEDED; s <= PGS_JOB_CANCELLED; s++)
	{
		CHECK(pgs_job_state_is_terminal(s));
		for (int e = 0; e < PGS_JOB_N_EVENTS; e++)
			CHECKF(pgs_job_next_state(s, e) < 0, "%s + %s", pgs_job_state_name(s), pgs_job_event_name(e));
	}
	CHECK(!pgs_job_state_is_terminal(PGS_JOB_QUEUED));
	CHECK(!pgs_job_state_is_terminal(PGS_JOB_RUNNING));
	CHECK(pgs_job_next_state(PGS_JOB_N_STATES, PGS_JOB_START) < 0);
	CHECK(pgs_job_next_state(PGS_JOB_QUEUED, PGS_JOB_N_EVENTS) < 0);
}

static void
test_names(void)
{
	for (int s = 0; s < PGS_JOB_N_STATES; s++)
		CHECK(pgs_job_state_parse(pgs_job_state_name(s)) == s);
	CHECK(strcmp(pgs_job_state_name(PGS_JOB_CANCELLED), "cancelled") == 0);
	CHECK(pgs_job_state_parse("canceled") < 0);
	CHECK(strcmp(pgs_job_event_name(PGS_JOB_RESUME), "resume") == 0);
}

int
main(void)
{
	RUN(test_happy_path);
	RUN(test_forbidden);
	RUN(test_names);
	return unit_done();
}
