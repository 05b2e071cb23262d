#include "base/numfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void format_double_repr(double x, char out[NUMFMT_LEN])
{
    if (!isfinite(x)) {
        snprintf(out, NUMFMT_LEN, "%s", isnan(x) ? "nan" : x > 0 ? "inf" : "-inf");
        return;
    }
    double ax = fabs(x);
    int fixed = ax == 0.0 || (ax >= 1e-4 && ax < 1e16);
    /* The correctly rounded value with the fewest digits that reads back exactly is repr's: in fixed
     * notation fewer decimals means fewer significant digits.  17 significant digits always suffice. */
    for (int digits = 0; digits <= 17 + 4; digits++) {
        snprintf(out, NUMFMT_LEN, fixed ? "%.*f" : "%.*e", digits, x);
        if (strtod(out, NULL) == x) {
            if (fixed && digits == 0)
                strcat(out, ".0");
            return;
        }
    }
}

double round_2_decimals(double x)
{
    char buf[512]; /* "%.2f" of 1.8e308 has 309 digits before the point */
    snprintf(buf, sizeof buf, "%.2f", x);
    return strtod(buf, NULL);
}
