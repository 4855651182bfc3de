// SPDX-License-Identifier: GPL-2.0
/*
 * Parsers of the command line (sizes, durations, PIDs, addresses, knob
 * assignments) and of the kernel's text files (/proc/PID/smaps headers and
 * VmFlags, /proc/PID/contig lines). All strict: trailing garbage, empty
 * strings and overflow are errors, never a silent zero.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "contigctl.h"

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex digits of @s up to @end (or the NUL) into @val; 0, -EINVAL, -ERANGE. */
static int parse_hex_digits(const char *s, const char *end, uint64_t *val)
{
	uint64_t v = 0;
	const char *p;

	if (!end)
		end = s + strlen(s);
	if (s == end)
		return -EINVAL;
	for (p = s; p < end; p++) {
		int d = hex_digit((unsigned char)*p);

		if (d < 0)
			return -EINVAL;
		if (v >> 60)
			return -ERANGE;
		v = v << 4 | d;
	}
	*val = v;
	return 0;
}

/* Decimal digits at *@p into @val, advancing *@p; 0, -EINVAL, -ERANGE. */
static int parse_dec_digits(const char **p, uint64_t *val)
{
	uint64_t v = 0;
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned int d = *s - '0';

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*p = s;
	*val = v;
	return 0;
}

/**
 * parse_size - parse a size in bytes
 * @s: digits with an optional binary suffix: K, M, G, T, P, E (powers of
 *     1024), each optionally followed by "i" and/or "B" in either case
 *     ("64M", "64MiB", "2g", "4096", "4096B"), or 0x and hex digits
 * @bytes: the result
 *
 * Return: 0, -EINVAL for anything else ("12Q", "", "-1", "1.5G"), or
 * -ERANGE when it does not fit in 64 bits.
 */
int parse_size(const char *s, uint64_t *bytes)
{
	static const char units[] = "kmgtpe";
	const char *p = s, *u;
	unsigned int shift = 0;
	uint64_t val;
	int err;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_hex_digits(s + 2, NULL, bytes);

	err = parse_dec_digits(&p, &val);
	if (err)
		return err;
	u = *p ? strchr(units, tolower((unsigned char)*p)) : NULL;
	if (u) {
		shift = 10 * (u - units + 1);
		p++;
		if (*p == 'i')
			p++;
	}
	if (*p == 'B' || *p == 'b')
		p++;
	if (*p)
		return -EINVAL;
	if (shift && val > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = val << shift;
	return 0;
}

/**
 * parse_seconds - parse a duration
 * @s: a non-negative decimal number with an optional unit: s (default),
 *     ms, m (minutes) or h ("2", "0.5", "250ms", "1.5m")
 * @secs: the result in seconds
 *
 * Return: 0 or -EINVAL.
 */
int parse_seconds(const char *s, double *secs)
{
	const char *p = s;
	double val, mult = 1;
	bool digits = false;
	char *end;

	while (isdigit((unsigned char)*p)) {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			p++;
			digits = true;
		}
	}
	if (!digits)
		return -EINVAL;
	if (!strcmp(p, "ms"))
		mult = 0.001;
	else if (!strcmp(p, "m"))
		mult = 60;
	else if (!strcmp(p, "h"))
		mult = 3600;
	else if (*p && strcmp(p, "s"))
		return -EINVAL;

	errno = 0;
	val = strtod(s, &end);
	if (errno || end != p || !isfinite(val * mult))
		return -EINVAL;
	*secs = val * mult;
	return 0;
}

/* A process ID: decimal, 1 to INT_MAX. 0 or -EINVAL. */
int parse_pid(const char *s, pid_t *pid)
{
	uint64_t val;

	if (parse_dec_digits(&s, &val) || *s || !val || val > INT_MAX)
		return -EINVAL;
	*pid = val;
	return 0;
}

/* A virtual address: hex with or without 0x, as in /proc/PID/maps. */
int parse_addr(const char *s, uint64_t *addr)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	return parse_hex_digits(s, NULL, addr);
}

/* A decimal number no larger than @max; 0, -EINVAL or -ERANGE. */
int parse_uint(const char *s, unsigned long max, unsigned long *val)
{
	uint64_t v;
	int err;

	err = parse_dec_digits(&s, &v);
	if (err)
		return err;
	if (*s)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*val = v;
	return 0;
}

/**
 * parse_knob_arg - split KNOB=VALUE
 * @arg: the argument
 * @knob: where the name goes: letters, digits and '_'
 * @knob_len: size of @knob
 * @value: set to the value inside @arg, which must be non-empty and on
 *         one line
 *
 * Return: 0 or -EINVAL.
 */
int parse_knob_arg(const char *arg, char *knob, size_t knob_len,
		   const char **value)
{
	const char *eq = strchr(arg, '=');
	size_t len, i;

	if (!eq)
		return -EINVAL;
	len = eq - arg;
	if (!len || len >= knob_len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)arg[i]) && arg[i] != '_')
			return -EINVAL;
	}
	if (!eq[1] || strchr(eq + 1, '\n'))
		return -EINVAL;
	memcpy(knob, arg, len);
	knob[len] = '\0';
	*value = eq + 1;
	return 0;
}

/*
 * A size for humans: "512B", "4K", "1.5M", "64G". Exact multiples have no
 * decimals; others one.
 */
