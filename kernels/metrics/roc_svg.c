/* SVG pictures of ROC curves: grid, chance diagonal, thinned curves, AUC with CI in the legend, operating points. */
#include "roc.h"

#include <math.h>
#include <string.h>
#include <stdarg.h>
#include <stdio.h>

/* Okabe & Ito's colour-blind-safe palette, without its yellow (too faint on white). */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};
#define PALETTE_SIZE ((int) (sizeof palette / sizeof palette[0]))

typedef struct svg_writer
{
	pgs_buffer	buf;
	bool		failed;
} svg_writer;

static void
emit(svg_writer *w, const char *fmt,...)
{
	char		line[512];
	va_list		args;
	int			n;

	if (w->failed)
		return;
	va_start(args, fmt);
	n = vsnprintf(line, sizeof line, fmt, args);
	va_end(args);
	if (n < 0 || (size_t) n >= sizeof line || pgs_buffer_append(&w->buf, line, (size_t) n) != 0)
		w->failed = true;
}

/*
 * Decode one UTF-8 sequence at text; returns its length (0 at the end), with *code the code point or -1 when
 * the bytes are not well-formed UTF-8.
 */
static int
utf8_next(const unsigned char *text, long *code)
{
	int			len = text[0] < 0x80 ? 1 : text[0] >= 0xf0 ? 4 : text[0] >= 0xe0 ? 3 : text[0] >= 0xc0 ? 2 : -1;
	long		c;

	if (text[0] == 0)
		return 0;
	if (len < 0 || text[0] > 0xf4)
	{
		*code = -1;
		return 1;
	}
	c = len == 1 ? text[0] : text[0] & (0x3f >> (len - 1));
	for (int i = 1; i < len; i++)
	{
		if ((text[i] & 0xc0) != 0x80)
		{
			*code = -1;
			return i;
		}
		c = (c << 6) | (text[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF are not well-formed */
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
		(c >= 0xd800 && c <= 0xdfff))
		c = -1;
	*code = c;
	return len;
}

/*
 * Text content or attribute value from UTF-8: XML's special characters and everything outside printable
 * ASCII become character references, so the document is plain ASCII and survives any server encoding.
 * Control characters and malformed bytes become U+FFFD.
 */
static void
emit_text(svg_writer *w, const char *text)
{
	const unsigned char *p = (const unsigned char *) text;
	long		code;
	int			len;

	while ((len = utf8_next(p, &code)) > 0 && !w->failed)
	{
		p += len;
		if (code < 0 || (code < 0x20) || code == 0x7f)
			code = 0xfffd;
		if (code < 0x80 && code != '&' && code != '<' && code != '>' && code != '"' && code != '\'')
		{
			char		c = (char) code;

			if (pgs_buffer_append(&w->buf, &c, 1) != 0)
				w->failed = true;
		}
		else
			emit(w, "&#%ld;", code);
	}
}

/* Characters as displayed: a character reference (&#8211;) or a UTF-8 sequence is one. */
static size_t
display_length(const char *text)
{
	size_t		n = 0;

	for (const char *c = text; *c; c++)
	{
		if (c[0] == '&' && c[1] == '#')
		{
			const char *end = strchr(c, ';');

			if (end)
				c = end;
		}
		if (((unsigned char) *c & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* What the legend says about one curve, worked out before drawing so the legend can be sized. */
typedef struct curve_facts
{
	pgs_roc_view view;
	double		auc;
	double		lower;
	double		upper;
	bool		has_ci;
} curve_facts;

typedef struct plot_frame
{
	double		x0;				/* top-left corner of the unit square, pixels */
	double		y0;
	double		side;
} plot_frame;

static inline double
px_x(const plot_frame *f, double fpr)
{
	return f->x0 + fpr * f->side;
}

static inline double
px_y(const plot_frame *f, double tpr)
{
	return f->y0 + (1.0 - tpr) * f->side;
}

static void
draw_axes(svg_writer *w, const plot_frame *f)
{
	for (int i = 0; i <= 5; i++)
	{
		double		t = i / 5.0;

		emit(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n",
			 px_x(f, t), px_y(f, 0), px_x(f, t), px_y(f, 1));
		emit(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n",
			 px_x(f, 0), px_y(f, t), px_x(f, 1), px_y(f, t));
		emit(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>\n",
			 px_x(f, t), px_y(f, 0) + 18, t);
		emit(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n",
			 px_x(f, 0) - 8, px_y(f, t) + 4, t);
	}
	emit(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n",
		 f->x0, f->y0, f->side, f->side);
	emit(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"5 4\"/>\n",
		 px_x(f, 0), px_y(f, 0), px_x(f, 1), px_y(f, 1));
	emit(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">"
		 "1 &#8722; specificity (false positive rate)</text>\n", f->x0 + f->side / 2, f->y0 + f->side + 40);
	emit(w, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">"
		 "Sensitivity (true positive rate)</text>\n", f->x0 - 44, f->y0 + f->side / 2);
}

/* The curve as one polyline, skipping points less than half a pixel from the last one drawn. */
static pgs_status
draw_curve(svg_writer *w, const plot_frame *f, const pgs_roc_view *view, const char *colour, pgs_error *err)
{
	pgs_roc_curve curve;
	pgs_confusion point;
	double		last_x = -1e9,
				last_y = -1e9,
				x = 0,
				y = 0;
	bool		pending = false;
	int			r;

	emit(w, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"", colour);
	pgs_roc_curve_begin(&curve, view);
	while ((r = pgs_roc_curve_next(&curve, &point)) == 1)
	{
		x = px_x(f, (double) point.fp / (double) view->negatives);
		y = px_y(f, (double) point.tp / (double) view->positives);
		pending = true;
		if (fabs(x - last_x) >= 0.5 || fabs(y - last_y) >= 0.5)
		{
			emit(w, "%.1f,%.1f ", x, y);
			last_x = x;
			last_y = y;
			pending = false;
		}
	}
	if (r < 0)
		return pgs_fail(err, PGS_ERR_BAD_DATA, "corrupt roc value: malformed groups");
	if (pending)
		emit(w, "%.1f,%.1f", x, y);
	emit(w, "\"/>\n");
	return PGS_OK;
}

/*
 * An operating point's label beside its mark, inside the picture: right of the mark where it fits, else left of
 * it, else against the picture's edge, in a smaller font when even the whole width is too narrow. Widths are
 * estimated at 0.62 em per character (DejaVu Sans, the first font asked for, averages about 0.6 em).
 */
static void
draw_mark_label(svg_writer *w, double x, double y, const char *text, int picture_width, int picture_height)
{
	const double margin = 4,
				gap = 9;
	double		font_size = 11,
				room = picture_width - 2 * margin,
				text_w = 0.62 * font_size * (double) display_length(text),
				tx;

	if (text_w > room)
	{
		font_size *= room / text_w;
		text_w = room;
	}
	if (x + gap + text_w <= picture_width - margin)
		tx = x + gap;
	else if (x - gap - text_w >= margin)
		tx = x - gap - text_w;
	else
		tx = picture_width - margin - text_w;
	y = fmin(y + 14, picture_height - margin);
	emit(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\">%s</text>\n", tx, y, font_size, text);
}

static pgs_status
draw_marks(svg_writer *w, const plot_frame *f, const pgs_roc_plot_curve *c, const pgs_roc_view *view,
		   const char *colour, const pgs_roc_plot_options *o, pgs_error *err)
{
	for (int i = 0; i < c->nthresholds; i++)
	{
		pgs_confusion point;
		double		sens,
					spec,
					x,
					y;
		char		label[96];
		pgs_status	st = pgs_roc_confusion(view, c->thresholds[i], &point, err);

		if (st != PGS_OK)
			return st;
		sens = (double) point.tp / (double) view->positives;
		spec = (double) point.tn / (double) view->negatives;
		x = px_x(f, 1.0 - spec);
		y = px_y(f, sens);
		emit(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"white\" stroke=\"%s\" stroke-width=\"2\"/>\n",
			 x, y, colour);
		snprintf(label, sizeof label, "threshold %.4g: sensitivity %.1f%%, specificity %.1f%%",
				 c->thresholds[i], 100 * sens, 100 * spec);
		draw_mark_label(w, x, y, label, o->width, o->height);
	}
	return PGS_OK;
}

static void
legend_line(char *out, size_t size, const curve_facts *facts)
{
	if (isnan(facts->auc))
		snprintf(out, size, "AUC undefined: needs positive and negative cases");
	else if (facts->has_ci)
		snprintf(out, size, "AUC %.3f (%.3f&#8211;%.3f)", facts->auc, facts->lower, facts->upper);
	else
		snprintf(out, size, "AUC %.3f (no CI with fewer than 2 cases of a class)", facts->auc);
}

static void
counts_line(char *out, size_t size, const curve_facts *facts)
{
	snprintf(out, size, "n = %lld, %lld positive, %lld negative",
			 (long long) (facts->view.positives + facts->view.negatives), (long long) facts->view.positives,
			 (long long) facts->view.negatives);
}

/*
 * The legend box in the lower right of the plot: per curve a swatch, its label and AUC, and its counts. In a
 * plot too small for it, everything in the box is scaled down so that its text stays inside the picture
 * (widths estimated at 0.62 em per character, as for the operating points' labels).
 */
static void
draw_legend(svg_writer *w, const plot_frame *f, const pgs_roc_plot_curve *curves, const curve_facts *facts,
			int ncurves, double level)
{
	size_t		widest = 0;
	double		scale,
				line_height,
				box_w,
				box_h,
				bx,
				by;
	char		text[160];

	snprintf(text, sizeof text, "AUC (%g%% CI, DeLong)", 100 * level);
	widest = display_length(text);
	for (int i = 0; i < ncurves; i++)
	{
		size_t		label_len = curves[i].label ? display_length(curves[i].label) + 2 : 0;

		legend_line(text, sizeof text, &facts[i]);
		if (label_len + display_length(text) > widest)
			widest = label_len + display_length(text);
		counts_line(text, sizeof text, &facts[i]);
		if (display_length(text) > widest)
			widest = display_length(text);
	}
	box_w = 42 + 0.62 * 12 * (double) widest;
	box_h = 12 + 16 * (1 + 2 * ncurves);
	scale = fmin(1.0, fmin((f->side - 16) / box_w, (f->side - 16) / box_h));
	box_w *= scale;
	box_h *= scale;
	line_height = 16 * scale;
	bx = f->x0 + f->side - box_w - 8;
	by = f->y0 + f->side - box_h - 8;
	emit(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" fill-opacity=\"0.92\" "
		 "stroke=\"#bbb\"/>\n", bx, by, box_w, box_h);
	emit(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" font-weight=\"bold\">AUC (%g%% CI, DeLong)</text>\n",
		 bx + 8 * scale, by + 18 * scale, 12 * scale, 100 * level);
	for (int i = 0; i < ncurves; i++)
	{
		double		y = by + (18 + 16 * (1 + 2 * i)) * scale;
		const char *colour = palette[i % PALETTE_SIZE];

		emit(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n",
			 bx + 8 * scale, y - 4 * scale, bx + 26 * scale, y - 4 * scale, colour);
		emit(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\">", bx + 32 * scale, y, 12 * scale);
		if (curves[i].label)
		{
			emit_text(w, curves[i].label);
			emit(w, ": ");
		}
		legend_line(text, sizeof text, &facts[i]);
		emit(w, "%s</text>\n", text);
		counts_line(text, sizeof text, &facts[i]);
		emit(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" fill=\"#555\">%s</text>\n", bx + 32 * scale,
			 y + line_height - 2 * scale, 11 * scale, text);
	}
}

static pgs_status
check_options(int ncurves, const pgs_roc_plot_curve *curves, const pgs_roc_plot_options *o, pgs_error *err)
{
	pgs_status	st = pgs_check_level(o->level, err);

	if (st != PGS_OK)
		return st;
	if (ncurves < 1 || ncurves > PGS_ROC_PLOT_MAX_CURVES)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "a plot takes 1 to %d curves, got %d",
						PGS_ROC_PLOT_MAX_CURVES, ncurves);
	if (o->width < 200 || o->width > 4000 || o->height < 200 || o->height > 4000)
		return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "width and height must be between 200 and 4000 pixels, "
						"got %d and %d", o->width, o->height);
	for (int i = 0; i < ncurves; i++)
	{
		if (curves[i].nthresholds < 0 || curves[i].nthresholds > PGS_ROC_PLOT_MAX_MARKS)
			return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "at most %d operating points can be marked",
							PGS_ROC_PLOT_MAX_MARKS);
		for (int t = 0; t < curves[i].nthresholds; t++)
			if (isnan(curves[i].thresholds[t]))
				return pgs_fail(err, PGS_ERR_INVALID_ARGUMENT, "threshold must not be NaN");
	}
	return PGS_OK;
}

pgs_status
pgs_roc_svg(const pgs_roc_plot_curve *curves, int ncurves, const pgs_roc_plot_options *o,
			const pgs_allocator *allocator, char **svg, size_t *len, pgs_error *err)
{
	curve_facts facts[PGS_ROC_PLOT_MAX_CURVES];
	svg_writer	w;
	plot_frame	f;
	double		top = o->title ? 48 : 24;
	pgs_status	st = check_options(ncurves, curves, o, err);

	if (st != PGS_OK)
		return st;
	for (int i = 0; i < ncurves; i++)
	{
		pgs_roc_auc auc;

		if ((st = pgs_roc_open(curves[i].data, curves[i].len, &facts[i].view, err)) != PGS_OK ||
			(st = pgs_roc_delong(&facts[i].view, true, &auc, err)) != PGS_OK)
			return st;
		facts[i].auc = auc.auc;
		facts[i].has_ci = !isnan(auc.variance);
		if (facts[i].has_ci)
			pgs_wald_interval(auc.auc, sqrt(auc.variance), o->level, 0.0, 1.0, &facts[i].lower, &facts[i].upper);
	}
	f.x0 = 72;
	f.y0 = top;
	f.side = fmin(o->width - 72 - 24, o->height - top - 56);

	pgs_buffer_init(&w.buf, allocator);
	w.failed = false;
	emit(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	emit(&w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		 "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\" font-size=\"12\" fill=\"#222\">\n",
		 o->width, o->height, o->width, o->height);
	emit(&w, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	if (o->title)
	{
		emit(&w, "<text x=\"%.1f\" y=\"30\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">",
			 f.x0 + f.side / 2);
		emit_text(&w, o->title);
		emit(&w, "</text>\n");
	}
	draw_axes(&w, &f);
	for (int i = 0; i < ncurves && st == PGS_OK; i++)
		if (!isnan(facts[i].auc))
			st = draw_curve(&w, &f, &facts[i].view, palette[i % PALETTE_SIZE], err);
	for (int i = 0; i < ncurves && st == PGS_OK; i++)
		if (!isnan(facts[i].auc))
			st = draw_marks(&w, &f, &curves[i], &facts[i].view, palette[i % PALETTE_SIZE], o, err);
	if (st == PGS_OK)
		draw_legend(&w, &f, curves, facts, ncurves, o->level);
	emit(&w, "</svg>\n");
	if (st == PGS_OK && (w.failed || pgs_buffer_append(&w.buf, "", 1) != 0))
		st = pgs_fail(err, PGS_ERR_NO_MEMORY, "out of memory while drawing a ROC plot");
	if (st != PGS_OK)
	{
		pgs_buffer_release(&w.buf);
		return st;
	}
	*svg = (char *) w.buf.data;
	*len = w.buf.len - 1;
	return PGS_OK;
}
