/* Rasterises a synthetic fundus scene tile by tile: anatomy, vessels, lesions, illumination, optics, noise. */
#include "synthetic_scene.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TILE 32
#define TEXTURE_COARSE 12
#define TEXTURE_FINE 48
#define GAMMA_TABLE 4096
#define GAMMA_RANGE 1.6			/* linear values above this saturate */

/* ---------- primitives ---------- */

static syn_prim *
new_prim(syn_scene *scene)
{
	if (scene->count == scene->capacity)
	{
		size_t		cap = scene->capacity ? 2 * scene->capacity : 1024;
		syn_prim   *grown = cap <= 200000 ? realloc(scene->prims, cap * sizeof(syn_prim)) : NULL;

		if (grown == NULL)
		{
			scene->out_of_memory = true;
			return NULL;
		}
		scene->prims = grown;
		scene->capacity = cap;
	}
	memset(&scene->prims[scene->count], 0, sizeof(syn_prim));
	return &scene->prims[scene->count];
}

/* Keep a primitive whose padded box meets the picture (true); drop it otherwise. */
static bool
commit_prim(syn_scene *scene, syn_prim *p, double x0, double y0, double x1, double y1, double reach)
{
	p->bbox[0] = (int) floor(fmin(x0, x1) - reach - 1);
	p->bbox[1] = (int) floor(fmin(y0, y1) - reach - 1);
	p->bbox[2] = (int) ceil(fmax(x0, x1) + reach + 1);
	p->bbox[3] = (int) ceil(fmax(y0, y1) + reach + 1);
	if (p->bbox[2] < 0 || p->bbox[3] < 0 || p->bbox[0] >= scene->width || p->bbox[1] >= scene->height)
		return false;
	p->bbox[0] = p->bbox[0] < 0 ? 0 : p->bbox[0];
	p->bbox[1] = p->bbox[1] < 0 ? 0 : p->bbox[1];
	p->bbox[2] = p->bbox[2] >= scene->width ? scene->width - 1 : p->bbox[2];
	p->bbox[3] = p->bbox[3] >= scene->height ? scene->height - 1 : p->bbox[3];
	scene->count++;
	return true;
}

static void
set_look(syn_prim *p, syn_effect effect, syn_profile profile, double strength, const double color[3])
{
	p->effect = (uint8_t) effect;
	p->profile = (uint8_t) profile;
	p->strength = (float) strength;
	for (int c = 0; c < 3; c++)
		p->color[c] = (float) color[c];
}

void
syn_add_capsule(syn_scene *scene, syn_effect effect, double x0, double y0, double x1, double y1,
				double half_width, double strength, const double color[3])
{
	syn_prim   *p = new_prim(scene);
	double		R = scene->radius;

	if (p == NULL)
		return;
	p->shape = SYN_CAPSULE;
	set_look(p, effect, SYN_DOME, strength, color);
	p->x0 = (float) (scene->cx + x0 * R);
	p->y0 = (float) (scene->cy + y0 * R);
	p->x1 = (float) (scene->cx + x1 * R);
	p->y1 = (float) (scene->cy + y1 * R);
	p->a = (float) (half_width * R);
	commit_prim(scene, p, p->x0, p->y0, p->x1, p->y1, p->a);
}

/* The ellipse primitive, or NULL when it falls outside the picture (or memory ran out). */
static syn_prim *
add_ellipse(syn_scene *scene, syn_effect effect, syn_profile profile, double x, double y, double a, double b,
			double angle, double strength, const double color[3])
{
	syn_prim   *p = new_prim(scene);
	double		R = scene->radius;
	double		reach;

	if (p == NULL)
		return NULL;
	p->shape = SYN_ELLIPSE;
	set_look(p, effect, profile, strength, color);
	p->x0 = (float) (scene->cx + x * R);
	p->y0 = (float) (scene->cy + y * R);
	p->a = (float) (a * R);
	p->b = (float) (b * R);
	p->cos_t = (float) cos(angle);
	p->sin_t = (float) sin(angle);
	p->flat_top = -2.0f;
	reach = fmax(p->a, p->b) * (profile == SYN_SOFT ? 2.0 : 1.0);
	return commit_prim(scene, p, p->x0, p->y0, p->x0, p->y0, reach) ? p : NULL;
}

void
syn_add_ellipse(syn_scene *scene, syn_effect effect, syn_profile profile, double x, double y, double a,
				double b, double angle, double strength, const double color[3])
{
	add_ellipse(scene, effect, profile, x, y, a, b, angle, strength, color);
}

