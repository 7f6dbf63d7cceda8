// BLAS (OpenBLAS's CBLAS interface) and LAPACK (LAPACKE's C interface).
#ifndef SPECTRALRNN_CLAPACK_SHIM_H
#define SPECTRALRNN_CLAPACK_SHIM_H
#include <cblas.h>
#include <lapacke.h>
/// OpenBLAS (exported, not in its headers): stops its server threads; a later threaded call would start them again.
int blas_thread_shutdown_(void);
#endif
