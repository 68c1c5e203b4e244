/* Times MPI_Allreduce (float sum, in place) for a few message sizes: the gradient exchange of a
 * data-parallel step. A measurement helper for docs/cluster.md, not part of the build.
 *   mpicc -O2 scripts/allreduce_bench.c -o /tmp/allreduce_bench
 *   mpirun -np 2 --oversubscribe --allow-run-as-root /tmp/allreduce_bench 1673000 16000000 64000000 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int a = 1; a < argc; a++) {
        long n = atol(argv[a]);
        float *g = malloc(sizeof(float) * n);
        for (long i = 0; i < n; i++) g[i] = (float)(i % 7) * 1e-3f;
        enum { REPS = 7 };
        double t[REPS];
        MPI_Allreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); /* warm-up */
        for (int r = 0; r < REPS; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            t[r] = MPI_Wtime() - t0;
        }
        qsort(t, REPS, sizeof(double), cmp);
        if (rank == 0)
            printf("%d ranks, %ld floats (%.1f MB): median %.3f ms, min %.3f ms, %.2f GB/s algorithm bandwidth\n",
                   size, n, n * 4 / 1e6, t[REPS / 2] * 1e3, t[0] * 1e3, n * 4 / t[REPS / 2] / 1e9);
        free(g);
    }
    MPI_Finalize();
    return 0;
}
