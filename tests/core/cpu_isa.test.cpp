// Runtime instruction-set dispatch (cpu_isa.hpp): MAUNET_ISA parsing and its errors, and every
// kernel path this CPU supports (direct, Winograd and GEMM convolution forward, dx and dW; the
// GEMM itself) against the generic kernels.
//
// Tolerance. The paths compute the same sums, in float, in a different order and with or without
// fused multiply-adds. A sum of n products computed in any order is within gamma_n S of the exact
// value, gamma_n = n u / (1 - n u), u = 2^-24, S = the sum of the products' absolute values (Higham,
// Accuracy and Stability of Numerical Algorithms, 3.1), so two paths differ by at most 2 gamma_n S.
// S is computed exactly enough by running the same op in double on |x|, |w| with upstream gradient
// |dL/dy|. Winograd sums transformed values instead of products: |B^T d B| <= 4 max|d| and
// |G g G^T| <= 9/4 max|g| per position, and A^T M A adds 9 positions, so its terms are bounded by
// 81 S; both Winograd paths use the same transforms, so their difference stays within 2 gamma_n 81 S.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "maunet/autograd/ops/conv2d.hpp"
#include "maunet/core/cpu_isa.hpp"
#include "maunet/core/gemm.hpp"
#include "support/conv_outputs.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::detail::ConvPath;
using maunet::testing::conv2d_outputs;
using maunet::testing::ConvPathGuard;
using maunet::testing::random;

namespace {

// Chooses the instruction set for one scope.
struct IsaGuard {
    explicit IsaGuard(Isa isa) : before(active_isa()) { set_isa(isa); }
    ~IsaGuard() { set_isa(before); }
    Isa before;
};

std::vector<Isa> supported_isas() {
    std::vector<Isa> out;
    for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
        if (isa_supported(isa)) out.push_back(isa);
    return out;
}

template <class T>
Tensor<T> abs_of(const Tensor<T>& t) {
    Tensor<T> out = t;
    for (auto& v : out) v = std::abs(v);
    return out;
}

Tensor<float> to_float(const Tensor<double>& t) {
    Tensor<float> out(t.shape());
    for (Index i = 0; i < t.numel(); ++i) out.data()[i] = static_cast<float>(t.data()[i]);
    return out;
}

struct ConvCase {
    Index batch, c_in, c_out, h, w, k, padding;
};

}  // namespace

TEST_CASE("MAUNET_ISA names are parsed and unknown or unsupported ones are clear errors", "[core][isa]") {
    CHECK(parse_isa("generic") == Isa::generic);
    CHECK_THROWS_AS(parse_isa("sse9"), ArgumentError);
    CHECK_THROWS_WITH(parse_isa("sse9"), Catch::Contains("MAUNET_ISA: expected generic, avx2 or avx512, got 'sse9'"));
    CHECK_THROWS_WITH(parse_isa(""), Catch::Contains("got ''"));
    for (Isa isa : {Isa::avx2, Isa::avx512}) {
        if (isa_supported(isa)) {
            CHECK(parse_isa(isa_name(isa)) == isa);
        } else {
            CHECK_THROWS_WITH(parse_isa(isa_name(isa)),
                              Catch::Contains(std::string("this CPU does not support ") + isa_name(isa)));
            CHECK_THROWS_AS(set_isa(isa), ArgumentError);
        }
    }
    CHECK(isa_supported(Isa::generic));
    CHECK(isa_supported(detected_isa()));
}

TEST_CASE("the instruction set comes from MAUNET_ISA once, and an invalid value is an error", "[core][isa]") {
    const Isa before = active_isa();
    detail::isa_setting() = -1;  // as at startup
    ::setenv("MAUNET_ISA", "avx1024", 1);
    CHECK_THROWS_WITH(active_isa(), Catch::Contains("MAUNET_ISA: expected generic, avx2 or avx512, got 'avx1024'"));
    ::setenv("MAUNET_ISA", "generic", 1);
    CHECK(active_isa() == Isa::generic);
    ::setenv("MAUNET_ISA", isa_name(detected_isa()), 1);
    CHECK(active_isa() == Isa::generic);  // chosen once: later changes of the variable do not count
    ::unsetenv("MAUNET_ISA");
    detail::isa_setting() = -1;
    CHECK(active_isa() == detected_isa());
    set_isa(before);
}

