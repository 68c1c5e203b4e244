#ifndef TDM_CBLAS_SHIM_H
#define TDM_CBLAS_SHIM_H
#include <cblas.h>
#endif
