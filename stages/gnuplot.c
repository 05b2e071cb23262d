#include "stages/gnuplot.h"

#include <stdio.h>
#include <string.h>

#include "base/fileio.h"

int gnuplot_run(const char *dir, const char *script, struct err *e)
{
    char cmd[3 * PATH_MAX_LEN];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot '%s' 2>&1", dir, script);
    FILE *p = popen(cmd, "r");
    char out[512] = "", line[256];
    while (p && fgets(line, sizeof line, p))
        if (strlen(out) + strlen(line) < sizeof out)
            strcat(out, line);
    int status = p ? pclose(p) : -1;
    if (status != 0)
        return err_set(e, "gnuplot could not render the plot (install gnuplot-nox; then run `gnuplot %s` in %s): %s",
                       script, dir, out[0] ? out : "not found");
    return 0;
}

const char *const gnuplot_extensions[GNUPLOT_FORMATS] = {"png", "svg", "pdf"};

void gnuplot_output(FILE *f, int format, int width, int height, const char *stem, const char *suffix)
{
    if (format == 2)
        fprintf(f, "set terminal pdfcairo size %.2fin,%.2fin\n", width / 100.0, height / 100.0);
    else
        fprintf(f, "set terminal %s size %d,%d\n", format == 0 ? "pngcairo" : "svg", width, height);
    fprintf(f, "set output \"%s.%s%s\"\n", stem, gnuplot_extensions[format], suffix);
}

int gnuplot_key(FILE *f, int n_series, int base_height)
{
    if (n_series <= GNUPLOT_KEY_RIGHT_MAX) {
        fprintf(f, "set key outside right top\n");
        return base_height;
    }
    fprintf(f, "set key outside below center horizontal maxcols %d samplen 2 font \",9\"\n", GNUPLOT_KEY_COLUMNS);
    const int rows = (n_series + GNUPLOT_KEY_COLUMNS - 1) / GNUPLOT_KEY_COLUMNS;
    return base_height + rows * GNUPLOT_KEY_ROW_PX;
}

void gnuplot_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