TEST_CASE("every instruction set runs its own kernels", "[core][isa]") {
    for (Isa isa : supported_isas()) {
        IsaGuard guard(isa);
        CHECK(kernel_isa() == isa);
#if !defined(MAUNET_USE_BLAS)
        CHECK(std::string(gemm_backend()) ==
              (isa == Isa::avx512 ? "packed-avx512" : isa == Isa::avx2 ? "packed-avx2" : "packed-generic"));
#endif
    }
}

TEST_CASE("every conv2d kernel path of every supported instruction set matches the generic kernels",
          "[core][isa][conv2d]") {
    // Odd sizes and channel counts that are not multiples of the tiles (4, 6, 2 vectors), 3x3
    // padding 1 (direct, Winograd, GEMM), 3x3 padding 0 and 5x5 padding 2 (direct, GEMM). The 9 x 10
    // image has 5 rows of 8 tile slots (AVX2): 3 panels of 16, so the AVX-512 Winograd products run
    // a pair of panels and a single one, and the weight gradient's 40 slots end in half a vector.
    const std::vector<ConvCase> cases = {{2, 5, 7, 19, 23, 3, 1}, {1, 16, 9, 16, 16, 3, 1}, {1, 8, 7, 9, 10, 3, 1},
                                         {2, 3, 6, 13, 11, 3, 0}, {1, 4, 5, 17, 9, 5, 2}};
    const double u = std::ldexp(1.0, -24);
    std::uint64_t seed = 1500;
    for (const ConvCase& t : cases) {
        const Tensor<double> x = random(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random(Shape{t.c_out, t.c_in, t.k, t.k}, ++seed);
        const Tensor<double> b = random(Shape{t.c_out}, ++seed);
        const Index ho = t.h + 2 * t.padding - t.k + 1, wo = t.w + 2 * t.padding - t.k + 1;
        const Tensor<double> g = random(Shape{t.batch, t.c_out, ho, wo}, ++seed);
        // S for y, dx, dw, db, and the number of products n in each sum.
        std::array<Tensor<double>, 4> sums;
        {
            IsaGuard isa(Isa::generic);
            ConvPathGuard path(ConvPath::gemm);
            sums = conv2d_outputs(abs_of(x), abs_of(w), abs_of(b), abs_of(g), Conv2dOptions{1, t.padding});
        }
        const std::array<double, 4> terms = {double(t.c_in * t.k * t.k + 1), double(t.c_out * t.k * t.k),
                                             double(t.batch * ho * wo), double(t.batch * ho * wo)};
        const Tensor<float> xf = to_float(x), wf = to_float(w), bf = to_float(b), gf = to_float(g);
        for (ConvPath path : {ConvPath::direct, ConvPath::winograd, ConvPath::winograd_batch, ConvPath::gemm}) {
            const bool wino =
                (path == ConvPath::winograd || path == ConvPath::winograd_batch) && t.k == 3 && t.padding == 1;
            ConvPathGuard path_guard(path);
            std::array<Tensor<float>, 4> reference;
            {
                IsaGuard isa(Isa::generic);
                reference = conv2d_outputs(xf, wf, bf, gf, Conv2dOptions{1, t.padding});
            }
            for (Isa isa : supported_isas()) {
                IsaGuard guard(isa);
                const auto got = conv2d_outputs(xf, wf, bf, gf, Conv2dOptions{1, t.padding});
                for (std::size_t k = 0; k < 4; ++k) {
                    const double n = terms[k], gamma = n * u / (1 - n * u), growth = wino ? 81.0 : 1.0;
                    double worst = 0.0;  // the largest |difference| / bound
                    for (Index i = 0; i < got[k].numel(); ++i) {
                        const double bound = 2 * gamma * growth * sums[k].data()[i] + 1e-30;
                        worst = maunet::testing::max_or_nan(worst, std::abs(double(got[k].data()[i]) - reference[k].data()[i]) / bound);
                    }
                    INFO("isa " << isa_name(isa) << ", path " << static_cast<int>(path) << ", x " << x.shape()
                                << ", w " << w.shape() << ", output " << k << " (y, dx, dw, db)");
                    CHECK(worst <= 1.0);
                }
            }
        }
    }
}

#if MAUNET_HAVE_AVX512_KERNELS
TEST_CASE("the AVX-512 GEMM's 4-vector and 2-vector tiles give the same bits", "[core][isa][gemm]") {
    // Both tiles sum every element of C over k in the same order (one accumulator, blocks of kc),
    // so the width chosen from N (gemm_wide_tile) never changes a result. Partial panels of both
    // widths, partial strips, several k blocks and column blocks, every transpose of A, B and C.
    if (!isa_supported(Isa::avx512)) {
        WARN("SKIPPED: this CPU has no AVX-512");
        return;
    }
    using detail::avx512::packed_gemm_blocks;
    CHECK(detail::avx512::gemm_wide_tile<float>(64));
    CHECK(detail::avx512::gemm_wide_tile<float>(100));  // 2 wide panels against 4 narrow ones: 128 either way
    CHECK_FALSE(detail::avx512::gemm_wide_tile<float>(32));  // 64 columns against 32
    CHECK_FALSE(detail::avx512::gemm_wide_tile<float>(80));  // 128 against 96
    CHECK(detail::avx512::gemm_wide_tile<double>(64));
    CHECK_FALSE(detail::avx512::gemm_wide_tile<double>(16));
    struct Dims {
        Index M, N, K;
    };
    std::uint64_t seed = 2900;
    // {6, 64, 513} and {11, 32, 300}: B of one panel's width, read in place (not transposed).
    for (const Dims& d : std::vector<Dims>{{13, 100, 300}, {97, 300, 70}, {6, 64, 513}, {5, 20, 9}, {11, 32, 300}})
        for (int ta = 0; ta < 2; ++ta)
            for (int tb = 0; tb < 2; ++tb)
                for (int tc = 0; tc < 2; ++tc) {
                    const auto run = [&](auto t_tag, auto nv_tag) {
                        using T = decltype(t_tag);
                        const Tensor<T> a = random<T>(ta ? Shape{d.K, d.M} : Shape{d.M, d.K}, seed + 1);
                        const Tensor<T> b = random<T>(tb ? Shape{d.N, d.K} : Shape{d.K, d.N}, seed + 2);
                        Tensor<T> c = random<T>(tc ? Shape{d.N, d.M} : Shape{d.M, d.N}, seed + 3);
                        packed_gemm_blocks<T, decltype(nv_tag)::value>(
                            ta ? MatrixOp::transposed : MatrixOp::as_is, tb ? MatrixOp::transposed : MatrixOp::as_is,
                            d.M, d.N, d.K, T(0.5), a.data(), ta ? d.M : d.K, b.data(), tb ? d.K : d.N, c.data(),
                            tc ? d.M : d.N, tc ? MatrixOp::transposed : MatrixOp::as_is);
                        return c;
                    };
                    seed += 3;
                    INFO("M " << d.M << " N " << d.N << " K " << d.K << ", trans " << ta << tb << tc);
                    const Tensor<float> wide_f = run(float{}, std::integral_constant<Index, 4>{});
                    const Tensor<float> narrow_f = run(float{}, std::integral_constant<Index, 2>{});
                    CHECK(std::equal(wide_f.data(), wide_f.data() + wide_f.numel(), narrow_f.data()));
                    const Tensor<double> wide_d = run(double{}, std::integral_constant<Index, 4>{});
                    const Tensor<double> narrow_d = run(double{}, std::integral_constant<Index, 2>{});
                    CHECK(std::equal(wide_d.data(), wide_d.data() + wide_d.numel(), narrow_d.data()));
                }
}
#endif

TEST_CASE("gemm of every supported instruction set matches the generic one", "[core][isa][gemm]") {
    // Sizes around the kernel's blocks (6-row strips, panels of 2 or 4 vectors, kc = 256, mc = 96,
    // nc = 256): none a multiple of them, K = 1, N of 1 and 2, M above and below N (trans_a with
    // M > N computes C^T), several blocks of each loop. With AVX-512, N = 2100, 300, 100 and 64 (and
    // the swapped N = 97 and 300 of trans_a) take the 4-vector tile, partial panels included. N = 8,
    // 16, 32 and 64 are one panel of the generic, AVX2, AVX-512 narrow and wide tiles: B not
    // transposed is read in place.
    struct Dims {
        Index M, N, K;
    };
    const std::vector<Dims> dims = {{1, 1, 1},  {5, 3, 1},   {13, 37, 300}, {97, 17, 5},   {7, 2100, 9},
                                    {64, 64, 600}, {200, 1, 7}, {2, 300, 513}, {101, 2, 260}, {40, 530, 1},
                                    {300, 100, 270}, {23, 16, 300}, {9, 8, 530}, {30, 32, 270}};
    const double u = std::ldexp(1.0, -24);
    std::uint64_t seed = 1700;
    for (const Dims& d : dims)
        for (int ta = 0; ta < 2; ++ta)
            for (int tb = 0; tb < 2; ++tb) {
                const Tensor<float> a = random<float>(ta ? Shape{d.K, d.M} : Shape{d.M, d.K}, ++seed);
                const Tensor<float> b = random<float>(tb ? Shape{d.N, d.K} : Shape{d.K, d.N}, ++seed);
                const Tensor<float> c0 = random<float>(Shape{d.M, d.N}, ++seed);
                const Index lda = ta ? d.M : d.K, ldb = tb ? d.K : d.N;
                const MatrixOp op_a = ta ? MatrixOp::transposed : MatrixOp::as_is;
                const MatrixOp op_b = tb ? MatrixOp::transposed : MatrixOp::as_is;
                auto run = [&](Isa isa) {
                    IsaGuard guard(isa);
                    Tensor<float> c = c0;
                    gemm<float>(op_a, op_b, d.M, d.N, d.K, 0.5f, a.data(), lda, b.data(), ldb, 2.0f, c.data(), d.N);
                    return c;
                };
                const Tensor<float> reference = run(Isa::generic);
                // S <= 0.5 K max|a| max|b| + 2 max|c0| = 0.5 K + 2 per element; n = K + 1 terms.
                const double n = double(d.K + 1), bound = 2 * (n * u / (1 - n * u)) * (0.5 * d.K + 2);
                std::vector<std::pair<std::string, Tensor<float>>> results;
                for (Isa isa : supported_isas()) results.emplace_back(isa_name(isa), run(isa));
                // The packed kernel itself in each copy, whatever gemm() chose (the generic copy is
                // gemm()'s for no CPU, but is compiled and must stay right).
                const auto packed = [&](auto kernel) {
                    Tensor<float> c = c0;
                    detail::scale_matrix(d.M, d.N, 2.0f, c.data(), d.N);
                    kernel(op_a, op_b, d.M, d.N, d.K, 0.5f, a.data(), lda, b.data(), ldb, c.data(), d.N);
                    return c;
                };
                results.emplace_back("packed generic", packed(detail::generic::packed_gemm<float>));
#if MAUNET_HAVE_AVX2_KERNELS
                if (isa_supported(Isa::avx2)) results.emplace_back("packed avx2", packed(detail::avx2::packed_gemm<float>));
#endif
#if MAUNET_HAVE_AVX512_KERNELS
                if (isa_supported(Isa::avx512))
                    results.emplace_back("packed avx512", packed(detail::avx512::packed_gemm<float>));
#endif
                for (const auto& [name, got] : results) {
                    double diff = 0.0;
                    for (Index i = 0; i < got.numel(); ++i)
                        diff = maunet::testing::max_or_nan(diff, std::abs(double(got.data()[i]) - reference.data()[i]));
                    INFO(name << ", M " << d.M << " N " << d.N << " K " << d.K << ", trans "
                                << ta << tb);
                    CHECK(diff <= bound);
                }
            }
}
