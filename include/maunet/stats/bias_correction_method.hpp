// maunet/stats/bias_correction_method.hpp: the fit/apply shell that linear scaling, quantile
// mapping and quantile delta mapping share.
//
// A method derives from BiasCorrectionMethod<T, Method> (CRTP) and provides
//   static constexpr const char* kName             "LinearScaling", ...: names the op in errors
//   static constexpr const char* kMethod           "linear", "qm", "qdm": the CLI's and the fit file's name
//   Tensor<T> correct(x, bucket_of_time) const     the per-cell correction of a checked input
// The base holds the kind, the configuration, the number of quantiles (0 for methods without
// quantile tables) and the calibration, and implements fit() (with or without day-of-year
// windows), apply() and the accessors. calibration() and restore() let the fit-file format
// (bias_correction_file.hpp) save a fitted method and rebuild it without the data.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "maunet/stats/bias_correction_common.hpp"

namespace maunet::stats {

template <class T, class Method>
class BiasCorrectionMethod {
public:
    // Fits on whole series (window_half_width_days must be 0). obs, sim: [time, H, W].
    void fit(const Tensor<T>& obs, const Tensor<T>& sim) {
        calib_ = detail::calibrate(op("fit").c_str(), kind_, config_, obs, detail::no_doy(), sim, detail::no_doy(),
                                   365, false);
    }
    // Fits with day-of-year windows (1-based doy per time step; days_in_year 365, 366 or 360).
    void fit(const Tensor<T>& obs, const std::vector<int>& obs_doy, const Tensor<T>& sim,
             const std::vector<int>& sim_doy, int days_in_year) {
        calib_ = detail::calibrate(op("fit").c_str(), kind_, config_, obs, obs_doy, sim, sim_doy, days_in_year, true);
    }

    Tensor<T> apply(const Tensor<T>& x) const { return run(x, detail::no_doy(), 365, false); }
    Tensor<T> apply(const Tensor<T>& x, const std::vector<int>& doy, int days_in_year) const {
        return run(x, doy, days_in_year, true);
    }

    bool fitted() const { return calib_.fitted; }

    // For a method fitted on a tile of rows of a larger grid: the global index of the tile's
    // first cell (row0 * width of the whole grid), so that every cell draws the random numbers
    // of the wet-day frequency adaptation it would draw untiled, and the tiled output equals
    // the untiled one bit for bit. fit() resets it to 0.
    void set_first_cell(Index first_cell) {
        require(first_cell >= 0, op("set_first_cell"), ": expected a first cell >= 0, got ", first_cell);
        calib_.first_cell = first_cell;
    }
    Index first_cell() const { return calib_.first_cell; }
    Kind kind() const { return kind_; }
    const BiasCorrectionConfig& config() const { return config_; }

    // The fitted state, for saving; restore() puts a saved one back (checked for consistency).
    const detail::Calibration<T>& calibration() const { return calib_; }
    void restore(detail::Calibration<T> c) {
        const std::string o = op("restore");
        require(c.fitted && c.height >= 1 && c.width >= 1, o, ": expected a fitted calibration with a grid of at "
                "least 1 x 1, got ", c.height, " x ", c.width);
        const Index cells = c.height * c.width;
        for (const detail::CellSamples<T>* s : {&c.obs, &c.sim}) {
            require(s->cells == cells && s->buckets == c.windows.buckets &&
                        static_cast<Index>(s->values.size()) == cells && static_cast<Index>(s->offsets.size()) == cells,
                    o, ": the calibration samples do not match the grid ", c.height, " x ", c.width, " and ",
                    c.windows.buckets, " day buckets");
        }
        calib_ = std::move(c);
    }

protected:
    BiasCorrectionMethod(Kind kind, BiasCorrectionConfig config, Index n_quantiles, bool uses_quantiles)
        : kind_(kind), config_(config), n_quantiles_(n_quantiles) {
        detail::check_config(config_, Method::kName);
        if (uses_quantiles)
            require(n_quantiles >= 2, Method::kName, ": expected n_quantiles >= 2, got ", n_quantiles);
    }

    static std::string op(const char* what) { return std::string(Method::kName) + "::" + what; }

    Kind kind_;
    BiasCorrectionConfig config_;
    Index n_quantiles_;
    detail::Calibration<T> calib_;

private:
    Tensor<T> run(const Tensor<T>& x, const std::vector<int>& doy, int days_in_year, bool with_doy) const {
        const auto buckets = detail::check_apply(op("apply").c_str(), calib_, x, doy, days_in_year, with_doy);
        return static_cast<const Method&>(*this).correct(x, buckets);
    }
};

}  // namespace maunet::stats
