// maunet/pipeline/training_fields.hpp: training samples from fields [time, y, x] (or from the
// synthetic generator), by the rules of `maunet train` and `maunet distill`, for programs that
// hold the data in memory (the Python module) rather than in files.
//
//   downscaling, no biased      perfect model: obs cropped to a multiple of the factor, coarsened
//                               by a NaN-aware block mean and regridded bicubically back: the input;
//                               obs is the target
//   downscaling, biased B       B is on the grid coarsened by the factor (same time steps); its
//                               bicubic regridding is the input; obs is cropped to B's grid x factor
//   bias_correction, no biased  the perfect-model input above, on the fine grid (model factor 1)
//   bias_correction, biased B   B on the observations' grid is the input
// One sample per time step; the last val_fraction of the time steps validate (chronological split).
#pragma once

#include <string>

#include "maunet/pipeline/apply_model.hpp"
#include "maunet/train/synthetic.hpp"

namespace maunet::pipeline {

template <class T>
struct TrainingSplit {
    train::DatasetSplit<T> split;
    std::string description;
};

namespace detail {
template <class T>
TrainingSplit<T> split_in_time(train::Dataset<T> all, double val_fraction, std::string description) {
    require(all.size() >= 2, "training needs at least 2 time steps, found ", all.size());
    TrainingSplit<T> s;
    s.split = all.split_in_order(1.0 - val_fraction, val_fraction);
    require(!s.split.val.empty() || val_fraction == 0.0, "a validation fraction of ", val_fraction, " of ",
            all.size(), " time steps leaves no validation step");
    s.description = std::move(description);
    return s;
}

// The first h rows and w columns of each field [time, H, W] (field_stream.hpp has the same
// crop, but that header needs netCDF-C).
template <class T>
Tensor<T> first_rows_cols(const Tensor<T>& x, Index h, Index w) {
    if (h == x.dim(1) && w == x.dim(2)) return x;
    Tensor<T> out(Shape{x.dim(0), h, w});
    for (Index t = 0; t < x.dim(0); ++t)
        for (Index r = 0; r < h; ++r) {
            const T* src = x.data() + (t * x.dim(1) + r) * x.dim(2);
            std::copy(src, src + w, out.data() + (t * h + r) * w);
        }
    return out;
}

inline void check_split_settings(double val_fraction, Index factor) {
    require(val_fraction >= 0.0 && val_fraction < 1.0, "expected a validation fraction in [0, 1), got ", val_fraction);
    require(factor >= 1, "expected a factor >= 1, got ", factor);
}
}  // namespace detail

// Samples from observations obs [time, y, x] and, optionally, a biased product (nullptr: the
// perfect-model input). factor: the model's factor for downscaling, the coarsening of the
// perfect-model input for bias correction.
template <class T>
TrainingSplit<T> training_split_from_fields(const Tensor<T>& obs_in, const Tensor<T>* biased, Task task, Index factor,
                                            double val_fraction) {
    detail::check_split_settings(val_fraction, factor);
    require_shape(obs_in.rank() == 3 && obs_in.numel() > 0, "training fields: expected obs [time, y, x], got ",
                  obs_in.shape());
    const bool downscaling = task == Task::downscaling;
    Tensor<T> obs;
    Tensor<T> input;  // [T, 1, H, W]
    std::string description;
    if (biased) {
        require_shape(biased->rank() == 3 && biased->dim(0) == obs_in.dim(0), "training fields: expected biased [",
                      obs_in.dim(0), ", y, x] (the time steps of obs), got ", biased->shape());
        const Index f = downscaling ? factor : 1;
        require_shape(biased->dim(1) * f <= obs_in.dim(1) && biased->dim(2) * f <= obs_in.dim(2),
                      "training fields: the biased grid ", biased->dim(1), " x ", biased->dim(2), " refined by ", f,
                      " does not fit the ", obs_in.dim(1), " x ", obs_in.dim(2), " grid of obs");
        obs = detail::first_rows_cols(obs_in, biased->dim(1) * f, biased->dim(2) * f);
        input = model_input(*biased, task, f);
        description = "biased product -> observations";
    } else {
        const Index h = obs_in.dim(1) / factor * factor, w = obs_in.dim(2) / factor * factor;
        require(h >= factor && w >= factor, "training fields: the ", obs_in.dim(1), " x ", obs_in.dim(2),
                " grid is smaller than one block of the factor ", factor);
        obs = detail::first_rows_cols(obs_in, h, w);
        input = model_input(stats::block_mean(obs, factor), Task::downscaling, factor);
        description = "observations coarsened " + std::to_string(factor) + "x and regridded bicubically (perfect model)";
    }
    const Index steps = obs.dim(0), H = obs.dim(1), W = obs.dim(2);
    train::Dataset<T> all;
    for (Index t = 0; t < steps; ++t) {
        Tensor<T> x(Shape{1, H, W}), y(Shape{1, H, W});
        std::copy(input.begin() + t * H * W, input.begin() + (t + 1) * H * W, x.begin());
        std::copy(obs.begin() + t * H * W, obs.begin() + (t + 1) * H * W, y.begin());
        all.add(train::make_sample(std::move(x), std::move(y)));
    }
    description += ", " + std::to_string(steps) + " time steps of " + std::to_string(H) + " x " + std::to_string(W);
    return detail::split_in_time(std::move(all), val_fraction, std::move(description));
}

// Samples from the synthetic fields of `maunet demo` (size x size, `fields` of them).
template <class T>
TrainingSplit<T> training_split_synthetic(Task task, Index factor, Index size, int fields, std::uint64_t seed,
                                          double val_fraction) {
    detail::check_split_settings(val_fraction, factor);
    const bool downscaling = task == Task::downscaling;
    train::SyntheticConfig sc;
    sc.height = sc.width = size;
    sc.num_fields = fields;
    sc.factor = downscaling ? factor : 4;
    sc.seed = seed;
    const auto data = train::generate_synthetic<T>(sc);
    const auto bicubic = [](const Tensor<T>& coarse, Index H, Index W) {
        return stats::regrid_bicubic(coarse, H, W, /*clamp_negative=*/true);
    };
    auto all = downscaling ? train::downscaling_dataset<T>(data, false, bicubic) : train::bias_correction_dataset<T>(data);
    return detail::split_in_time(std::move(all), val_fraction,
                                 std::to_string(fields) + " synthetic fields of " + std::to_string(size) + " x " +
                                     std::to_string(size));
}

}  // namespace maunet::pipeline
