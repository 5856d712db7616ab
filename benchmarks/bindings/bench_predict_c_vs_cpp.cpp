// Overhead of the C API: maunet_model_predict against the C++ call it wraps
// (pipeline::apply_precip_model), on the same model file and field, alternating call by call
// in one process so that a change in the machine's load hits both alike (each side first in
// every other pair). Prints the medians
// and the median and quartiles of the per-pair ratio (C / C++ - 1).
//   bench_predict_c_vs_cpp MODEL INPUT NY NX PAIRS
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "maunet/c/maunet.h"
#include "maunet/pipeline/apply_model.hpp"

namespace {
double median(std::vector<double> v, double q = 0.5) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: bench_predict_c_vs_cpp MODEL INPUT NY NX PAIRS\n");
        return 2;
    }
    try {
        using namespace maunet;
        using clock = std::chrono::steady_clock;
        const int ny = std::atoi(argv[3]), nx = std::atoi(argv[4]), pairs = std::atoi(argv[5]);
        maunet_set_num_threads(1);
        set_num_threads(1);
        const auto model = pipeline::PrecipModel<float>::load(argv[1]);
        maunet_model* handle = nullptr;
        int ony = 0, onx = 0;
        if (maunet_model_load(argv[1], &handle) != MAUNET_OK || maunet_model_output_size(handle, ny, nx, &ony, &onx))
            throw Error(maunet_last_error());
        Tensor<float> field(Shape{1, ny, nx});
        std::ifstream(argv[2], std::ios::binary).read(reinterpret_cast<char*>(field.data()), sizeof(float) * ny * nx);
        std::vector<float> out(static_cast<std::size_t>(ony) * onx);
        std::vector<double> t_cpp, t_c, ratio;
        for (int r = 0; r < pairs + 1; ++r) {  // the first pair warms up
            // Each side goes first in every other pair, so an order effect cancels.
            Tensor<float> y;
            const auto cpp = [&] { y = pipeline::apply_precip_model(model, field); };
            const auto c = [&] {
                if (maunet_model_predict(handle, field.data(), 1, ny, nx, out.data(), nullptr) != MAUNET_OK)
                    throw Error(maunet_last_error());
            };
            const bool cpp_first = r % 2 == 0;
            const auto t0 = clock::now();
            cpp_first ? cpp() : c();
            const auto t1 = clock::now();
            cpp_first ? c() : cpp();
            const auto t2 = clock::now();
            if (!std::equal(out.begin(), out.end(), y.begin(), [](float a, float b) { return a == b || (a != a && b != b); }))
                throw Error("the C API and the C++ call disagree");
            if (r == 0) continue;
            const double first = std::chrono::duration<double, std::milli>(t1 - t0).count();
            const double second = std::chrono::duration<double, std::milli>(t2 - t1).count();
            t_cpp.push_back(cpp_first ? first : second);
            t_c.push_back(cpp_first ? second : first);
            ratio.push_back(100.0 * (t_c.back() / t_cpp.back() - 1.0));
        }
        std::printf("C vs C++: median %.3f ms vs %.3f ms; per-pair difference median %+.2f%% (quartiles %+.2f%% .. "
                    "%+.2f%%), %d pairs\n",
                    median(t_c), median(t_cpp), median(ratio), median(ratio, 0.25), median(ratio, 0.75), pairs);
        maunet_model_free(handle);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_predict_c_vs_cpp: %s\n", e.what());
        return 1;
    }
}