void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	unsigned int u = 0;
	double val;

	while (u < sizeof(units) - 2 && bytes >= (1ULL << (10 * (u + 1))))
		u++;
	if (!u) {
		snprintf(buf, len, "%" PRIu64 "B", bytes);
		return;
	}
	if (!(bytes & ((1ULL << (10 * u)) - 1))) {
		snprintf(buf, len, "%" PRIu64 "%c", bytes >> (10 * u), units[u]);
		return;
	}
	val = (double)bytes / (double)(1ULL << (10 * u));
	/* 1023.96K would print as 1024.0K. */
	if (val >= 1023.95 && u < sizeof(units) - 2) {
		val /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%c", val, units[u]);
}

/**
 * maps_line_parse - parse a VMA header line of /proc/PID/maps or smaps
 * @line: "start-end perms offset major:minor inode [name]"
 * @vma: filled with start, end, perms and name; the rest is cleared
 *
 * Return: 0, or -EINVAL when @line is not such a line (an smaps field).
 */
int maps_line_parse(const char *line, struct vma_info *vma)
{
	uint64_t start, end, offset, inode;
	unsigned int major, minor;
	char perms[5];
	size_t len;
	int n = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %"
		   SCNu64 "%n", &start, &end, perms, &offset, &major, &minor,
		   &inode, &n) != 7 || !n)
		return -EINVAL;
	if (line[n] && line[n] != ' ' && line[n] != '\n')
		return -EINVAL;
	if (end < start || strlen(perms) != 4)
		return -EINVAL;

	memset(vma, 0, sizeof(*vma));
	vma->start = start;
	vma->end = end;
	memcpy(vma->perms, perms, sizeof(perms));
	line += n;
	while (*line == ' ')
		line++;
	snprintf(vma->name, sizeof(vma->name), "%s", line);
	len = strlen(vma->name);
	if (len && vma->name[len - 1] == '\n')
		vma->name[len - 1] = '\0';
	return 0;
}

/* Whether the VmFlags value @vmflags has the two-letter @mnemonic. */
bool vmflags_has(const char *vmflags, const char *mnemonic)
{
	size_t len = strlen(mnemonic);
	const char *p = vmflags;

	while (*p) {
		size_t tok;

		p += strspn(p, " \t\n");
		tok = strcspn(p, " \t\n");
		if (tok == len && !strncmp(p, mnemonic, len))
			return true;
		p += tok;
	}
	return false;
}

/*
 * Private anonymous memory: unnamed, the heap, or named with
 * PR_SET_VMA_ANON_NAME ("[anon:...]"). Not stacks, not the vdso, not
 * shared memory, not files.
 */
bool vma_is_anon(const struct vma_info *vma)
{
	if (vma->perms[3] != 'p')
		return false;
	return !vma->name[0] || !strcmp(vma->name, "[heap]") ||
	       !strncmp(vma->name, "[anon:", 6);
}

/* A non-empty string of decimal digits. */
bool is_decimal(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
	}
	return true;
}

/**
 * contig_line_parse - parse one line of /proc/PID/contig
 * @line: "start-end key=value key=value ...", range in hex without 0x
 * @cl: the result; release it with contig_line_free()
 *
 * Fields are kept in the order of the line and need not be known: a
 * kernel that adds keys needs no new contigctl. Tokens without '=' and
 * fields past CONTIG_LINE_MAX_FIELDS are ignored.
 *
 * Return: 0, -EINVAL when the line does not start with a range, -ENOMEM.
 */
int contig_line_parse(const char *line, struct contig_line *cl)
{
	char *tok, *save, *dash;

	memset(cl, 0, sizeof(*cl));
	cl->buf = strdup(line);
	if (!cl->buf)
		return -ENOMEM;

	tok = strtok_r(cl->buf, " \t\n", &save);
	if (!tok)
		goto invalid;
	dash = strchr(tok, '-');
	if (!dash || parse_hex_digits(tok, dash, &cl->start) ||
	    parse_hex_digits(dash + 1, NULL, &cl->end) || cl->end < cl->start)
		goto invalid;

	while ((tok = strtok_r(NULL, " \t\n", &save))) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok)
			continue;
		if (cl->nr == CONTIG_LINE_MAX_FIELDS)
			break;
		*eq = '\0';
		cl->key[cl->nr] = tok;
		cl->val[cl->nr] = eq + 1;
		cl->nr++;
	}
	return 0;
invalid:
	contig_line_free(cl);
	return -EINVAL;
}

/* The value of @key, or NULL; the first one wins if a key repeats. */
const char *contig_line_get(const struct contig_line *cl, const char *key)
{
	int i;

	for (i = 0; i < cl->nr; i++) {
		if (!strcmp(cl->key[i], key))
			return cl->val[i];
	}
	return NULL;
}

/* The value of @key as a number; 0, -ENOENT, or -EINVAL if not one. */
int contig_line_get_u64(const struct contig_line *cl, const char *key,
			uint64_t *val)
{
	const char *s = contig_line_get(cl, key);
	uint64_t v;

	if (!s)
		return -ENOENT;
	if (parse_dec_digits(&s, &v) || *s)
		return -EINVAL;
	*val = v;
	return 0;
}

void contig_line_free(struct contig_line *cl)
{
	free(cl->buf);
	memset(cl, 0, sizeof(*cl));
}
