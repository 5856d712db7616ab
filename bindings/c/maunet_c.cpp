// The C API (include/maunet/c/maunet.h) over the header-only C++ core: the one translation
// unit of the maunet_c library. Every entry point runs its body through guarded(), which turns
// each exception into a status code and the thread's last error message, so nothing C++ leaves.
#define MAUNET_C_BUILDING
#include "maunet/c/maunet.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <variant>
#include <vector>

#include "maunet/io/checkpoint.hpp"
#include "maunet/pipeline/apply_model.hpp"
#include "maunet/stats/bias_correction_file.hpp"
#include "maunet/stats/regrid.hpp"
#include "maunet/version.hpp"

struct maunet_model {
    maunet::pipeline::PrecipModel<float> model;
};

// An arena (core/arena.hpp) and a flag that refuses a second thread while one is using it.
struct maunet_workspace {
    maunet::Arena arena;
    std::atomic<bool> busy{false};
};

struct maunet_bc {
    maunet::stats::AnyBiasCorrection<float> method;
};

struct maunet_regridder {
    maunet_regrid_method method;
    int factor;
};

namespace {

using maunet::Index;
using maunet::Shape;
using maunet::Tensor;

std::string& last_error() {
    thread_local std::string message;
    return message;
}

maunet_status fail(maunet_status status, const char* what) {
    try {
        last_error() = what;
    } catch (...) {  // no memory for the message: keep the status
    }
    return status;
}

// Runs body(); maps maunet's exceptions to status codes (most specific first).
template <class Body>
maunet_status guarded(Body&& body) noexcept {
    try {
        body();
        return MAUNET_OK;
    } catch (const maunet::ShapeError& e) {
        return fail(MAUNET_ERROR_SHAPE, e.what());
    } catch (const maunet::FormatError& e) {
        return fail(MAUNET_ERROR_FORMAT, e.what());
    } catch (const maunet::IOError& e) {
        return fail(MAUNET_ERROR_IO, e.what());
    } catch (const maunet::NumericalError& e) {
        return fail(MAUNET_ERROR_NUMERICAL, e.what());
    } catch (const maunet::Error& e) {  // ArgumentError and any other deliberate error
        return fail(MAUNET_ERROR_ARGUMENT, e.what());
    } catch (const std::bad_alloc&) {
        return fail(MAUNET_ERROR_MEMORY, "out of memory");
    } catch (const std::exception& e) {
        return fail(MAUNET_ERROR_INTERNAL, e.what());
    } catch (...) {
        return fail(MAUNET_ERROR_INTERNAL, "unknown exception");
    }
}

template <class P>
void need(const P* p, const char* op, const char* what) {
    maunet::require(p != nullptr, op, ": ", what, " is NULL");
}

void need_sizes(int n, int ny, int nx, const char* op) {
    maunet::require(n >= 1 && ny >= 1 && nx >= 1, op, ": expected n, ny, nx >= 1, got ", n, ", ", ny, ", ", nx);
}

// Caller array [n, ny, nx] -> tensor, values equal to *fill as NaN.
Tensor<float> fields_in(const float* data, int n, int ny, int nx, const float* fill) {
    Tensor<float> t(Shape{n, ny, nx});
    const Index count = t.numel();
    float* dst = t.data();
    if (fill) {
        const float f = *fill;
        const float nan = std::numeric_limits<float>::quiet_NaN();
        for (Index i = 0; i < count; ++i) dst[i] = data[i] == f ? nan : data[i];
    } else {
        std::memcpy(dst, data, sizeof(float) * static_cast<std::size_t>(count));
    }
    return t;
}

// Tensor -> caller array, NaN as *fill.
void fields_out(const Tensor<float>& t, float* out, const float* fill) {
    const Index count = t.numel();
    const float* src = t.data();
    if (fill) {
        const float f = *fill;
        for (Index i = 0; i < count; ++i) out[i] = std::isnan(src[i]) ? f : src[i];
    } else {
        std::memcpy(out, src, sizeof(float) * static_cast<std::size_t>(count));
    }
}

// The int a C enum argument holds. Read through memcpy: a C caller may pass any int, and
// loading an out-of-range value as the C++ enum type is undefined behaviour.
template <class E>
int enum_value(const E& e) {
    static_assert(sizeof(E) == sizeof(int), "the C enums are int-sized");
    int v;
    std::memcpy(&v, &e, sizeof v);
    return v;
}

std::vector<int> doy_vector(const int* doy, int n) { return doy ? std::vector<int>(doy, doy + n) : std::vector<int>(); }

template <class T>
T* checked(T* handle, const char* op) {
    need(handle, op, "the handle");
    return handle;
}

}  // namespace

