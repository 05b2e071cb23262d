/* Numbers as Python prints them, for JSON outputs that must read like the Python tools' outputs. */
#ifndef MIXPHM_BASE_NUMFMT_H
#define MIXPHM_BASE_NUMFMT_H

#include <stddef.h>

#define NUMFMT_LEN 40

/* repr(float): the shortest decimal that reads back as the same double ("55.12", not
 * "55.119999999999997"), with ".0" on whole numbers ("100.0"); fixed notation for 1e-4 <= |x| < 1e16,
 * else "1e-05", "1.5e+16" as Python writes them.  Non-finite values give "nan", "inf", "-inf" (which
 * are not JSON). */
void format_double_repr(double x, char out[NUMFMT_LEN]);
/* Python's round(x, 2), which is float(f"{x:.2f}") too: the exact binary value rounded to 2 decimals,
 * ties to even, read back as a double.  glibc's printf rounds the same way. */
double round_2_decimals(double x);

#endif