void
syn_add_boat(syn_scene *scene, double x, double y, double a, double b, double flat_top, double strength,
			 const double color[3])
{
	syn_prim   *p = add_ellipse(scene, SYN_DARKEN, SYN_DOME, x, y, a, b, 0.0, strength, color);

	if (p != NULL)
		p->flat_top = (float) flat_top;
}

static float
clampf(float v, float lo, float hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Opacity profile of a capsule at distance d (pixels) from its axis; thinner than a pixel fades out. */
static float
capsule_profile(const syn_prim *p, float px, float py)
{
	float		dx = p->x1 - p->x0,
				dy = p->y1 - p->y0;
	float		len2 = dx * dx + dy * dy;
	float		t = len2 > 0 ? clampf(((px - p->x0) * dx + (py - p->y0) * dy) / len2, 0.0f, 1.0f) : 0.0f;
	float		ex = px - (p->x0 + t * dx),
				ey = py - (p->y0 + t * dy);
	float		d = sqrtf(ex * ex + ey * ey);
	float		h = p->a > 0.5f ? p->a : 0.5f;
	float		cover = clampf(h - d + 0.5f, 0.0f, 1.0f);
	float		q = d / h;
	float		dome = q < 1.0f ? sqrtf(1.0f - q * q) : 0.0f;

	return cover * (0.35f + 0.65f * dome) * (p->a < 0.5f ? 2.0f * p->a : 1.0f);
}

static float
ellipse_profile(const syn_prim *p, float px, float py)
{
	float		lx = px - p->x0,
				ly = py - p->y0;
	float		ex = lx * p->cos_t + ly * p->sin_t,
				ey = -lx * p->sin_t + ly * p->cos_t;
	float		a = p->a > 0.5f ? p->a : 0.5f,
				b = p->b > 0.5f ? p->b : 0.5f;
	float		q = sqrtf((ex / a) * (ex / a) + (ey / b) * (ey / b));
	float		small = (p->a < 0.5f ? 2.0f * p->a : 1.0f) * (p->b < 0.5f ? 2.0f * p->b : 1.0f);
	float		alpha;

	switch (p->profile)
	{
		case SYN_SHARP:
			alpha = clampf((1.0f - q) * (a < b ? a : b) + 0.5f, 0.0f, 1.0f);
			break;
		case SYN_DOME:
			alpha = clampf((1.0f - q) * (a < b ? a : b) + 0.5f, 0.0f, 1.0f) *
				(0.3f + 0.7f * (q < 1.0f ? sqrtf(1.0f - q * q) : 0.0f));
			break;
		default:
			alpha = expf(-2.5f * q * q);
			break;
	}
	if (p->flat_top > -1.5f)
		alpha *= clampf((ey / b - p->flat_top) * b + 0.5f, 0.0f, 1.0f);
	return alpha * small;
}

/* ---------- anatomy and illumination ---------- */

typedef struct lattice
{
	int			cells;
	float	   *values;			/* (cells + 1)² values in [−1, 1] over the square [−1, 1]² */
} lattice;

static bool
lattice_init(lattice *l, int cells, uint64_t seed)
{
	pgs_prng	rng;

	l->cells = cells;
	l->values = malloc(sizeof(float) * (cells + 1) * (cells + 1));
	if (l->values == NULL)
		return false;
	pgs_prng_seed(&rng, seed, (uint64_t) cells);
	for (int i = 0; i < (cells + 1) * (cells + 1); i++)
		l->values[i] = (float) (2.0 * pgs_prng_uniform(&rng) - 1.0);
	return true;
}

/* Smooth value noise: the lattice interpolated with smoothstep weights. */
static float
lattice_at(const lattice *l, float u, float v)
{
	float		gx = clampf((u + 1.0f) * 0.5f * l->cells, 0.0f, l->cells - 1e-4f),
				gy = clampf((v + 1.0f) * 0.5f * l->cells, 0.0f, l->cells - 1e-4f);
	int			ix = (int) gx,
				iy = (int) gy;
	float		fx = gx - ix,
				fy = gy - iy;
	const float *row = l->values + iy * (l->cells + 1) + ix;

	fx = fx * fx * (3 - 2 * fx);
	fy = fy * fy * (3 - 2 * fy);
	return (row[0] * (1 - fx) + row[1] * fx) * (1 - fy) + (row[l->cells + 1] * (1 - fx) + row[l->cells + 2] * fx) * fy;
}

static float
smoothstep(float e0, float e1, float x)
{
	float		t = clampf((x - e0) / (e1 - e0), 0.0f, 1.0f);

	return t * t * (3 - 2 * t);
}

typedef struct render_ctx
{
	const syn_scene *scene;
	lattice		coarse,
				fine,
				tint;
	uint8_t		gamma[GAMMA_TABLE];
} render_ctx;

/* Reflectance of the bare retina at (u, v): pigment, choroidal texture, macula, fovea and optic disc. */
static void
retina_albedo(const render_ctx *ctx, float u, float v, float out[3])
{
	const syn_scene *s = ctx->scene;
	float		texture = (float) s->texture_amplitude *
		(0.65f * lattice_at(&ctx->coarse, u, v) + 0.35f * lattice_at(&ctx->fine, u, v));
	float		tint = 0.06f * lattice_at(&ctx->tint, u, v);
	float		mu = u - (float) s->fovea_x,
				mv = v - (float) s->fovea_y;
	float		dm2 = mu * mu + mv * mv;
	float		sigma = (float) s->macula_sigma;
	static const float macula_mix[3] = {0.55f, 1.0f, 0.9f};
	float		du = (u - (float) s->disc_x) / (float) s->disc_rx,
				dv = (v - (float) s->disc_y) / (float) s->disc_ry;
	float		q = sqrtf(du * du + dv * dv);

	out[0] = (float) s->albedo[0] * (1 + texture + tint);
	out[1] = (float) s->albedo[1] * (1 + 1.3f * texture - tint);
	out[2] = (float) s->albedo[2] * (1 + 1.2f * texture);
	if (dm2 < 9 * sigma * sigma)
	{
		float		m = expf(-dm2 / (2 * sigma * sigma)) * (float) s->macula_depth;
		float		f = expf(-dm2 / (2 * 0.035f * 0.035f));

		for (int c = 0; c < 3; c++)
			out[c] *= (1 - m * macula_mix[c]) * (1 - 0.12f * f);
		if (s->foveal_reflex)
		{
			float		r = 0.35f * expf(-dm2 / (2 * 0.006f * 0.006f));

			for (int c = 0; c < 3; c++)
				out[c] = out[c] * (1 - r) + r * 0.95f;
		}
	}
	if (q < 1.4f)
	{
		/* pale disc, whiter cup, a faint peripapillary ring */
		float		disc = smoothstep(1.06f, 0.9f, q);
		float		cup = smoothstep((float) s->cup_ratio * 1.15f, (float) s->cup_ratio * 0.75f, q);
		float		ring = 0.12f * smoothstep(1.35f, 1.1f, q) * (1 - disc);

		for (int c = 0; c < 3; c++)
		{
			float		disc_color = (float) s->disc_color[c];

			out[c] = out[c] * (1 - disc) + disc * (disc_color * (1 - cup) + cup * (0.5f + 0.5f * disc_color + 0.1f));
			out[c] += ring * (0.9f - out[c]);
		}
	}
}

/* Camera illumination at (u, v): vignetting, uneven lighting, a dark rim and sometimes a bright halo. */
static float
illumination(const syn_scene *s, float u, float v, float rho)
{
	float		r2 = rho * rho;
	float		light = (float) s->gain * (1 - (float) s->vignetting * r2 - 0.3f * (float) s->vignetting * r2 * r2) *
		(1 + (float) s->gradient * (u * (float) s->gradient_x + v * (float) s->gradient_y));

	light *= 1 - 0.35f * smoothstep(0.82f, 1.0f, rho);
	light += (float) s->rim_halo * expf(-((rho - 0.965f) / 0.02f) * ((rho - 0.965f) / 0.02f));
	return light > 0 ? light : 0;
}

/* ---------- the tile loop ---------- */

/* Opacity of primitive p at pixel (x, y), 0 outside its reach. */
static float
prim_alpha(const syn_prim *p, int x, int y)
{
	if (x < p->bbox[0] || x > p->bbox[2] || y < p->bbox[1] || y > p->bbox[3])
		return 0.0f;
	return p->strength * (p->shape == SYN_CAPSULE ? capsule_profile(p, (float) x, (float) y)
						  : ellipse_profile(p, (float) x, (float) y));
}

static void
apply(float c[3], syn_effect effect, float alpha, const float color[3])
{
	if (effect == SYN_TINT)
		for (int ch = 0; ch < 3; ch++)
			c[ch] = c[ch] * (1 - alpha) + alpha * color[ch];
	else
		for (int ch = 0; ch < 3; ch++)
			c[ch] *= 1 - alpha + alpha * color[ch];
}

/*
 * One pixel: retina, then vessels (overlapping segments of one kind must not darken twice, so each kind
 * keeps its strongest segment), then lesions in the order they were made, then light and the camera's
 * response. `list` holds the tile's primitives in index order; vessels come first, up to `vessels`.
 */
static void
shade_pixel(const render_ctx *ctx, const int *list, int vessels, int n, int x, int y, uint8_t *out)
{
	const syn_scene *s = ctx->scene;
	float		R = (float) s->radius;
	float		u = (x - (float) s->cx) / R,
				v = (y - (float) s->cy) / R;
	float		rho = sqrtf(u * u + v * v);
	float		edge = clampf((1 - rho) * R + 0.5f, 0.0f, 1.0f);
	float		c[3];
	float		strongest[SYN_VESSEL_KINDS] = {0, 0, 0};
	int			which[SYN_VESSEL_KINDS] = {-1, -1, -1};
	float		light;

	if (edge <= 0)
	{
		out[0] = out[1] = out[2] = 0;
		return;
	}
	retina_albedo(ctx, u, v, c);
	for (int k = 0; k < vessels; k++)
	{
		const syn_prim *p = &s->prims[list[k]];
		float		alpha = prim_alpha(p, x, y);

		if (alpha > strongest[p->effect])
		{
			strongest[p->effect] = alpha;
			which[p->effect] = list[k];
		}
	}
	for (int kind = 0; kind < SYN_VESSEL_KINDS; kind++)
		if (which[kind] >= 0)
			apply(c, SYN_DARKEN, strongest[kind], s->prims[which[kind]].color);
	for (int k = vessels; k < n; k++)
	{
		const syn_prim *p = &s->prims[list[k]];
		float		alpha = prim_alpha(p, x, y);

		if (alpha > 0)
			apply(c, (syn_effect) p->effect, alpha, p->color);
	}
	light = illumination(s, u, v, rho) * edge;
	for (int ch = 0; ch < 3; ch++)
	{
		float		linear = c[ch] * light * (float) s->channel_gain[ch];
		int			index = (int) (linear * (GAMMA_TABLE - 1) / GAMMA_RANGE + 0.5f);

		out[ch] = ctx->gamma[index < 0 ? 0 : index >= GAMMA_TABLE ? GAMMA_TABLE - 1 : index];
	}
}

/* Bin every primitive into the tiles its box meets (counts, prefix sums, fill: one int per entry). */
static int *
bin_primitives(const syn_scene *s, int tiles_x, int tiles_y, int **starts_out)
{
	size_t		ntiles = (size_t) tiles_x * tiles_y;
	int		   *starts = calloc(ntiles + 1, sizeof(int));
	int		   *fill,
			   *entries;
	size_t		total = 0;

	if (starts == NULL)
		return NULL;
	for (size_t i = 0; i < s->count; i++)
	{
		const int  *b = s->prims[i].bbox;

		for (int ty = b[1] / TILE; ty <= b[3] / TILE; ty++)
			for (int tx = b[0] / TILE; tx <= b[2] / TILE; tx++)
				starts[(size_t) ty * tiles_x + tx + 1]++;
	}
	for (size_t t = 0; t < ntiles; t++)
	{
		total += (size_t) starts[t + 1];
		if (total > (size_t) 1 << 30)
		{
			free(starts);
			return NULL;
		}
		starts[t + 1] = (int) total;
	}
	entries = malloc(sizeof(int) * (total ? total : 1));
	fill = malloc(sizeof(int) * ntiles);
	if (entries == NULL || fill == NULL)
	{
		free(starts);
		free(entries);
		free(fill);
		return NULL;
	}
	memcpy(fill, starts, sizeof(int) * ntiles);
	for (size_t i = 0; i < s->count; i++)
	{
		const int  *b = s->prims[i].bbox;

		for (int ty = b[1] / TILE; ty <= b[3] / TILE; ty++)
			for (int tx = b[0] / TILE; tx <= b[2] / TILE; tx++)
				entries[fill[(size_t) ty * tiles_x + tx]++] = (int) i;
	}
	free(fill);
	*starts_out = starts;
	return entries;
}

/* ---------- optics and sensor ---------- */

/* Three passes of a running-mean box filter approximate a Gaussian (Wells 1986) at constant cost per pixel. */
static void
box_pass(uint8_t *line, uint8_t *tmp, int n, int step, int radius)
{
	int			sum = 0,
				width = 2 * radius + 1;

	for (int i = -radius - 1; i < radius; i++)
		sum += line[(size_t) (i < 0 ? 0 : i >= n ? n - 1 : i) * step];
	for (int i = 0; i < n; i++)
	{
		int			add = i + radius < n ? i + radius : n - 1,
					drop = i - radius - 1 > 0 ? i - radius - 1 : 0;

		sum += line[(size_t) add * step] - line[(size_t) drop * step];
		tmp[i] = (uint8_t) ((sum + width / 2) / width);
	}
	for (int i = 0; i < n; i++)
		line[(size_t) i * step] = tmp[i];
}

static bool
defocus(uint8_t *rgb, int width, int height, double sigma)
{
	/* box width for three passes: w = √(12σ²/3 + 1), rounded to an odd number of pixels */
	int			radius = (int) lround((sqrt(4.0 * sigma * sigma + 1.0) - 1.0) / 2.0);
	uint8_t    *tmp = malloc((size_t) (width > height ? width : height));

	if (tmp == NULL)
		return false;
	if (radius >= 1)
		for (int pass = 0; pass < 3; pass++)
			for (int c = 0; c < 3; c++)
			{
				for (int y = 0; y < height; y++)
					box_pass(rgb + (size_t) y * width * 3 + c, tmp, width, 3, radius);
				for (int x = 0; x < width; x++)
					box_pass(rgb + (size_t) x * 3 + c, tmp, height, width * 3, radius);
			}
	free(tmp);
	return true;
}

/* Sensor noise: roughly Gaussian (a sum of four uniforms) with σ in 8-bit levels, weaker in the dark. */
static void
add_noise(uint8_t *rgb, size_t n, double sigma, uint64_t seed)
{
	pgs_prng	rng;
	float		scale = (float) (sigma * sqrt(3.0) / 32768.0);

	pgs_prng_seed(&rng, seed, 5);
	for (size_t i = 0; i < n; i++)
	{
		uint64_t	r = pgs_prng_next(&rng);
		float		sum = (float) ((r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48)) - 131070.0f;
		float		level = rgb[i] < 24 ? 0.4f : 1.0f;
		float		v = rgb[i] + level * sum * scale / 2.0f;

		rgb[i] = (uint8_t) (v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5f);
	}
}

pgs_status
syn_render(const syn_scene *scene, uint8_t *rgb, uint64_t noise_seed, pgs_error *err)
{
	render_ctx	ctx;
	int			tiles_x = (scene->width + TILE - 1) / TILE,
				tiles_y = (scene->height + TILE - 1) / TILE;
	int		   *starts = NULL,
			   *entries;
	bool		ok;

	ctx.scene = scene;
	ok = lattice_init(&ctx.coarse, TEXTURE_COARSE, scene->texture_seed) &
		lattice_init(&ctx.fine, TEXTURE_FINE, scene->texture_seed + 1) &
		lattice_init(&ctx.tint, TEXTURE_COARSE, scene->texture_seed + 2);
	entries = ok ? bin_primitives(scene, tiles_x, tiles_y, &starts) : NULL;
	if (entries == NULL)
	{
		free(ctx.coarse.values);
		free(ctx.fine.values);
		free(ctx.tint.values);
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the synthetic fundus renderer");
	}
	for (int i = 0; i < GAMMA_TABLE; i++)
	{
		double		linear = (double) i / (GAMMA_TABLE - 1) * GAMMA_RANGE;
		double		v = 255.0 * pow(linear < 1.0 ? linear : 1.0, 1.0 / scene->gamma);

		ctx.gamma[i] = (uint8_t) (v + 0.5);
	}

	for (int ty = 0; ty < tiles_y; ty++)
		for (int tx = 0; tx < tiles_x; tx++)
		{
			size_t		t = (size_t) ty * tiles_x + tx;
			const int  *list = entries + starts[t];
			int			n = starts[t + 1] - starts[t];
			int			vessels = 0;

			while (vessels < n && (size_t) list[vessels] < scene->vessel_count)
				vessels++;
			for (int y = ty * TILE; y < (ty + 1) * TILE && y < scene->height; y++)
				for (int x = tx * TILE; x < (tx + 1) * TILE && x < scene->width; x++)
					shade_pixel(&ctx, list, vessels, n, x, y, rgb + ((size_t) y * scene->width + x) * 3);
		}
	free(starts);
	free(entries);
	free(ctx.coarse.values);
	free(ctx.fine.values);
	free(ctx.tint.values);

	if (scene->blur_sigma_px > 0.4 && !defocus(rgb, scene->width, scene->height, scene->blur_sigma_px))
		return pgs_fail(err, PGS_ERR_NO_MEMORY, "could not allocate the synthetic fundus renderer");
	add_noise(rgb, (size_t) scene->width * scene->height * 3, scene->noise_levels, noise_seed);
	return PGS_OK;
}
