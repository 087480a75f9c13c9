/* Pixel cleaning for mammograms: keep the breast (Otsu + largest component, holes filled), blank the rest. */
#include "dicom_internal.h"

#include <algorithm>
#include <vector>

namespace
{

/* Otsu's threshold over a 4096-bin histogram of the values (in MONOCHROME2 orientation). */
double
otsu_threshold(const std::vector<double> &v, double lo, double hi)
{
	const int	bins = 4096;
	std::vector<double> hist(bins, 0.0);
	double		scale = hi > lo ? (bins - 1) / (hi - lo) : 0;

	for (double x : v)
		hist[size_t((x - lo) * scale)] += 1;
	double		total = double(v.size()),
				sum_all = 0,
				sum_below = 0,
				weight_below = 0,
				best = -1,
				best_t = lo;

	for (int i = 0; i < bins; i++)
		sum_all += i * hist[size_t(i)];
	for (int i = 0; i < bins; i++)
	{
		weight_below += hist[size_t(i)];
		if (weight_below == 0)
			continue;
		double		weight_above = total - weight_below;

		if (weight_above == 0)
			break;
		sum_below += i * hist[size_t(i)];
		double		mean_below = sum_below / weight_below,
					mean_above = (sum_all - sum_below) / weight_above;
		double		between = weight_below * weight_above * (mean_below - mean_above) * (mean_below - mean_above);

		if (between > best)
		{
			best = between;
			best_t = lo + (i + 0.5) / scale;
		}
	}
	return best_t;
}

}								/* namespace */

pgs_status
dicom_blank_outside_breast(pgs_image *frame, bool monochrome1, size_t *blanked, pgs_error *err)
{
	size_t		w = size_t(frame->width),
				h = size_t(frame->height),
				n = w * h;
	std::vector<double> v(n);

	*blanked = 0;
	if (frame->channels != 1 || (frame->dtype != PGS_DTYPE_U16 && frame->dtype != PGS_DTYPE_U8))
		return pgs_fail(err, PGS_ERR_UNSUPPORTED, "only unsigned monochrome frames can be cleaned");
	for (size_t i = 0; i < n; i++)
	{
		double		x = frame->dtype == PGS_DTYPE_U16 ? static_cast<uint16_t *>(frame->data)[i]
			: static_cast<uint8_t *>(frame->data)[i];

		v[i] = monochrome1 ? -x : x;	/* tissue is brighter than the background in this orientation */
	}
	double		lo = *std::min_element(v.begin(), v.end()),
				hi = *std::max_element(v.begin(), v.end());

	if (hi <= lo)
		return PGS_OK;
	double		t = otsu_threshold(v, lo, hi);

	/* Label the 4-connected components above the threshold; keep the largest. */
	std::vector<int> label(n, 0);
	std::vector<size_t> stack;
	int			best_label = 0,
				next = 0;
	size_t		best_size = 0;

	for (size_t start = 0; start < n; start++)
	{
		if (label[start] != 0 || v[start] <= t)
			continue;
		size_t		size = 0;

		label[start] = ++next;
		stack.push_back(start);
		while (!stack.empty())
		{
			size_t		p = stack.back();

			stack.pop_back();
			size++;
			size_t		x = p % w,
						y = p / w;
			size_t		nb[4] = {x > 0 ? p - 1 : p, x + 1 < w ? p + 1 : p, y > 0 ? p - w : p, y + 1 < h ? p + w : p};

			for (size_t q : nb)
				if (label[q] == 0 && v[q] > t)
				{
					label[q] = next;
					stack.push_back(q);
				}
		}
		if (size > best_size)
			best_size = size, best_label = next;
	}
	if (best_label == 0)
		return PGS_OK;

	/* Outside = reachable from the border without crossing the breast; holes inside the breast stay. */
	std::vector<uint8_t> outside(n, 0);

	for (size_t i = 0; i < n; i++)
	{
		size_t		x = i % w,
					y = i / w;

		if ((x == 0 || y == 0 || x + 1 == w || y + 1 == h) && label[i] != best_label && !outside[i])
		{
			outside[i] = 1;
			stack.push_back(i);
		}
	}
	while (!stack.empty())
	{
		size_t		p = stack.back();

		stack.pop_back();
		size_t		x = p % w,
					y = p / w;
		size_t		nb[4] = {x > 0 ? p - 1 : p, x + 1 < w ? p + 1 : p, y > 0 ? p - w : p, y + 1 < h ? p + w : p};

		for (size_t q : nb)
			if (!outside[q] && label[q] != best_label)
			{
				outside[q] = 1;
				stack.push_back(q);
			}
	}

	/* The background value: the darkest value of the frame, in the frame's own orientation. */
	double		background = monochrome1 ? -lo : lo;

	for (size_t i = 0; i < n; i++)
		if (outside[i])
		{
			if (frame->dtype == PGS_DTYPE_U16)
				static_cast<uint16_t *>(frame->data)[i] = uint16_t(background);
			else
				static_cast<uint8_t *>(frame->data)[i] = uint8_t(background);
			(*blanked)++;
		}
	return PGS_OK;
}
