/* Reads the CPU model from /proc/cpuinfo and core count and memory from sysconf (Linux). */
#include "cpu_info.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
read_model_name(char *out, size_t out_size)
{
	FILE	   *f = fopen("/proc/cpuinfo", "r");
	char		line[512];

	snprintf(out, out_size, "unknown CPU");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) != 0 || colon == NULL)
			continue;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(out, out_size, "%s", colon);
		break;
	}
	fclose(f);
}

void
pgs_cpu_info_read(pgs_cpu_info *info)
{
	long		pages = sysconf(_SC_PHYS_PAGES);
	long		avail = sysconf(_SC_AVPHYS_PAGES);
	long		page_size = sysconf(_SC_PAGESIZE);
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(info, 0, sizeof(*info));
	read_model_name(info->model, sizeof(info->model));
	info->cores = cores > 0 ? (int) cores : 1;
	if (pages > 0 && page_size > 0)
		info->total_memory = (size_t) pages * (size_t) page_size;
	if (avail > 0 && page_size > 0)
		info->available_memory = (size_t) avail * (size_t) page_size;
}
