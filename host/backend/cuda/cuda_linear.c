/* cuda_linear.c: the classifier (fully connected layer) through cuBLAS SGEMM plus the project's bias kernels. */
#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/cuda_check.h"
#include "cuda_kernels.h"

/*
 * Row-major tensors, column-major cuBLAS. A row-major r x c matrix with leading
 * dimension c is, byte for byte, the column-major c x r matrix (its transpose) with the
 * same leading dimension. So every row-major product M = A B is computed as the
 * column-major M^T = B^T A^T, where each ^T costs nothing: it is the same buffer read
 * column-major. Shapes: x is n x in, W is out x in, y and dy are n x out.
 *
 * beta = 0 in every call: the outputs are overwritten (cuBLAS does not read C when
 * beta is zero, so stale contents cannot leak in).
 */

static const float ONE = 1.0f, ZERO = 0.0f;

void cuda_linear_fwd(backend *b, int n, int in, int out, const float *x, const float *w,
                     const float *bias, float *y)
{
    cuda_backend *cb = cuda_ctx(b);
    /* Row-major y (n x out) = x (n x in) W^T (in x out)
       <=> column-major y^T (out x n) = W (out x in) x^T (in x n).
       The buffer w, read column-major, is W^T (in x out, ld in): op = T gives W.
       The buffer x, read column-major, is x^T (in x n, ld in): op = N.
       m = out, n = n, k = in; C = y read column-major as y^T (out x n, ld out). */
    CUBLAS_CHECK(cublasSgemm(cb->cublas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &ONE, w, in, x, in, &ZERO, y, out));
    if (bias)
        cuk_bias_add(cb->stream, n, out, bias, y);
}

/* dx, dw or dbias may be NULL when that gradient is not needed (as on the CPU). */
void cuda_linear_bwd(backend *b, int n, int in, int out, const float *x, const float *w,
                     const float *dy, float *dx, float *dw, float *dbias)
{
    cuda_backend *cb = cuda_ctx(b);
    if (dx)
        /* Row-major dx (n x in) = dy (n x out) W (out x in)
           <=> column-major dx^T (in x n) = W^T (in x out) dy^T (out x n).
           Buffer w read column-major is W^T (in x out, ld in): op = N.
           Buffer dy read column-major is dy^T (out x n, ld out): op = N.
           m = in, n = n, k = out; C = dx^T (in x n, ld in). */
        CUBLAS_CHECK(cublasSgemm(cb->cublas, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &ONE, w, in, dy, out, &ZERO, dx,
                                 in));
    if (dw)
        /* Row-major dW (out x in) = dy^T (out x n) x (n x in)
           <=> column-major dW^T (in x out) = x^T (in x n) dy (n x out).
           Buffer x read column-major is x^T (in x n, ld in): op = N.
           Buffer dy read column-major is dy^T (out x n, ld out): op = T gives dy.
           m = in, n = out, k = n; C = dW^T (in x out, ld in). */
        CUBLAS_CHECK(cublasSgemm(cb->cublas, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &ONE, x, in, dy, out, &ZERO, dw,
                                 in));
    if (dbias)
        cuk_bias_grad(cb->stream, n, out, dy, dbias);
}
