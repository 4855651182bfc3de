// SPDX-License-Identifier: GPL-2.0
/*
 * Pictures of a VMA: a virtual map (its pages in address order, each cell
 * a block of pages) over a physical map (the frames from its lowest to its
 * highest PFN, each cell a block of frames). A cell shows the run its
 * pages belong to, so one run has one letter and one colour in both maps;
 * a cell that holds pieces of several runs shows how many. Pictures of the
 * same VMA taken at different times go side by side.
 *
 * On a terminal: letters, digits and '.', with 256-colour backgrounds when
 * asked. As PNG (libpng): the same maps, a few pixels per cell, labelled
 * with a small built-in font.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBPNG
#include <png.h>
#endif

#include "render.h"

#define TEXT_VIRT_ROWS		12
#define TEXT_PHYS_ROWS		6

/* Glyph of a cell: a-z for a run, 2-9 or * for pieces, '.' for nothing. */
static char cell_glyph(const struct contig_cell *cell)
{
	if (cell->run == CELL_EMPTY)
		return '.';
	if (cell->run == CELL_MIXED)
		return cell->pieces < 10 ? '0' + cell->pieces : '*';
	return 'a' + cell->run % 26;
}

/* 256-colour backgrounds light enough for a black letter. */
static const int term_palette[] = { 75, 215, 114, 183, 80, 180, 218, 228 };
#define TERM_MIXED_BG		196

/* ANSI escape that starts the colour of @cell, "" for none. */
static const char *cell_color(const struct contig_cell *cell, char *buf,
			      size_t len)
{
	int n = ARRAY_SIZE(term_palette);

	if (cell->run == CELL_EMPTY)
		snprintf(buf, len, "\033[2m");
	else if (cell->run == CELL_MIXED)
		snprintf(buf, len, "\033[1;97;48;5;%dm", TERM_MIXED_BG);
	else
		snprintf(buf, len, "\033[30;48;5;%dm",
			 term_palette[cell->run % n]);
	return buf;
}

/* A panel: lines of text, each with the number of columns it shows. */
struct text_line {
	char *s;
	int cols;
};

struct text_panel {
	struct text_line *lines;
	int nr, cap;
	int width;
	int err;
};

static void panel_add(struct text_panel *p, char *s, int cols)
{
	if (p->nr == p->cap) {
		int cap = p->cap ? p->cap * 2 : 32;
		struct text_line *bigger = realloc(p->lines,
						   cap * sizeof(*bigger));

		if (!bigger) {
			free(s);
			p->err = -ENOMEM;
			return;
		}
		p->lines = bigger;
		p->cap = cap;
	}
	p->lines[p->nr].s = s;
	p->lines[p->nr].cols = cols;
	p->nr++;
}

/* A line of plain text, cut to the panel's width. */
static void __printf(2, 3)
panel_text(struct text_panel *p, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->err = -ENOMEM;
		return;
	}
	if (n > p->width) {
		s[p->width] = '\0';
		n = p->width;
	}
	panel_add(p, s, n);
}

/* Lines of cells, @width per line. */
static void panel_cells(struct text_panel *p, const struct contig_cell *cells,
			int nr, bool color)
{
	int i, j;

	for (i = 0; i < nr; i += p->width) {
		int n = nr - i < p->width ? nr - i : p->width;
		size_t len = 0, cap = n * 24 + 8;
		char *s = malloc(cap), prev[32] = "", cur[32];

		if (!s) {
			p->err = -ENOMEM;
			return;
		}
		for (j = 0; j < n; j++) {
			const struct contig_cell *cell = &cells[i + j];

			if (color && strcmp(cell_color(cell, cur, sizeof(cur)),
					    prev)) {
				len += snprintf(s + len, cap - len, "\033[0m%s",
						cur);
				snprintf(prev, sizeof(prev), "%s", cur);
			}
			s[len++] = cell_glyph(cell);
		}
		if (color)
			len += snprintf(s + len, cap - len, "\033[0m");
		s[len] = '\0';
		panel_add(p, s, n);
	}
}

static void panel_free(struct text_panel *p)
{
	int i;

	for (i = 0; i < p->nr; i++)
		free(p->lines[i].s);
	free(p->lines);
}

