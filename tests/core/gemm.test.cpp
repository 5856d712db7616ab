#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "maunet/core/gemm.hpp"
#include "maunet/core/random.hpp"
#include "maunet/core/threading.hpp"
#include "support/gradcheck.hpp"

using namespace maunet;

namespace {

template <class T>
std::vector<T> random_vector(Index n, std::uint64_t seed) {
    Rng rng(seed);
    std::vector<T> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = static_cast<T>(rng.uniform(-1.0, 1.0));
    return v;
}

// The obviously correct reference, in double: C = alpha op(A) op(B) + beta C (beta == 0 ignores C).
template <class T>
void naive_gemm(bool ta, bool tb, Index M, Index N, Index K, double alpha, const T* A, Index lda, const T* B,
                Index ldb, double beta, T* C, Index ldc) {
    for (Index m = 0; m < M; ++m)
        for (Index n = 0; n < N; ++n) {
            double s = 0;
            for (Index k = 0; k < K; ++k) {
                const double a = ta ? A[k * lda + m] : A[m * lda + k];
                const double b = tb ? B[n * ldb + k] : B[k * ldb + n];
                s += a * b;
            }
            const double c = beta == 0 ? 0.0 : beta * static_cast<double>(C[m * ldc + n]);
            C[m * ldc + n] = static_cast<T>(alpha * s + c);
        }
}

template <class T>
void check_against_naive(bool ta, bool tb, Index M, Index N, Index K, Index pad, T alpha, T beta, double tol) {
    const Index lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    const auto A = random_vector<T>((ta ? K : M) * lda, 11);
    const auto B = random_vector<T>((tb ? N : K) * ldb, 12);
    auto C = random_vector<T>(M * ldc, 13);
    auto expected = C;
    gemm<T>(ta ? MatrixOp::transposed : MatrixOp::as_is, tb ? MatrixOp::transposed : MatrixOp::as_is, M, N, K, alpha,
            A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
    naive_gemm<T>(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, expected.data(), ldc);
    double worst = 0;
    for (std::size_t i = 0; i < C.size(); ++i)
        worst = maunet::testing::max_or_nan(worst, std::abs(static_cast<double>(C[i]) - static_cast<double>(expected[i])));
    INFO("backend " << gemm_backend() << ", trans_a " << ta << ", trans_b " << tb << ", M=" << M << " N=" << N
                    << " K=" << K << " pad=" << pad << " alpha=" << alpha << " beta=" << beta);
    CHECK(worst < tol);  // also checks that the padding between rows was left alone
}

}  // namespace

TEST_CASE("gemm matches a naive triple loop for every transpose and stride", "[core][gemm]") {
    // {9, 67, 300}: K past one block of 256 (a second block starting at pc = 256), and with B
    // transposed whole panels packed by blocks of lanes plus a tail of k and a partial panel.
    // {20, 64, 1100} and {13, 50, 2100}: narrow B, whose K blocks grow past 256 with AVX-512
    // (gemm_k_block: 2 and 3 blocks in float, 3 and 5 in double), A's rows prefetched into the
    // next strip and not past the last. B not transposed and exactly one panel wide (N = 4, 8,
    // 16, 32, 64: a panel's width for some instruction set and type) is read in place with pad 0
    // and packed with pad 3.
    const std::vector<std::array<Index, 3>> sizes = {{1, 1, 1},     {3, 5, 7},     {7, 3, 5},      {16, 9, 33},
                                                     {65, 70, 40},  {9, 67, 300},  {20, 64, 1100}, {13, 50, 2100},
                                                     {6, 4, 9},     {5, 8, 40},    {7, 16, 300},   {11, 32, 700}};
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (const auto& s : sizes)
                for (Index pad : {0, 3}) {
                    check_against_naive<double>(ta, tb, s[0], s[1], s[2], pad, 1.0, 0.0, 1e-12);
                    check_against_naive<double>(ta, tb, s[0], s[1], s[2], pad, -0.5, 1.0, 1e-12);
                    check_against_naive<double>(ta, tb, s[0], s[1], s[2], pad, 2.0, 0.25, 1e-12);
                    check_against_naive<float>(ta, tb, s[0], s[1], s[2], pad, 1.0f, 0.0f, 1e-4);
                    check_against_naive<float>(ta, tb, s[0], s[1], s[2], pad, 1.5f, -1.0f, 1e-4);
                }
}

TEST_CASE("gemm on hand-computed values", "[core][gemm]") {
    // [1 2 3; 4 5 6] * [1 0; 0 1; 1 1] = [4 5; 10 11]
    const std::vector<double> A = {1, 2, 3, 4, 5, 6}, B = {1, 0, 0, 1, 1, 1};
    std::vector<double> C(4, 100.0);
    gemm<double>(MatrixOp::as_is, MatrixOp::as_is, 2, 2, 3, 1.0, A.data(), 3, B.data(), 2, 0.0, C.data(), 2);
    CHECK(C == std::vector<double>{4, 5, 10, 11});
    // A^T A for A = [1 2 3; 4 5 6] (trans_a): [17 22 27; 22 29 36; 27 36 45], accumulated onto 1s.
    std::vector<double> D(9, 1.0);
    gemm<double>(MatrixOp::transposed, MatrixOp::as_is, 3, 3, 2, 1.0, A.data(), 3, A.data(), 3, 1.0, D.data(), 3);
    CHECK(D == std::vector<double>{18, 23, 28, 23, 30, 37, 28, 37, 46});
}

TEST_CASE("gemm with beta 0 overwrites C without reading it, and handles empty sizes", "[core][gemm]") {
    const std::vector<float> A = {1, 2}, B = {3, 4};
    std::vector<float> C = {std::numeric_limits<float>::quiet_NaN()};
    gemm<float>(MatrixOp::as_is, MatrixOp::as_is, 1, 1, 2, 1.0f, A.data(), 2, B.data(), 1, 0.0f, C.data(), 1);
    CHECK(C[0] == 11.0f);
    // K == 0: C = beta * C.
    std::vector<float> D = {2, 4};
    gemm<float>(MatrixOp::as_is, MatrixOp::as_is, 1, 2, 0, 1.0f, A.data(), 1, B.data(), 2, 0.5f, D.data(), 2);
    CHECK(D == std::vector<float>{1, 2});
    // M == 0 or N == 0: nothing to do, nothing touched.
    gemm<float>(MatrixOp::as_is, MatrixOp::as_is, 0, 2, 2, 1.0f, A.data(), 2, B.data(), 2, 0.0f, D.data(), 2);
    gemm<float>(MatrixOp::as_is, MatrixOp::as_is, 1, 0, 2, 1.0f, A.data(), 2, B.data(), 1, 0.0f, D.data(), 1);
    CHECK(D == std::vector<float>{1, 2});
}

TEST_CASE("gemm inside a parallel region gives the same results as outside", "[core][gemm][threads]") {
    const Index M = 40, N = 50, K = 60, jobs = 6;
    const auto A = random_vector<double>(jobs * M * K, 21);
    const auto B = random_vector<double>(K * N, 22);
    std::vector<double> serial(static_cast<std::size_t>(jobs * M * N)), parallel(serial.size());
    for (Index j = 0; j < jobs; ++j)
        gemm<double>(MatrixOp::as_is, MatrixOp::as_is, M, N, K, 1.0, A.data() + j * M * K, K, B.data(), N, 0.0, serial.data() + j * M * N,
                     N);
    parallel_for(0, jobs, [&](std::ptrdiff_t j) {
        gemm<double>(MatrixOp::as_is, MatrixOp::as_is, M, N, K, 1.0, A.data() + j * M * K, K, B.data(), N, 0.0,
                     parallel.data() + j * M * N, N);
    });
    double worst = 0;
    for (std::size_t i = 0; i < serial.size(); ++i) worst = maunet::testing::max_or_nan(worst, std::abs(serial[i] - parallel[i]));
    CHECK(worst < 1e-12);
}

TEST_CASE("gemm rejects negative sizes and short leading dimensions", "[core][gemm][errors]") {
    std::vector<double> buf(64, 0.0);
    const double* p = buf.data();
    CHECK_THROWS_AS(gemm<double>(MatrixOp::as_is, MatrixOp::as_is, -1, 2, 2, 1.0, p, 2, p, 2, 0.0, buf.data(), 2), ArgumentError);
    CHECK_THROWS_WITH(gemm<double>(MatrixOp::as_is, MatrixOp::as_is, 2, 3, 4, 1.0, p, 3, p, 3, 0.0, buf.data(), 3),
                      Catch::Contains("lda must be >= 4"));
    CHECK_THROWS_WITH(gemm<double>(MatrixOp::transposed, MatrixOp::as_is, 2, 3, 4, 1.0, p, 1, p, 3, 0.0, buf.data(), 3),
                      Catch::Contains("lda must be >= 2"));
    CHECK_THROWS_WITH(gemm<double>(MatrixOp::as_is, MatrixOp::transposed, 2, 3, 4, 1.0, p, 4, p, 3, 0.0, buf.data(), 3),
                      Catch::Contains("ldb must be >= 4"));
    CHECK_THROWS_WITH(gemm<double>(MatrixOp::as_is, MatrixOp::as_is, 2, 3, 4, 1.0, p, 4, p, 3, 0.0, buf.data(), 2),
                      Catch::Contains("ldc must be >= 3"));
}

TEST_CASE("gemm reports the backend the build selected", "[core][gemm]") {
#if defined(MAUNET_USE_BLAS)
    CHECK(std::string(gemm_backend()) == "blas");
#elif MAUNET_HAVE_AVX2_KERNELS
    const Isa isa = kernel_isa();
    CHECK(std::string(gemm_backend()) ==
          (isa == Isa::avx512 ? "packed-avx512" : isa == Isa::avx2 ? "packed-avx2" : "packed-generic"));
#else
    CHECK(std::string(gemm_backend()) == "packed-generic");
#endif
}
