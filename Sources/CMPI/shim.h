// Open MPI for Swift: the C API, plus the handles and constants that are macros in mpi.h (Swift
// cannot import them), wrapped as inline functions.
#ifndef TDM_CMPI_SHIM_H
#define TDM_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm tdm_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype tdm_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype tdm_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype tdm_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype tdm_mpi_int(void) { return MPI_INT; }
static inline MPI_Op tdm_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op tdm_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op tdm_mpi_min(void) { return MPI_MIN; }
static inline void *tdm_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int tdm_mpi_success(void) { return MPI_SUCCESS; }
#endif