/* Build the panel of one view. */
static int panel_build(struct text_panel *p, const struct map_view *v,
		       int width, bool color)
{
	int nr_virt = width * TEXT_VIRT_ROWS, nr_phys = width * TEXT_PHYS_ROWS;
	struct contig_cell *cells;
	uint64_t lo, hi;
	int n;

	memset(p, 0, sizeof(*p));
	p->width = width;
	cells = calloc(nr_virt > nr_phys ? nr_virt : nr_phys, sizeof(*cells));
	if (!cells)
		return -ENOMEM;

	if (v->title)
		panel_text(p, "%s", v->title);
	n = contig_cells_virtual(v->runs, v->nr_runs, v->pages, cells,
				 nr_virt);
	if (n < 0)
		goto out;
	panel_text(p, "virtual, cell = %" PRIu64 " page%s",
		   div_round_up(v->pages, nr_virt),
		   div_round_up(v->pages, nr_virt) == 1 ? "" : "s");
	panel_cells(p, cells, n, color);

	n = contig_cells_physical(v->runs, v->nr_runs, &lo, &hi, cells,
				  nr_phys);
	if (n < 0)
		goto out;
	if (!n) {
		panel_text(p, "physical: nothing resident");
	} else {
		panel_text(p, "physical, cell = %" PRIu64 " frame%s",
			   div_round_up(hi - lo, nr_phys),
			   div_round_up(hi - lo, nr_phys) == 1 ? "" : "s");
		panel_text(p, "pfn 0x%" PRIx64 "-0x%" PRIx64, lo, hi);
		panel_cells(p, cells, n, color);
	}
	panel_text(p, "resident %" PRIu64 "/%" PRIu64, v->st.resident,
		   v->pages);
	panel_text(p, "runs %" PRIu64 " largest %" PRIu64 " R99 %" PRIu64,
		   v->st.runs, v->st.largest, v->st.r99);
out:
	free(cells);
	if (n < 0)
		return n;
	return p->err;
}

/* Printed under the maps by render_text(). */
static const char text_legend[] =
	"legend: a-z one run each (letters repeat), 2-9 pieces of that many runs in a cell,\n"
	"        * ten or more, . nothing of this VMA\n";

/**
 * render_text - draw @nr_views pictures side by side
 * @f: the stream
 * @views: the pictures
 * @nr_views: 1 or 2
 * @width: cells per line of each picture
 * @color: use ANSI colours
 *
 * Return: 0 or -ENOMEM.
 */
int render_text(FILE *f, const struct map_view *views, int nr_views,
		int width, bool color)
{
	struct text_panel panels[2];
	int i, line, lines = 0, err = 0;

	if (nr_views < 1 || nr_views > 2)
		return -EINVAL;
	for (i = 0; i < nr_views; i++) {
		err = panel_build(&panels[i], &views[i], width, color);
		if (err) {
			while (i >= 0)
				panel_free(&panels[i--]);
			return err;
		}
		if (panels[i].nr > lines)
			lines = panels[i].nr;
	}
	for (line = 0; line < lines; line++) {
		for (i = 0; i < nr_views; i++) {
			const struct text_panel *p = &panels[i];
			int cols = 0;

			if (line < p->nr) {
				fputs(p->lines[line].s, f);
				cols = p->lines[line].cols;
			}
			/* Pad all but the last column of pictures. */
			if (i < nr_views - 1)
				fprintf(f, "%*s", width - cols + 4, "");
		}
		fputc('\n', f);
	}
	fputs(text_legend, f);
	for (i = 0; i < nr_views; i++)
		panel_free(&panels[i]);
	return 0;
}

#ifdef HAVE_LIBPNG

#define PNG_GRID_W		512	/* pixels across one map */
#define PNG_GRID_H		256	/* most pixels down one map */
#define PNG_MARGIN		12
#define PNG_LABEL_H		16	/* a line of text and some space */
#define PNG_FONT_SCALE		2

struct rgb {
	unsigned char r, g, b;
};

static const struct rgb png_palette[] = {
	{ 55, 126, 184 }, { 255, 127, 0 }, { 77, 175, 74 }, { 152, 78, 163 },
	{ 0, 150, 150 }, { 166, 86, 40 }, { 247, 129, 191 }, { 140, 160, 30 },
	{ 40, 60, 140 }, { 230, 170, 0 }, { 100, 180, 230 }, { 150, 210, 90 },
};

static const struct rgb png_background = { 255, 255, 255 };
static const struct rgb png_empty = { 228, 228, 228 };
static const struct rgb png_ink = { 32, 32, 32 };

/*
 * A 3x5 font for the labels: each glyph is five rows of three pixels,
 * written out as '1' (ink) and '0'.
 */