extern "C" {

const char* maunet_last_error(void) { return last_error().c_str(); }

const char* maunet_status_name(maunet_status status) {
    switch (enum_value(status)) {
        case MAUNET_OK: return "MAUNET_OK";
        case MAUNET_ERROR_ARGUMENT: return "MAUNET_ERROR_ARGUMENT";
        case MAUNET_ERROR_SHAPE: return "MAUNET_ERROR_SHAPE";
        case MAUNET_ERROR_FORMAT: return "MAUNET_ERROR_FORMAT";
        case MAUNET_ERROR_IO: return "MAUNET_ERROR_IO";
        case MAUNET_ERROR_NUMERICAL: return "MAUNET_ERROR_NUMERICAL";
        case MAUNET_ERROR_MEMORY: return "MAUNET_ERROR_MEMORY";
        case MAUNET_ERROR_INTERNAL: return "MAUNET_ERROR_INTERNAL";
    }
    return "MAUNET_ERROR_UNKNOWN_STATUS";
}

const char* maunet_version(int* major, int* minor, int* patch) {
    if (major) *major = MAUNET_VERSION_MAJOR;
    if (minor) *minor = MAUNET_VERSION_MINOR;
    if (patch) *patch = MAUNET_VERSION_PATCH;
    return MAUNET_VERSION_STRING;
}

maunet_status maunet_set_num_threads(int n) {
    return guarded([&] { maunet::set_num_threads(n); });
}

int maunet_get_num_threads(void) { return maunet::num_threads(); }

// ---------------------------------------------------------------- models

maunet_status maunet_model_load(const char* path, maunet_model** model) {
    return guarded([&] {
        need(path, "maunet_model_load", "path");
        need(model, "maunet_model_load", "the model pointer");
        *model = nullptr;
        *model = new maunet_model{maunet::pipeline::PrecipModel<float>::load(path)};
    });
}

void maunet_model_free(maunet_model* model) { delete model; }

maunet_status maunet_model_task(const maunet_model* model, maunet_task* task) {
    return guarded([&] {
        need(task, "maunet_model_task", "task");
        *task = checked(model, "maunet_model_task")->model.task() == maunet::pipeline::Task::downscaling
                    ? MAUNET_TASK_DOWNSCALING
                    : MAUNET_TASK_BIAS_CORRECTION;
    });
}

maunet_status maunet_model_factor(const maunet_model* model, int* factor) {
    return guarded([&] {
        need(factor, "maunet_model_factor", "factor");
        *factor = static_cast<int>(checked(model, "maunet_model_factor")->model.factor());
    });
}

maunet_status maunet_model_grid_multiple(const maunet_model* model, int* multiple) {
    return guarded([&] {
        need(multiple, "maunet_model_grid_multiple", "multiple");
        *multiple = static_cast<int>(checked(model, "maunet_model_grid_multiple")->model.net().config().size_multiple());
    });
}

maunet_status maunet_model_channels(const maunet_model* model, int* in_channels, int* out_channels) {
    return guarded([&] {
        const auto& config = checked(model, "maunet_model_channels")->model.net().config();
        if (in_channels) *in_channels = config.in_channels;
        if (out_channels) *out_channels = config.out_channels;
    });
}

maunet_status maunet_model_units(const maunet_model* model, const char** units) {
    return guarded([&] {
        need(units, "maunet_model_units", "units");
        *units = checked(model, "maunet_model_units")->model.units().c_str();
    });
}

maunet_status maunet_model_output_size(const maunet_model* model, int ny, int nx, int* out_ny, int* out_nx) {
    return guarded([&] {
        const char* op = "maunet_model_output_size";
        need_sizes(1, ny, nx, op);
        need(out_ny, op, "out_ny");
        need(out_nx, op, "out_nx");
        const auto& m = checked(model, op)->model;
        const int f = m.task() == maunet::pipeline::Task::downscaling ? static_cast<int>(m.factor()) : 1;
        maunet::require(ny <= std::numeric_limits<int>::max() / f && nx <= std::numeric_limits<int>::max() / f, op,
                        ": the output grid of ", ny, " x ", nx, " refined by ", f, " overflows int");
        *out_ny = ny * f;
        *out_nx = nx * f;
    });
}

maunet_status maunet_model_predict(const maunet_model* model, const float* input, int n, int ny, int nx, float* output,
                                   const float* fill_value) {
    return maunet_model_predict_ws(model, input, n, ny, nx, output, fill_value, nullptr);
}

// ---------------------------------------------------------------- workspaces

maunet_status maunet_workspace_create(const maunet_model* model, int n, int ny, int nx, maunet_workspace** workspace) {
    return guarded([&] {
        const char* op = "maunet_workspace_create";
        need(workspace, op, "the workspace pointer");
        *workspace = nullptr;
        const maunet_model* m = checked(model, op);
        need_sizes(n, ny, nx, op);
        auto ws = std::make_unique<maunet_workspace>();
        maunet::pipeline::prepare_workspace(m->model, ws->arena, Shape{n, ny, nx});
        *workspace = ws.release();
    });
}

void maunet_workspace_free(maunet_workspace* workspace) { delete workspace; }

maunet_status maunet_workspace_bytes(const maunet_workspace* workspace, size_t* bytes) {
    return guarded([&] {
        need(bytes, "maunet_workspace_bytes", "bytes");
        *bytes = checked(workspace, "maunet_workspace_bytes")->arena.reserved_bytes();
    });
}

maunet_status maunet_model_predict_ws(const maunet_model* model, const float* input, int n, int ny, int nx,
                                      float* output, const float* fill_value, maunet_workspace* workspace) {
    return guarded([&] {
        const char* op = workspace ? "maunet_model_predict_ws" : "maunet_model_predict";
        const maunet_model* m = checked(model, op);
        need_sizes(n, ny, nx, op);
        need(input, op, "input");
        need(output, op, "output");
        if (workspace) {
            maunet::require(!workspace->busy.exchange(true, std::memory_order_acquire), op,
                            ": the workspace is in use by another thread (one workspace per thread)");
        }
        struct Release {  // frees the workspace for the next call, also when predict throws
            maunet_workspace* ws;
            ~Release() {
                if (ws) ws->busy.store(false, std::memory_order_release);
            }
        } release{workspace};
        maunet::ArenaScope scope(workspace ? &workspace->arena : nullptr);
        const Tensor<float> y =
            maunet::pipeline::apply_precip_model(m->model, fields_in(input, n, ny, nx, fill_value));
        fields_out(y, output, fill_value);
    });
}

// ---------------------------------------------------------------- bias correction

void maunet_bc_options_default(maunet_bc_options* options) {
    if (!options) return;
    const maunet::stats::BiasCorrectionConfig cfg;
    options->method = MAUNET_BC_QDM;
    options->kind = MAUNET_BC_MULTIPLICATIVE;
    options->window = cfg.window_half_width_days;
    options->days_in_year = 365;
    options->threshold = cfg.wet_day_threshold;
    options->max_ratio = cfg.max_ratio;
    options->quantiles = 100;
    options->seed = cfg.seed;
    options->frequency_adaptation = cfg.adapt_wet_day_frequency ? 1 : 0;
}

maunet_status maunet_bc_fit(const maunet_bc_options* options, const float* obs, int n_obs, const int* obs_doy,
                            const float* sim, int n_sim, const int* sim_doy, int ny, int nx, const float* fill_value,
                            maunet_bc** bc) {
    return guarded([&] {
        const char* op = "maunet_bc_fit";
        need(options, op, "options");
        need(obs, op, "obs");
        need(sim, op, "sim");
        need(bc, op, "the fit pointer");
        *bc = nullptr;
        need_sizes(n_obs, ny, nx, op);
        need_sizes(n_sim, ny, nx, op);
        const maunet_bc_options& o = *options;
        const int method = enum_value(o.method), kind_value = enum_value(o.kind);
        maunet::require(method >= MAUNET_BC_LINEAR && method <= MAUNET_BC_QDM, op, ": method ", method,
                        " is not MAUNET_BC_LINEAR, MAUNET_BC_QM or MAUNET_BC_QDM");
        maunet::require(kind_value == MAUNET_BC_MULTIPLICATIVE || kind_value == MAUNET_BC_ADDITIVE, op, ": kind ",
                        kind_value, " is not MAUNET_BC_MULTIPLICATIVE or MAUNET_BC_ADDITIVE");
        const bool windows = o.window > 0;
        if (windows) {
            need(obs_doy, op, "obs_doy (needed with window > 0)");
            need(sim_doy, op, "sim_doy (needed with window > 0)");
        }
        maunet::stats::BiasCorrectionConfig cfg;
        cfg.wet_day_threshold = o.threshold;
        cfg.max_ratio = o.max_ratio;
        cfg.window_half_width_days = o.window;
        cfg.seed = o.seed;
        cfg.adapt_wet_day_frequency = o.frequency_adaptation != 0;
        const auto kind = kind_value == MAUNET_BC_ADDITIVE ? maunet::stats::Kind::additive
                                                           : maunet::stats::Kind::multiplicative;
        const Tensor<float> x_obs = fields_in(obs, n_obs, ny, nx, fill_value);
        const Tensor<float> x_sim = fields_in(sim, n_sim, ny, nx, fill_value);
        auto fitted = [&](auto method) -> maunet::stats::AnyBiasCorrection<float> {
            if (windows)
                method.fit(x_obs, doy_vector(obs_doy, n_obs), x_sim, doy_vector(sim_doy, n_sim), o.days_in_year);
            else
                method.fit(x_obs, x_sim);
            return method;
        };
        if (method == MAUNET_BC_LINEAR)
            *bc = new maunet_bc{fitted(maunet::stats::LinearScaling<float>(kind, cfg))};
        else if (method == MAUNET_BC_QM)
            *bc = new maunet_bc{fitted(maunet::stats::QuantileMapping<float>(kind, cfg, o.quantiles))};
        else
            *bc = new maunet_bc{fitted(maunet::stats::QuantileDeltaMapping<float>(kind, cfg, o.quantiles))};
    });
}

void maunet_bc_free(maunet_bc* bc) { delete bc; }

maunet_status maunet_bc_save(const maunet_bc* bc, const char* path) {
    return guarded([&] {
        const maunet_bc* b = checked(bc, "maunet_bc_save");
        need(path, "maunet_bc_save", "path");
        std::visit([&](const auto& m) { maunet::stats::save_bias_correction(path, m); }, b->method);
    });
}

maunet_status maunet_bc_load(const char* path, maunet_bc** bc) {
    return guarded([&] {
        need(path, "maunet_bc_load", "path");
        need(bc, "maunet_bc_load", "the fit pointer");
        *bc = nullptr;
        *bc = new maunet_bc{maunet::stats::load_bias_correction<float>(path)};
    });
}

maunet_status maunet_bc_info(const maunet_bc* bc, maunet_bc_options* options, int* ny, int* nx) {
    return guarded([&] {
        const maunet_bc* b = checked(bc, "maunet_bc_info");
        std::visit(
            [&](const auto& m) {
                using M = std::decay_t<decltype(m)>;
                const auto& c = m.calibration();
                if (ny) *ny = static_cast<int>(c.height);
                if (nx) *nx = static_cast<int>(c.width);
                if (!options) return;
                maunet_bc_options_default(options);
                options->method = std::is_same_v<M, maunet::stats::LinearScaling<float>> ? MAUNET_BC_LINEAR
                                  : std::is_same_v<M, maunet::stats::QuantileMapping<float>> ? MAUNET_BC_QM
                                                                                              : MAUNET_BC_QDM;
                if constexpr (!std::is_same_v<M, maunet::stats::LinearScaling<float>>)
                    options->quantiles = static_cast<int>(m.n_quantiles());
                options->kind = m.kind() == maunet::stats::Kind::additive ? MAUNET_BC_ADDITIVE : MAUNET_BC_MULTIPLICATIVE;
                const auto& cfg = m.config();
                options->window = cfg.window_half_width_days;
                options->days_in_year = c.windows.days_in_year;
                options->threshold = cfg.wet_day_threshold;
                options->max_ratio = cfg.max_ratio;
                options->seed = cfg.seed;
                options->frequency_adaptation = cfg.adapt_wet_day_frequency ? 1 : 0;
            },
            b->method);
    });
}

maunet_status maunet_bc_apply(const maunet_bc* bc, const float* x, int n, const int* doy, int ny, int nx, float* out,
                              const float* fill_value) {
    return guarded([&] {
        const char* op = "maunet_bc_apply";
        const maunet_bc* b = checked(bc, op);
        need(x, op, "x");
        need(out, op, "out");
        need_sizes(n, ny, nx, op);
        const Tensor<float> in = fields_in(x, n, ny, nx, fill_value);
        const Tensor<float> y = std::visit(
            [&](const auto& m) {
                const int days = m.calibration().windows.days_in_year;
                return doy ? m.apply(in, doy_vector(doy, n), days) : m.apply(in);
            },
            b->method);
        fields_out(y, out, fill_value);
    });
}

// ---------------------------------------------------------------- regridding

maunet_status maunet_regridder_create(maunet_regrid_method method, int factor, maunet_regridder** regridder) {
    return guarded([&] {
        const char* op = "maunet_regridder_create";
        need(regridder, op, "the regridder pointer");
        *regridder = nullptr;
        const int m = enum_value(method);
        maunet::require(m >= MAUNET_REGRID_NEAREST && m <= MAUNET_REGRID_BLOCK_MEAN, op, ": method ", m,
                        " is not one of the maunet_regrid_method values");
        maunet::require(factor >= 1, op, ": expected a factor >= 1, got ", factor);
        *regridder = new maunet_regridder{method, factor};
    });
}

void maunet_regridder_free(maunet_regridder* regridder) { delete regridder; }

maunet_status maunet_regridder_output_size(const maunet_regridder* regridder, int ny, int nx, int* out_ny,
                                           int* out_nx) {
    return guarded([&] {
        const char* op = "maunet_regridder_output_size";
        const maunet_regridder* r = checked(regridder, op);
        need_sizes(1, ny, nx, op);
        need(out_ny, op, "out_ny");
        need(out_nx, op, "out_nx");
        const int f = r->factor;
        if (r->method == MAUNET_REGRID_BLOCK_MEAN) {
            maunet::require_shape(ny % f == 0 && nx % f == 0, op, ": block mean by ", f, " needs a grid whose sides are "
                                  "multiples of ", f, ", got ", ny, " x ", nx);
            *out_ny = ny / f;
            *out_nx = nx / f;
        } else {
            maunet::require(ny <= std::numeric_limits<int>::max() / f && nx <= std::numeric_limits<int>::max() / f, op,
                            ": the grid ", ny, " x ", nx, " refined by ", f, " overflows int");
            *out_ny = ny * f;
            *out_nx = nx * f;
        }
    });
}

maunet_status maunet_regrid(const maunet_regridder* regridder, const float* input, int n, int ny, int nx, float* output,
                            const float* fill_value) {
    int out_ny = 0, out_nx = 0;
    const maunet_status s = maunet_regridder_output_size(regridder, ny, nx, &out_ny, &out_nx);
    if (s != MAUNET_OK) return s;
    return guarded([&] {
        const char* op = "maunet_regrid";
        need(input, op, "input");
        need(output, op, "output");
        need_sizes(n, ny, nx, op);
        const Tensor<float> x = fields_in(input, n, ny, nx, fill_value);
        namespace st = maunet::stats;
        Tensor<float> y;
        switch (regridder->method) {
            case MAUNET_REGRID_NEAREST: y = st::regrid_nearest(x, out_ny, out_nx); break;
            case MAUNET_REGRID_BILINEAR: y = st::regrid_bilinear(x, out_ny, out_nx); break;
            case MAUNET_REGRID_BICUBIC: y = st::regrid_bicubic(x, out_ny, out_nx, true); break;
            case MAUNET_REGRID_BLOCK_MEAN: y = st::block_mean(x, regridder->factor); break;
        }
        fields_out(y, output, fill_value);
    });
}

}  // extern "C"
