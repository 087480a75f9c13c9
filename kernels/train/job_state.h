/* The training job state machine: states, events and the one table of allowed transitions. */
#ifndef PGS_JOB_STATE_H
#define PGS_JOB_STATE_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * queued -> running -> succeeded | failed | cancelled. A job interrupted by a crash or restart is resumed
 * from its last checkpoint (running -> running, counted); a queued job can be cancelled or can fail before
 * it starts (its owner may no longer be able to read the data, say). Terminal states never change.
 */
typedef enum pgs_job_state
{
	PGS_JOB_QUEUED = 0,
	PGS_JOB_RUNNING,
	PGS_JOB_SUCCEEDED,
	PGS_JOB_FAILED,
	PGS_JOB_CANCELLED,
	PGS_JOB_N_STATES
} pgs_job_state;

typedef enum pgs_job_event
{
	PGS_JOB_START = 0,			/* a worker claims a queued job */
	PGS_JOB_RESUME,				/* a worker takes over a running job whose worker died */
	PGS_JOB_SUCCEED,
	PGS_JOB_FAIL,
	PGS_JOB_CANCEL,
	PGS_JOB_N_EVENTS
} pgs_job_event;

/* The state an event leads to from `from`, or -1 when the event is not allowed there. */
int			pgs_job_next_state(pgs_job_state from, pgs_job_event event);

bool		pgs_job_state_is_terminal(pgs_job_state state);

/* Names as stored in screen.jobs.state ("queued", ...) and used in messages ("start", ...). */
const char *pgs_job_state_name(pgs_job_state state);
const char *pgs_job_event_name(pgs_job_event event);

/* Parse a state name; -1 when unknown. */
int			pgs_job_state_parse(const char *name);

#ifdef __cplusplus
}
#endif

#endif