static const struct {
	char c;
	const char *rows;
} png_font[] = {
	{ 'A', "010101111101101" }, { 'B', "110101110101110" },
	{ 'C', "011100100100011" }, { 'D', "110101101101110" },
	{ 'E', "111100110100111" }, { 'F', "111100110100100" },
	{ 'G', "011100101101011" }, { 'H', "101101111101101" },
	{ 'I', "111010010010111" }, { 'J', "001001001101010" },
	{ 'K', "101101110101101" }, { 'L', "100100100100111" },
	{ 'M', "101111111101101" }, { 'N', "110101101101101" },
	{ 'O', "010101101101010" }, { 'P', "110101110100100" },
	{ 'Q', "010101101110011" }, { 'R', "110101110101101" },
	{ 'S', "011100010001110" }, { 'T', "111010010010010" },
	{ 'U', "101101101101111" }, { 'V', "101101101101010" },
	{ 'W', "101101111111101" }, { 'X', "101101010101101" },
	{ 'Y', "101101010010010" }, { 'Z', "111001010100111" },
	{ '0', "111101101101111" }, { '1', "010110010010111" },
	{ '2', "110001010100111" }, { '3', "110001010001110" },
	{ '4', "101101111001001" }, { '5', "111100110001110" },
	{ '6', "011100111101111" }, { '7', "111001010010010" },
	{ '8', "111101111101111" }, { '9', "111101111001110" },
	{ '-', "000000111000000" }, { '=', "000111000111000" },
	{ '.', "000000000000010" }, { ':', "000010000010000" },
	{ '/', "001001010100100" }, { ',', "000000000010100" },
};

struct image {
	unsigned char *px;
	int w, h;
};

static void put_pixel(struct image *img, int x, int y, struct rgb c)
{
	unsigned char *p;

	if (x < 0 || y < 0 || x >= img->w || y >= img->h)
		return;
	p = img->px + ((size_t)y * img->w + x) * 3;
	p[0] = c.r;
	p[1] = c.g;
	p[2] = c.b;
}

static void fill_rect(struct image *img, int x, int y, int w, int h,
		      struct rgb c)
{
	int i, j;

	for (j = 0; j < h; j++)
		for (i = 0; i < w; i++)
			put_pixel(img, x + i, y + j, c);
}

/* Draw @s (upper-cased) at (@x, @y); unknown characters are blanks. */
static void draw_text(struct image *img, int x, int y, const char *s)
{
	int nglyphs = ARRAY_SIZE(png_font);
	int s_ = PNG_FONT_SCALE;

	for (; *s; s++, x += 4 * s_) {
		char c = *s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s;
		int g, bit;

		for (g = 0; g < nglyphs && png_font[g].c != c; g++)
			;
		if (g == nglyphs)
			continue;
		for (bit = 0; bit < 15; bit++) {
			if (png_font[g].rows[bit] == '1')
				fill_rect(img, x + bit % 3 * s_,
					  y + bit / 3 * s_, s_, s_, png_ink);
		}
	}
}

static struct rgb cell_rgb(const struct contig_cell *cell)
{
	int n = ARRAY_SIZE(png_palette);
	struct rgb c;
	unsigned int k;

	if (cell->run == CELL_EMPTY)
		return png_empty;
	if (cell->run >= 0)
		return png_palette[cell->run % n];
	/* Pieces of several runs: from light red (2) to dark red (16+). */
	k = cell->pieces > 16 ? 16 : cell->pieces;
	c.r = 250 - (k - 2) * 8;
	c.g = 150 - (k - 2) * 10;
	c.b = c.g;
	return c;
}

/*
 * Pick the size of a cell in pixels: the largest that fits every unit
 * (page or frame) in its own cell; when none does, 2 pixels and several
 * units per cell.
 */
static int grid_cell_px(uint64_t units)
{
	int px;

	for (px = 32; px > 2; px /= 2) {
		if (units <= (uint64_t)(PNG_GRID_W / px) * (PNG_GRID_H / px))
			break;
	}
	return px;
}

static void draw_cells(struct image *img, int x, int y,
		       const struct contig_cell *cells, int nr, int px)
{
	int cols = PNG_GRID_W / px, i;

	for (i = 0; i < nr; i++)
		fill_rect(img, x + i % cols * px, y + i / cols * px, px, px,
			  cell_rgb(&cells[i]));
}

