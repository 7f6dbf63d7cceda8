// BLAS (OpenBLAS's CBLAS interface) and LAPACK (LAPACKE's C interface).
#ifndef SPECTRALRNN_CLAPACK_SHIM_H
#define SPECTRALRNN_CLAPACK_SHIM_H
#include <cblas.h>
#include <lapacke.h>
#endif
