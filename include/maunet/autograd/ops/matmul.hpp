// maunet/autograd/ops/matmul.hpp: the matrix product of two rank-2 variables.
//
//   C = A B,   A [M, K], B [K, N], C [M, N]:   C[m, n] = sum_k A[m, k] B[k, n]
//   dL/dA[m, k] = sum_n G[m, n] B[k, n]   ->  dA = G B^T    [M, K]
//   dL/dB[k, n] = sum_m A[m, k] G[m, n]   ->  dB = A^T G    [K, N]
// where G = dL/dC. Both products go through maunet::gemm (core/gemm.hpp) with beta = 1, so
// they accumulate into the gradient buffers without temporaries.
#pragma once

#include "maunet/autograd/variable.hpp"
#include "maunet/core/gemm.hpp"

namespace maunet {

template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
    const Tensor<T>& av = a.value();
    const Tensor<T>& bv = b.value();
    require_shape(av.rank() == 2 && bv.rank() == 2, "matmul: expected two matrices (rank 2), got shapes ",
                  av.shape(), " and ", bv.shape());
    const Index M = av.dim(0), K = av.dim(1), N = bv.dim(1);
    require_shape(bv.dim(0) == K, "matmul: inner dimensions differ: ", av.shape(), " times ", bv.shape(),
                  " needs ", K, " == ", bv.dim(0));
    Tensor<T> c(Shape{M, N});
    gemm<T>(MatrixOp::as_is, MatrixOp::as_is, M, N, K, T(1), av.data(), std::max<Index>(K, 1), bv.data(), std::max<Index>(N, 1), T(0),
            c.data(), std::max<Index>(N, 1));
    return autograd::record<T>("matmul", std::move(c), {a, b}, [M, N, K](const autograd::BackwardContext<T>& ctx) {
        const Tensor<T>& g = ctx.grad_output();
        const Index lk = std::max<Index>(K, 1), ln = std::max<Index>(N, 1);
        if (ctx.needs_grad(0))  // dA += G B^T
            gemm<T>(MatrixOp::as_is, MatrixOp::transposed, M, K, N, T(1), g.data(), ln, ctx.input(1).data(), ln, T(1), ctx.grad(0).data(),
                    lk);
        if (ctx.needs_grad(1))  // dB += A^T G
            gemm<T>(MatrixOp::transposed, MatrixOp::as_is, K, N, M, T(1), ctx.input(0).data(), lk, g.data(), ln, T(1), ctx.grad(1).data(),
                    ln);
    });
}

}  // namespace maunet