/* Draw one view with its top-left corner at (@x, @y). */
static int draw_view(struct image *img, int x, int y,
		     const struct map_view *v, struct contig_cell *cells)
{
	int px, n, cap;
	uint64_t lo, hi;
	char label[128];

	if (v->title)
		draw_text(img, x, y, v->title);
	y += PNG_LABEL_H;

	px = grid_cell_px(v->pages);
	cap = (PNG_GRID_W / px) * (PNG_GRID_H / px);
	n = contig_cells_virtual(v->runs, v->nr_runs, v->pages, cells, cap);
	if (n < 0)
		return n;
	snprintf(label, sizeof(label), "virtual: %" PRIu64 " pages, runs %"
		 PRIu64 ", R99 %" PRIu64, v->pages, v->st.runs, v->st.r99);
	draw_text(img, x, y, label);
	draw_cells(img, x, y + PNG_LABEL_H, cells, n, px);
	y += PNG_LABEL_H + PNG_GRID_H + PNG_MARGIN;

	n = contig_cells_physical(v->runs, v->nr_runs, &lo, &hi, cells, 1);
	if (n < 0)
		return n;
	px = grid_cell_px(hi - lo);
	cap = (PNG_GRID_W / px) * (PNG_GRID_H / px);
	n = contig_cells_physical(v->runs, v->nr_runs, &lo, &hi, cells, cap);
	if (n < 0)
		return n;
	snprintf(label, sizeof(label), "physical: pfn %" PRIx64 "-%" PRIx64,
		 lo, hi);
	draw_text(img, x, y, n ? label : "physical: nothing resident");
	draw_cells(img, x, y + PNG_LABEL_H, cells, n, px);
	return 0;
}

struct png_state {
	png_structp png;
	png_infop info;
	FILE *f;
};

/*
 * Encode @img into @s->f. libpng reports errors by longjmp() back to the
 * setjmp() here, which then returns -EIO at once: no local that changes
 * after setjmp() is read after the jump, so none needs to be volatile.
 * The jump buffer is dead once this returns: png_destroy_write_struct()
 * is the only libpng call to make on @s afterwards.
 *
 * Return: 0, or -EIO if libpng failed.
 */
static int write_png_image(const struct png_state *s, const struct image *img)
{
	int y;

	if (setjmp(png_jmpbuf(s->png)))
		return -EIO;
	png_init_io(s->png, s->f);
	png_set_IHDR(s->png, s->info, img->w, img->h, 8, PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_write_info(s->png, s->info);
	for (y = 0; y < img->h; y++)
		png_write_row(s->png, img->px + (size_t)y * img->w * 3);
	png_write_end(s->png, NULL);
	return 0;
}

/* Write @img to the file @path; it is removed if that fails. */
static int write_png(const char *path, struct image *img)
{
	struct png_state s = { NULL, NULL, NULL };
	int err = -EIO;

	s.f = fopen(path, "wb");
	if (!s.f)
		return -errno;
	s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL,
					NULL);
	if (!s.png)
		goto out;
	s.info = png_create_info_struct(s.png);
	if (!s.info)
		goto out;
	err = write_png_image(&s, img);
out:
	png_destroy_write_struct(&s.png, &s.info);
	if (fclose(s.f) && !err)
		err = -errno;
	if (err)
		unlink(path);
	return err;
}

/**
 * render_png - write @nr_views pictures side by side as a PNG file
 * @path: the file
 * @views: the pictures
 * @nr_views: 1 or 2
 *
 * Return: 0 or -errno.
 */
int render_png(const char *path, const struct map_view *views, int nr_views)
{
	int max_cells = (PNG_GRID_W / 2) * (PNG_GRID_H / 2);
	int view_h = 3 * PNG_LABEL_H + 2 * PNG_GRID_H + PNG_MARGIN;
	struct contig_cell *cells;
	struct image img;
	int i, err = 0;

	if (nr_views < 1 || nr_views > 2)
		return -EINVAL;
	img.w = PNG_MARGIN + nr_views * (PNG_GRID_W + PNG_MARGIN);
	img.h = 2 * PNG_MARGIN + view_h;
	img.px = malloc((size_t)img.w * img.h * 3);
	cells = calloc(max_cells, sizeof(*cells));
	if (!img.px || !cells) {
		err = -ENOMEM;
		goto out;
	}
	fill_rect(&img, 0, 0, img.w, img.h, png_background);
	for (i = 0; i < nr_views && !err; i++)
		err = draw_view(&img, PNG_MARGIN + i * (PNG_GRID_W + PNG_MARGIN),
				PNG_MARGIN, &views[i], cells);
	if (!err)
		err = write_png(path, &img);
out:
	free(cells);
	free(img.px);
	return err;
}

bool render_png_supported(void)
{
	return true;
}

#else /* !HAVE_LIBPNG */

int render_png(const char *path, const struct map_view *views, int nr_views)
{
	(void)path;
	(void)views;
	(void)nr_views;
	return -EOPNOTSUPP;
}

bool render_png_supported(void)
{
	return false;
}

#endif /* HAVE_LIBPNG */
