/* Otsu's threshold: the grey level that maximises the between-class variance of a histogram. */
#include "imgproc.h"

#include <float.h>

/* The same sweep as OpenCV's getThreshVal_Otsu_8u, so thresholds agree with cv2.threshold(THRESH_OTSU). */
int
pgs_otsu_threshold(const uint64_t histogram[256])
{
	double		total = 0.0,
				mu = 0.0,
				mu1 = 0.0,
				q1 = 0.0,
				best_sigma = 0.0;
	int			best = 0;

	for (int i = 0; i < 256; i++)
	{
		total += (double) histogram[i];
		mu += i * (double) histogram[i];
	}
	if (total == 0.0)
		return 0;
	mu /= total;
	for (int i = 0; i < 256; i++)
	{
		double		p = (double) histogram[i] / total;
		double		q2,
					mu2,
					sigma;

		mu1 *= q1;
		q1 += p;
		q2 = 1.0 - q1;
		if ((q1 < q2 ? q1 : q2) < FLT_EPSILON || (q1 > q2 ? q1 : q2) > 1.0 - FLT_EPSILON)
			continue;
		mu1 = (mu1 + i * p) / q1;
		mu2 = (mu - q1 * mu1) / q2;
		sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
		if (sigma > best_sigma)
		{
			best_sigma = sigma;
			best = i;
		}
	}
	return best;
}
