/* Status codes and error messages returned by every kernels/ function (the seam with extension/). */
#ifndef PGS_STATUS_H
#define PGS_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Kernels never print, exit or longjmp: each fallible function returns one of these and, when it fails,
 * fills a pgs_error with a message fragment in PostgreSQL style (lower case, no trailing period), which
 * extension/ turns into ereport() with the SQLSTATE that matches the code.
 */
typedef enum pgs_status
{
	PGS_OK = 0,
	PGS_ERR_INVALID_ARGUMENT,	/* a caller-supplied option or value is wrong */
	PGS_ERR_BAD_DATA,			/* input bytes are corrupt, truncated or not the claimed format */
	PGS_ERR_UNSUPPORTED,		/* valid input that this build cannot handle */
	PGS_ERR_LIMIT,				/* a size limit was exceeded (dimensions, pixels, nesting) */
	PGS_ERR_NO_MEMORY,			/* host memory allocation failed */
	PGS_ERR_DEVICE,				/* a GPU or its driver/libraries is unavailable or failed */
	PGS_ERR_DEVICE_MEMORY,		/* GPU memory allocation failed */
	PGS_ERR_IO,					/* file or network I/O failed */
	PGS_ERR_CANCELLED,			/* the caller asked to stop */
	PGS_ERR_INTERNAL			/* a bug: an invariant does not hold */
} pgs_status;

#define PGS_ERROR_MESSAGE_SIZE 512

typedef struct pgs_error
{
	pgs_status	code;
	char		message[PGS_ERROR_MESSAGE_SIZE];
} pgs_error;

/* Short name of a status code, e.g. "bad data". */
const char *pgs_strerror(pgs_status code);

/* Record a failure in err (which may be NULL) and return code, so callers write `return pgs_fail(...)`. */
pgs_status	pgs_fail(pgs_error *err, pgs_status code, const char *fmt,...)
#if defined(__GNUC__)
			__attribute__((format(printf, 3, 4)))
#endif
			;

/* Reset err to PGS_OK with an empty message. */
void		pgs_error_clear(pgs_error *err);

#ifdef __cplusplus
}
#endif

#endif
