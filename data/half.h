/* IEEE 754 binary16 ("float16") conversion, for features stored at half precision: HDF5 would convert
 * too, but a type conversion during a write turns collective parallel I/O off, so mixphm converts in
 * memory and writes the stored type as is. */
#ifndef MIXPHM_DATA_HALF_H
#define MIXPHM_DATA_HALF_H

#include <stddef.h>
#include <stdint.h>

/* Round to nearest even; overflow gives infinity, NaN stays NaN. */
uint16_t half_from_float(float f);
float half_to_float(uint16_t h);
void half_from_floats(const float *in, uint16_t *out, size_t n);
void half_to_floats(const uint16_t *in, float *out, size_t n);

#endif
