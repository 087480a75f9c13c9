/* The training job state machine's transition table. */
#include "job_state.h"

#include <string.h>

static const char *const state_names[PGS_JOB_N_STATES] = {
	"queued", "running", "succeeded", "failed", "cancelled"
};

static const char *const event_names[PGS_JOB_N_EVENTS] = {
	"start", "resume", "succeed", "fail", "cancel"
};

#define NONE (-1)

/* transitions[from][event]: the whole state machine in one place. */
static const int transitions[PGS_JOB_N_STATES][PGS_JOB_N_EVENTS] = {
	/* start            resume           succeed            fail             cancel */
	[PGS_JOB_QUEUED] = {PGS_JOB_RUNNING, NONE, NONE, PGS_JOB_FAILED, PGS_JOB_CANCELLED},
	[PGS_JOB_RUNNING] = {NONE, PGS_JOB_RUNNING, PGS_JOB_SUCCEEDED, PGS_JOB_FAILED, PGS_JOB_CANCELLED},
	[PGS_JOB_SUCCEEDED] = {NONE, NONE, NONE, NONE, NONE},
	[PGS_JOB_FAILED] = {NONE, NONE, NONE, NONE, NONE},
	[PGS_JOB_CANCELLED] = {NONE, NONE, NONE, NONE, NONE},
};

int
pgs_job_next_state(pgs_job_state from, pgs_job_event event)
{
	if ((int) from < 0 || from >= PGS_JOB_N_STATES || (int) event < 0 || event >= PGS_JOB_N_EVENTS)
		return NONE;
	return transitions[from][event];
}

bool
pgs_job_state_is_terminal(pgs_job_state state)
{
	return state == PGS_JOB_SUCCEEDED || state == PGS_JOB_FAILED || state == PGS_JOB_CANCELLED;
}

const char *
pgs_job_state_name(pgs_job_state state)
{
	return (int) state >= 0 && state < PGS_JOB_N_STATES ? state_names[state] : "unknown";
}

const char *
pgs_job_event_name(pgs_job_event event)
{
	return (int) event >= 0 && event < PGS_JOB_N_EVENTS ? event_names[event] : "unknown";
}

int
pgs_job_state_parse(const char *name)
{
	for (int i = 0; i < PGS_JOB_N_STATES; i++)
		if (strcmp(name, state_names[i]) == 0)
			return i;
	return NONE;
}
