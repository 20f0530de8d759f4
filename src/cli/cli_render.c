/* cli_render — tables for people, JSON for scripts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

void cli_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		printf("%s\n", s);
	free(s);
}

/* Display width of UTF-8 text: code points, which is right for our output. */
static size_t render_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void cli_table(FILE *f, const char *const *headers, int ncols, json_t *rows)
{
	size_t width[16] = {0};
	size_t i;
	json_t *row;
	if (ncols > 16)
		ncols = 16;
	for (int c = 0; c < ncols; c++)
		width[c] = strlen(headers[c]);
	json_array_foreach(rows, i, row) for (int c = 0; c < ncols; c++)
	{
		size_t w = render_width(json_string_value(json_array_get(row, (size_t)c)));
		if (w > width[c])
			width[c] = w;
	}
	for (int c = 0; c < ncols; c++)
		fprintf(f, "%-*s%s", c + 1 < ncols ? (int)width[c] : 0, headers[c],
			c + 1 < ncols ? "  " : "\n");
	json_array_foreach(rows, i, row)
	{
		for (int c = 0; c < ncols; c++) {
			const char *v = json_string_value(json_array_get(row, (size_t)c));
			v = v ? v : "";
			size_t pad = width[c] - render_width(v);
			fprintf(f, "%s", v);
			if (c + 1 < ncols)
				fprintf(f, "%*s  ", (int)pad, "");
		}
		fprintf(f, "\n");
	}
}

char *cli_ago(long long t)
{
	static char buf[64];
	long long d = (long long)time(NULL) - t;
	if (t <= 0)
		return "-";
	if (d < 60)
		snprintf(buf, sizeof(buf), "%llds ago", d < 0 ? 0 : d);
	else if (d < 3600)
		snprintf(buf, sizeof(buf), "%lldm ago", d / 60);
	else if (d < 86400)
		snprintf(buf, sizeof(buf), "%lldh ago", d / 3600);
	else
		snprintf(buf, sizeof(buf), "%lldd ago", d / 86400);
	return buf;
}
