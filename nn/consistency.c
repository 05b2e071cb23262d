#include "nn/consistency.h"

#include <math.h>

/* log-sum-exp of a row, in double */
static double row_lse(const float *z, int V)
{
    double mx = -INFINITY, s = 0.0;
    for (int v = 0; v < V; v++)
        mx = fmax(mx, z[v]);
    for (int v = 0; v < V; v++)
        s += exp(z[v] - mx);
    return mx + log(s);
}

double kl_to_target(const float *z, const float *target, float *dz, int rows, int V, double scale, int accumulate)
{
    double total = 0.0;
    for (long n = 0; n < rows; n++) {
        const float *zr = z + n * V, *tr = target + n * V;
        const double lz = row_lse(zr, V), lt = row_lse(tr, V);
        double kl = 0.0;
        for (int v = 0; v < V; v++) {
            const double lq = tr[v] - lt, lp = zr[v] - lz, q = exp(lq);
            kl += q * (lq - lp);
            if (dz) { /* z[v] is read above before dz[v] (= z[v] in place) is written */
                const float g = (float)(scale * (exp(lp) - q));
                dz[n * V + v] = accumulate ? dz[n * V + v] + g : g;
            }
        }
        total += kl;
    }
    return scale * total;
}
