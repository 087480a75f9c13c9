/* What the CPU device is: model name, online cores and physical memory, for device_info(). */
#ifndef PGS_CPU_INFO_H
#define PGS_CPU_INFO_H

#include <stddef.h>

typedef struct pgs_cpu_info
{
	char		model[256];
	int			cores;
	size_t		total_memory;	/* bytes */
	size_t		available_memory;	/* bytes */
} pgs_cpu_info;

void		pgs_cpu_info_read(pgs_cpu_info *info);

#endif
