/* Status code names and the pgs_fail helper that records an error message. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

const char *
pgs_strerror(pgs_status code)
{
	switch (code)
	{
		case PGS_OK:
			return "success";
		case PGS_ERR_INVALID_ARGUMENT:
			return "invalid argument";
		case PGS_ERR_BAD_DATA:
			return "bad data";
		case PGS_ERR_UNSUPPORTED:
			return "unsupported";
		case PGS_ERR_LIMIT:
			return "limit exceeded";
		case PGS_ERR_NO_MEMORY:
			return "out of memory";
		case PGS_ERR_DEVICE:
			return "device unavailable";
		case PGS_ERR_DEVICE_MEMORY:
			return "out of device memory";
		case PGS_ERR_IO:
			return "I/O error";
		case PGS_ERR_CANCELLED:
			return "cancelled";
		case PGS_ERR_INTERNAL:
			return "internal error";
	}
	return "unknown status";
}

pgs_status
pgs_fail(pgs_error *err, pgs_status code, const char *fmt,...)
{
	va_list		args;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(args, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, args);
	va_end(args);
	return code;
}

void
pgs_error_clear(pgs_error *err)
{
	if (err == NULL)
		return;
	err->code = PGS_OK;
	err->message[0] = '\0';
}
