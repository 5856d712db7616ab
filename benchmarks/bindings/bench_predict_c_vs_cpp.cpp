// Overhead of the C API: maunet_model_predict, and maunet_model_predict_ws with a workspace,
// against the C++ call they wrap (pipeline::apply_precip_model), on the same model file and
// field, alternating call by call in one process so that a change in the machine's load hits
// all alike (the three take turns at going first). Prints the medians and the median and
// quartiles of the per-round ratio (C / C++ - 1) of each.
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
        maunet_workspace* ws = nullptr;
        if (maunet_workspace_create(handle, 1, ny, nx, &ws) != MAUNET_OK) throw Error(maunet_last_error());
        std::vector<float> out_ws(out.size());
        std::vector<double> t_cpp, t_c, t_ws, ratio_c, ratio_ws;
        const auto same = [](float a, float b) { return a == b || (a != a && b != b); };
        for (int r = 0; r < pairs + 1; ++r) {  // the first round warms up
            Tensor<float> y;
            double ms[3] = {0, 0, 0};  // C++, C, C with a workspace
            const auto call = [&](int side) {
                const auto t0 = clock::now();
                if (side == 0) {
                    y = pipeline::apply_precip_model(model, field);
                } else if (side == 1) {
                    if (maunet_model_predict(handle, field.data(), 1, ny, nx, out.data(), nullptr) != MAUNET_OK)
                        throw Error(maunet_last_error());
                } else if (maunet_model_predict_ws(handle, field.data(), 1, ny, nx, out_ws.data(), nullptr, ws) !=
                           MAUNET_OK) {
                    throw Error(maunet_last_error());
                }
                ms[side] = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
            };
            // Each side goes first in every third round, so an order effect cancels.
            for (int k = 0; k < 3; ++k) call((r + k) % 3);
            if (!std::equal(out.begin(), out.end(), y.begin(), same) ||
                !std::equal(out_ws.begin(), out_ws.end(), y.begin(), same))
                throw Error("the C API and the C++ call disagree");
            if (r == 0) continue;
            t_cpp.push_back(ms[0]);
            t_c.push_back(ms[1]);
            t_ws.push_back(ms[2]);
            ratio_c.push_back(100.0 * (ms[1] / ms[0] - 1.0));
            ratio_ws.push_back(100.0 * (ms[2] / ms[0] - 1.0));
        }
        std::printf("C vs C++: median %.3f ms vs %.3f ms; per-pair difference median %+.2f%% (quartiles %+.2f%% .. "
                    "%+.2f%%), %d pairs\n",
                    median(t_c), median(t_cpp), median(ratio_c), median(ratio_c, 0.25), median(ratio_c, 0.75), pairs);
        std::printf("C with a workspace vs C++: median %.3f ms vs %.3f ms; per-pair difference median %+.2f%% "
                    "(quartiles %+.2f%% .. %+.2f%%), %d pairs\n",
                    median(t_ws), median(t_cpp), median(ratio_ws), median(ratio_ws, 0.25), median(ratio_ws, 0.75),
                    pairs);
        maunet_workspace_free(ws);
        maunet_model_free(handle);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_predict_c_vs_cpp: %s\n", e.what());
        return 1;
    }
}
