#include "base/numfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void format_double_repr(double x, char out[NUMFMT_LEN])
{
    double ax = fabs(x);
    if (!isfinite(x) || (ax != 0.0 && (ax < 1e-4 || ax >= 1e16))) {
        snprintf(out, NUMFMT_LEN, "%.17g", x);
        return;
    }
    /* The correctly rounded value with the fewest decimals that reads back exactly is repr's digits:
     * in fixed notation fewer decimals means fewer significant digits. */
    for (int decimals = 0; decimals <= 17 + 4; decimals++) {
        snprintf(out, NUMFMT_LEN, "%.*f", decimals, x);
        if (strtod(out, NULL) == x) {
            if (decimals == 0)
                strcat(out, ".0");
            return;
        }
    }
    snprintf(out, NUMFMT_LEN, "%.17g", x); /* not reached: 21 decimals always read back */
}

double round_2_decimals(double x)
{
    char buf[512]; /* "%.2f" of 1.8e308 has 309 digits before the point */
    snprintf(buf, sizeof buf, "%.2f", x);
    return strtod(buf, NULL);
}
