// The Python module `maunet` (pybind11) over the C++ headers: numpy arrays in and out.
//
// Arrays: float32 C-contiguous arrays are read as they are (other dtypes and layouts are
// converted first); the core's tensors own their storage, so inputs are copied once into a
// tensor. Results are handed to numpy without a copy (the array owns the tensor's buffer).
// The GIL is released while maunet computes, so Python threads can predict concurrently.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "maunet/io/units.hpp"
#include "maunet/metrics/report.hpp"
#include "maunet/pipeline/train_model.hpp"
#include "maunet/pipeline/training_fields.hpp"
#include "maunet/stats/bias_correction_file.hpp"
#include "maunet/train/distiller.hpp"
#include "maunet/version.hpp"

namespace py = pybind11;
using maunet::Index;
using maunet::Shape;
using maunet::Tensor;
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

namespace {

Tensor<float> to_tensor(const FloatArray& a, const char* what) {
    std::vector<Index> dims(a.shape(), a.shape() + a.ndim());
    Tensor<float> t{Shape(std::move(dims))};
    maunet::require(t.numel() > 0, what, ": the array is empty");
    std::copy(a.data(), a.data() + a.size(), t.data());
    return t;
}

Tensor<float> fields_tensor(const FloatArray& a, const char* what) {
    maunet::require_shape(a.ndim() == 3, what, ": expected an array [time, y, x], got ", a.ndim(), " dimensions");
    return to_tensor(a, what);
}

// Moves the tensor to the heap; numpy's array owns it from then on (no copy).
py::array to_numpy(Tensor<float>&& t) {
    auto* owned = new Tensor<float>(std::move(t));
    py::capsule free_when_done(owned, [](void* p) { delete static_cast<Tensor<float>*>(p); });
    std::vector<py::ssize_t> shape(owned->shape().begin(), owned->shape().end());
    return py::array_t<float>(shape, owned->data(), free_when_done);
}

std::vector<int> doy_vector(const std::optional<std::vector<int>>& doy) { return doy ? *doy : std::vector<int>(); }

// Memory predict draws its tensors from (core/arena.hpp): with one, maunet allocates nothing
// in a loop of predicts of one size. One thread at a time: a second is refused.
struct Workspace {
    maunet::Arena arena;
    std::atomic<bool> busy{false};
};

// A loaded or trained model, with the record of its training when it was trained here.
struct Model {
    std::shared_ptr<maunet::pipeline::PrecipModel<float>> net;
    std::vector<maunet::train::EpochRecord> history;

    // fields [time, y, x] or [y, x] -> the model's output; into `out` when given (a writeable
    // float32 C-contiguous array of the output's shape), else a new array. With `workspace`,
    // every tensor of the computation comes from it; the result is then copied out of it.
    py::array predict(const FloatArray& fields, const py::object& out, Workspace* workspace) const {
        maunet::require_shape(fields.ndim() == 2 || fields.ndim() == 3,
                              "Model.predict: expected fields [y, x] or [time, y, x], got ", fields.ndim(),
                              " dimensions");
        const bool single = fields.ndim() == 2;
        const Index f = net->task() == maunet::pipeline::Task::downscaling ? net->factor() : 1;
        std::vector<py::ssize_t> out_shape(fields.shape(), fields.shape() + fields.ndim());
        out_shape[out_shape.size() - 2] *= f;
        out_shape[out_shape.size() - 1] *= f;
        std::optional<py::array_t<float, py::array::c_style>> target;
        if (!out.is_none()) {
            maunet::require(py::isinstance<py::array_t<float, py::array::c_style>>(out),
                            "Model.predict: out must be a float32 C-contiguous numpy array");
            target = out.cast<py::array_t<float, py::array::c_style>>();
            maunet::require(target->writeable(), "Model.predict: out is read-only");
            maunet::require_shape(std::equal(out_shape.begin(), out_shape.end(), target->shape(),
                                             target->shape() + target->ndim()) &&
                                      static_cast<std::size_t>(target->ndim()) == out_shape.size(),
                                  "Model.predict: out has the wrong shape for this input and factor ", f);
        }
        if (workspace)
            maunet::require(!workspace->busy.exchange(true), "Model.predict: the workspace is in use by another "
                                                             "thread (one workspace per thread)");
        struct Release {
            Workspace* ws;
            ~Release() {
                if (ws) ws->busy.store(false);
            }
        } release{workspace};
        float* dst = target ? target->mutable_data() : nullptr;
        Tensor<float> y;
        {
            py::gil_scoped_release unlocked;
            maunet::ArenaScope scope(workspace ? &workspace->arena : nullptr);
            Tensor<float> x(single ? Shape{1, fields.shape(0), fields.shape(1)}
                                   : Shape{fields.shape(0), fields.shape(1), fields.shape(2)});
            maunet::require(x.numel() > 0, "Model.predict: the array is empty");
            std::copy(fields.data(), fields.data() + fields.size(), x.data());
            Tensor<float> r = maunet::pipeline::apply_precip_model(*net, x);
            if (dst) {
                std::copy(r.begin(), r.end(), dst);
            } else if (workspace) {  // the arena's buffer cannot go to numpy: a heap copy
                maunet::ArenaScope heap(nullptr);
                y = Tensor<float>(r.shape());
                std::copy(r.begin(), r.end(), y.data());
            } else {
                y = std::move(r);
            }
        }
        if (target) return *target;
        if (single) y.reshape(Shape{y.dim(1), y.dim(2)});
        return to_numpy(std::move(y));
    }
};

struct TrainSettings {
    std::string model = "maunet", task = "downscaling", history, out, units = maunet::io::kMillimetresPerDay;
    Index factor = 4, batch = 4, patch = 0, synthetic_size = 64;
    int width = 16, levels = 3, epochs = 20, threads = 0, synthetic_fields = 48;
    double lr = 2e-3, val_fraction = 0.25;
    std::uint64_t seed = 7;
    bool quiet = true;
    Index patches_per_field = 1;      // with patch: patches per field per epoch
    bool augment = false;             // each patch (or field) turned or mirrored by a seeded draw
    std::string transform = "log1p";  // precipitation before the z-score: log1p or linear
};

maunet::pipeline::TrainingSplit<float> training_data(const std::optional<FloatArray>& obs,
                                                     const std::optional<FloatArray>& biased,
                                                     maunet::pipeline::Task task, Index factor,
                                                     const TrainSettings& s) {
    if (!obs) {
        maunet::require(!biased, "biased needs obs (the observations)");
        return maunet::pipeline::training_split_synthetic<float>(task, factor, s.synthetic_size, s.synthetic_fields,
                                                                 s.seed, s.val_fraction);
    }
    const Tensor<float> o = fields_tensor(*obs, "obs");
    if (!biased) return maunet::pipeline::training_split_from_fields<float>(o, nullptr, task, factor, s.val_fraction);
    const Tensor<float> b = fields_tensor(*biased, "biased");
    return maunet::pipeline::training_split_from_fields<float>(o, &b, task, factor, s.val_fraction);
}

maunet::train::TrainerOptions trainer_options(const TrainSettings& s, const std::string& label) {
    maunet::require(s.epochs >= 1, "expected epochs >= 1, got ", s.epochs);
    maunet::require(s.batch >= 1, "expected batch >= 1, got ", s.batch);
    maunet::require(s.patch >= 0, "expected patch >= 0, got ", s.patch);
    maunet::train::TrainerOptions o;
    o.epochs = s.epochs;
    o.learning_rate = s.lr;
    o.loader.batch_size = s.batch;
    o.loader.patch_size = s.patch;
    o.loader.min_valid_fraction = s.patch > 0 ? 0.5 : 0.0;
    o.loader.patches_per_field = s.patches_per_field;
    o.loader.symmetries = s.augment;
    o.loader.seed = s.seed;
    o.seed = s.seed;
    o.history_path = s.history;
    o.label = label;
    o.progress = s.quiet ? maunet::train::ProgressStyle::quiet : maunet::train::ProgressStyle::automatic;
    return o;
}

// As `maunet train`: residual network of the chosen architecture, width and levels.
maunet::nn::UNetConfig network_config(const TrainSettings& s) {
    using maunet::nn::UNetConfig;
    UNetConfig c;
    if (s.model == "maunet") c = UNetConfig::maunet();
    else if (s.model == "maunet-light") c = UNetConfig::maunet_light();
    else if (s.model == "unet") c = UNetConfig::unet();
    else throw maunet::ArgumentError("model '" + s.model + "' is not one of maunet, maunet-light, unet");
    c.levels = s.levels;
    c.base_width = s.width;
    c.dropout_levels = std::min(c.dropout_levels, s.levels);
    c.residual = true;
    c.validate();
    return c;
}

// Saves like `maunet train`: with one held-out input as the file's self-test.
void save_with_selftest(const maunet::pipeline::PrecipModel<float>& model,
                        const maunet::train::DatasetSplit<float>& split, const std::string& out) {
    const auto& held = split.val.empty() ? split.train : split.val;
    const auto sample = held.get(0);
    const auto& first = sample->input;
    Tensor<float> selftest(Shape{1, first.dim(0), first.dim(1), first.dim(2)});
    std::copy(first.begin(), first.end(), selftest.begin());
    model.save(out, &selftest);
}

std::vector<maunet::train::EpochRecord> joined(const maunet::train::TrainResult& a,
                                               const maunet::train::TrainResult& b) {
    auto h = a.history;
    h.insert(h.end(), b.history.begin(), b.history.end());
    return h;
}

Model train(const std::optional<FloatArray>& obs, const std::optional<FloatArray>& biased, const TrainSettings& s) {
    const auto task = maunet::pipeline::task_from_string(s.task);
    const Index factor = task == maunet::pipeline::Task::downscaling ? s.factor : 1;
    const auto config = network_config(s);
    const maunet::io::PrecipUnit unit = maunet::io::precip_unit(s.units, "train: units");
    maunet::require(!unit.is_amount(), "train: units '", s.units, "' are an amount per time step; the model's fields "
                    "are rates, e.g. 'mm day-1'");
    auto data = training_data(obs, biased, task, s.factor, s);
    py::gil_scoped_release release;
    if (s.threads > 0) maunet::set_num_threads(s.threads);
    maunet::Rng init(s.seed + 1);
    maunet::train::TrainResult result;
    auto trained = maunet::pipeline::train_precip_model<float>(config, task, factor, data.split.train, data.split.val,
                                                               trainer_options(s, s.model), init, &result,
                                                               maunet::train::precip_scale_from_string(s.transform));
    trained.set_units(s.units);
    if (!s.out.empty()) save_with_selftest(trained, data.split, s.out);
    return Model{std::make_shared<maunet::pipeline::PrecipModel<float>>(std::move(trained)), result.history};
}

Model distill(const Model& teacher, const std::optional<FloatArray>& obs, const std::optional<FloatArray>& biased,
              const TrainSettings& s, double alpha, double hint_weight, int refine_epochs) {
    const auto& t = *teacher.net;
    const auto task = t.task();
    const Index factor = t.factor();
    auto config = t.net().config();
    config.architecture = "maunet-light";
    config.width_multiplier = std::sqrt(0.6);
    auto data = training_data(obs, biased, task, task == maunet::pipeline::Task::downscaling ? factor : s.factor, s);
    maunet::train::DistillerOptions o;
    o.alpha = alpha;
    o.hint_weight = hint_weight;
    o.refine_epochs = refine_epochs;
    o.trainer = trainer_options(s, "distill");
    o.cache_teacher = s.patch == 0;
    py::gil_scoped_release release;
    if (s.threads > 0) maunet::set_num_threads(s.threads);
    maunet::Rng init(s.seed + 1);
    auto student = std::make_shared<maunet::pipeline::PrecipModel<float>>(config, init, task, factor);
    student->copy_transforms_from(t);
    const auto train_set = student->normalize(data.split.train);
    const auto val_set = data.split.val.empty() ? maunet::train::Dataset<float>() : student->normalize(data.split.val);
    // The teacher is only read (inference), but Distiller takes it by reference.
    auto& teacher_net = const_cast<maunet::nn::UNet<float>&>(t.net());
    const auto r = maunet::train::Distiller<float>(teacher_net, student->net(), o).fit(train_set, val_set);
    if (!s.out.empty()) save_with_selftest(*student, data.split, s.out);
    return Model{student, joined(r.distillation, r.refinement)};
}

// ---------------------------------------------------------------- bias correction

struct BiasCorrection {
    maunet::stats::AnyBiasCorrection<float> method;

    template <class F>
    decltype(auto) visit(F&& f) const {
        return std::visit(std::forward<F>(f), method);
    }

    py::array apply(const FloatArray& x, const std::optional<std::vector<int>>& doy) const {
        const Tensor<float> in = fields_tensor(x, "BiasCorrection.apply");
        Tensor<float> y;
        {
            py::gil_scoped_release release;
            y = visit([&](const auto& m) {
                return doy ? m.apply(in, *doy, m.calibration().windows.days_in_year) : m.apply(in);
            });
        }
        return to_numpy(std::move(y));
    }

    py::dict options() const {
        py::dict d;
        visit([&](const auto& m) {
            using M = std::decay_t<decltype(m)>;
            d["method"] = M::kMethod;
            d["kind"] = maunet::stats::detail::to_string(m.kind());
            if constexpr (!std::is_same_v<M, maunet::stats::LinearScaling<float>>) d["quantiles"] = m.n_quantiles();
            const auto& c = m.config();
            d["window"] = c.window_half_width_days;
            d["days_in_year"] = m.calibration().windows.days_in_year;
            d["threshold"] = c.wet_day_threshold;
            d["max_ratio"] = c.max_ratio;
            d["seed"] = c.seed;
            d["frequency_adaptation"] = c.adapt_wet_day_frequency;
            d["grid"] = py::make_tuple(m.calibration().height, m.calibration().width);
        });
        return d;
    }
};

BiasCorrection bc_fit(const FloatArray& obs, const FloatArray& sim, const std::string& method, const std::string& kind,
                      int window, double threshold, double max_ratio, Index quantiles, std::uint64_t seed,
                      bool frequency_adaptation, const std::optional<std::vector<int>>& obs_doy,
                      const std::optional<std::vector<int>>& sim_doy, int days_in_year) {
    maunet::require(method == "linear" || method == "qm" || method == "qdm", "bias correction: method '", method,
                    "' is not one of linear, qm, qdm");
    maunet::require(kind == "additive" || kind == "multiplicative", "bias correction: kind '", kind,
                    "' is not one of additive, multiplicative");
    maunet::stats::BiasCorrectionConfig cfg;
    cfg.wet_day_threshold = threshold;
    cfg.max_ratio = max_ratio;
    cfg.window_half_width_days = window;
    cfg.seed = seed;
    cfg.adapt_wet_day_frequency = frequency_adaptation;
    const auto k = kind == "additive" ? maunet::stats::Kind::additive : maunet::stats::Kind::multiplicative;
    const Tensor<float> o = fields_tensor(obs, "fit_bias_correction (obs)");
    const Tensor<float> s = fields_tensor(sim, "fit_bias_correction (sim)");
    const bool windows = obs_doy || sim_doy;
    py::gil_scoped_release release;
    auto fitted = [&](auto m) -> maunet::stats::AnyBiasCorrection<float> {
        if (windows) m.fit(o, doy_vector(obs_doy), s, doy_vector(sim_doy), days_in_year);
        else m.fit(o, s);
        return m;
    };
    if (method == "linear") return BiasCorrection{fitted(maunet::stats::LinearScaling<float>(k, cfg))};
    if (method == "qm") return BiasCorrection{fitted(maunet::stats::QuantileMapping<float>(k, cfg, quantiles))};
    return BiasCorrection{fitted(maunet::stats::QuantileDeltaMapping<float>(k, cfg, quantiles))};
}

// ---------------------------------------------------------------- regridding and metrics

py::array regrid(const FloatArray& x, Index factor, const std::string& method, bool clamp_negative) {
    maunet::require_shape(x.ndim() >= 2, "regrid: expected an array whose last two axes are (y, x), got ", x.ndim(),
                          " dimensions");
    maunet::require(factor >= 1, "regrid: expected a factor >= 1, got ", factor);
    const Tensor<float> in = to_tensor(x, "regrid");
    const Index H = in.dim(-2) * factor, W = in.dim(-1) * factor;
    Tensor<float> y;
    py::gil_scoped_release release;
    if (method == "nearest") y = maunet::stats::regrid_nearest(in, H, W);
    else if (method == "bilinear") y = maunet::stats::regrid_bilinear(in, H, W);
    else if (method == "bicubic") y = maunet::stats::regrid_bicubic(in, H, W, clamp_negative);
    else if (method == "block_mean") y = maunet::stats::block_mean(in, factor);
    else throw maunet::ArgumentError("regrid: method '" + method + "' is not one of nearest, bilinear, bicubic, block_mean");
    py::gil_scoped_acquire acquire;
    return to_numpy(std::move(y));
}

py::dict metrics(const FloatArray& pred, const FloatArray& obs, const std::optional<FloatArray>& mask,
                 std::optional<double> data_range, double wet_threshold, const std::vector<double>& event_thresholds,
                 bool ssim) {
    const Tensor<float> p = to_tensor(pred, "metrics (pred)");
    const Tensor<float> o = to_tensor(obs, "metrics (obs)");
    const Tensor<float> m = mask ? to_tensor(*mask, "metrics (mask)") : Tensor<float>();
    double range = 0;
    if (data_range) {
        range = *data_range;
    } else {  // max - min of the valid observations, as `maunet eval`
        double lo = INFINITY, hi = -INFINITY;
        for (Index i = 0; i < o.numel(); ++i)
            if (std::isfinite(o[i]) && (!mask || m[i] != 0)) lo = std::min(lo, double(o[i])), hi = std::max(hi, double(o[i]));
        range = hi > lo ? hi - lo : 1.0;
    }
    maunet::metrics::MetricOptions options(range);
    options.wet_threshold = wet_threshold;
    options.event_thresholds = event_thresholds;
    options.compute_ssim = ssim;
    const auto report = maunet::metrics::evaluate(p, o, m, options);
    py::dict d;
    d["data_range"] = range;
    for (const auto& [name, value] : report.fields()) d[py::str(name)] = value;
    return d;
}

py::list history_list(const std::vector<maunet::train::EpochRecord>& h) {
    py::list l;
    for (const auto& e : h)
        l.append(py::dict(py::arg("stage") = e.stage, py::arg("epoch") = e.epoch, py::arg("train_loss") = e.train_loss,
                          py::arg("val_loss") = e.val_loss, py::arg("lr") = e.lr, py::arg("seconds") = e.seconds));
    return l;
}

}  // namespace

PYBIND11_MODULE(maunet, m) {
    m.doc() = "maunet: bias correction and downscaling of precipitation (MAUNet networks and classical methods).\n\n"
              "Fields are numpy arrays [time, y, x] (float32; other dtypes are converted), NaN marks missing values.";
    m.attr("__version__") = MAUNET_VERSION_STRING;

    // Most specific last: pybind11 tries translators in reverse order of registration.
    static py::exception<maunet::Error> error(m, "Error", PyExc_RuntimeError);
    py::register_exception<maunet::ArgumentError>(m, "ArgumentError", PyExc_ValueError);
    py::register_exception<maunet::ShapeError>(m, "ShapeError", PyExc_ValueError);
    py::register_exception<maunet::FormatError>(m, "FormatError", PyExc_ValueError);
    py::register_exception<maunet::IOError>(m, "IOError", PyExc_OSError);

    m.def("set_num_threads", &maunet::set_num_threads, py::arg("n"),
          "Sets the threads maunet uses inside each call (OpenMP and Eigen), n >= 1. Process-wide.");
    m.def("num_threads", &maunet::num_threads, "The threads maunet uses inside each call.");

    py::class_<Model>(m, "Model", "A trained precipitation model with its data transforms, in physical units.")
        .def_property_readonly("task", [](const Model& s) { return std::string(maunet::pipeline::to_string(s.net->task())); },
                               "'downscaling' or 'bias_correction'.")
        .def_property_readonly("factor", [](const Model& s) { return s.net->factor(); },
                               "The downscaling factor (1 for bias correction).")
        .def_property_readonly("grid_multiple", [](const Model& s) { return s.net->net().config().size_multiple(); },
                               "The network pads grids to a multiple of this (2^levels) internally.")
        .def_property_readonly("in_channels", [](const Model& s) { return s.net->net().config().in_channels; })
        .def_property_readonly("out_channels", [](const Model& s) { return s.net->net().config().out_channels; })
        .def_property_readonly("architecture", [](const Model& s) { return s.net->net().config().architecture; })
        .def_property_readonly("num_parameters", [](const Model& s) { return s.net->net().num_parameters(); })
        .def_property_readonly("history", [](const Model& s) { return history_list(s.history); },
                               "The epochs of training (dicts: stage, epoch, train_loss, val_loss, lr, seconds); "
                               "empty for a loaded model.")
        .def_property_readonly("transform",
                               [](const Model& s) { return std::string(maunet::train::to_string(s.net->target_transform().scale())); },
                               "What precipitation goes through before the z-score: 'log1p' or 'linear'.")
        .def_property_readonly("units", [](const Model& s) { return s.net->units(); },
                               "The physical units of the fields predict takes and gives, as the model file records "
                               "them ('mm day-1'; '' when the file records none).")
        .def("predict", &Model::predict, py::arg("fields"), py::kw_only(), py::arg("out") = py::none(),
             py::arg("workspace") = nullptr,
             "Applies the model to fields [time, y, x] or one field [y, x] in physical units (Model.units). A\n"
             "downscaling model takes the coarse fields and regrids them bicubically first (as `maunet predict`):\n"
             "the result is [time, y * factor, x * factor]. NaN in, NaN out.\n"
             "out: a float32 C-contiguous array of the result's shape to write into (returned).\n"
             "workspace: a Workspace (Model.workspace()); maunet then allocates nothing in a loop of predicts of\n"
             "one size. One workspace per thread.")
        .def("workspace",
             [](const Model& s, const std::vector<Index>& shape) {
                 maunet::require_shape(shape.size() == 2 || shape.size() == 3,
                                       "Model.workspace: expected the shape of the fields, (y, x) or (time, y, x)");
                 auto ws = std::make_unique<Workspace>();
                 {
                     py::gil_scoped_release unlocked;
                     const Shape fields = shape.size() == 2 ? Shape{1, shape[0], shape[1]} : Shape(shape);
                     maunet::require(fields.numel() > 0, "Model.workspace: the shape is empty");
                     maunet::pipeline::prepare_workspace(*s.net, ws->arena, fields);
                 }
                 return ws;
             },
             py::arg("shape"),
             "A Workspace sized for predicting fields of this shape ((y, x) or (time, y, x)) with this model:\n"
             "predict(..., workspace=ws) then allocates nothing inside maunet. Other shapes work and grow it.")
        .def("save", [](const Model& s, const std::string& path) { s.net->save(path); }, py::arg("path"),
             "Writes the model file (atomically; without a self-test: train(..., out=path) embeds one).")
        .def("__repr__", [](const Model& s) {
            return "<maunet.Model " + s.net->net().config().architecture + ", " +
                   maunet::pipeline::to_string(s.net->task()) + ", factor " + std::to_string(s.net->factor()) + ">";
        });

    m.def("load", [](const std::string& path) {
              return Model{std::make_shared<maunet::pipeline::PrecipModel<float>>(
                               maunet::pipeline::PrecipModel<float>::load(path)),
                           {}};
          },
          py::arg("path"), "Loads a model file written by `maunet train`, `maunet distill` or train()/distill().");

    py::class_<Workspace>(m, "Workspace",
                          "Memory a model's predict draws from instead of the heap (Model.workspace()). One thread "
                          "at a time.")
        .def_property_readonly("bytes", [](const Workspace& w) { return w.arena.reserved_bytes(); },
                               "The bytes it holds.");

    const TrainSettings d;
    m.def("train",
          [](std::optional<FloatArray> obs, std::optional<FloatArray> biased, std::string task, Index factor,
             std::string model, int width, int levels, int epochs, double lr, Index batch, Index patch,
             std::uint64_t seed, int threads, double val_fraction, Index synthetic_size, int synthetic_fields,
             std::string history, bool quiet, std::string out, std::string units, Index patches_per_field,
             bool augment, std::string transform) {
              TrainSettings s{model, task, history, out, units, factor, batch, patch, synthetic_size, width, levels,
                              epochs, threads, synthetic_fields, lr, val_fraction, seed, quiet};
              s.patches_per_field = patches_per_field, s.augment = augment, s.transform = transform;
              return train(obs, biased, s);
          },
          py::arg("obs") = py::none(), py::arg("biased") = py::none(), py::kw_only(), py::arg("task") = d.task,
          py::arg("factor") = d.factor, py::arg("model") = d.model, py::arg("width") = d.width,
          py::arg("levels") = d.levels, py::arg("epochs") = d.epochs, py::arg("lr") = d.lr, py::arg("batch") = d.batch,
          py::arg("patch") = d.patch, py::arg("seed") = d.seed, py::arg("threads") = d.threads,
          py::arg("val_fraction") = d.val_fraction, py::arg("synthetic_size") = d.synthetic_size,
          py::arg("synthetic_fields") = d.synthetic_fields, py::arg("history") = d.history,
          py::arg("quiet") = d.quiet, py::arg("out") = d.out, py::arg("units") = d.units,
          py::arg("patches_per_field") = d.patches_per_field, py::arg("augment") = d.augment,
          py::arg("transform") = d.transform,
          "Trains a model as `maunet train` does, with the same options (as keywords).\n\n"
          "obs: observations [time, y, x] (None: the synthetic fields of `maunet demo`); biased: the input\n"
          "product (coarse grid for downscaling, the obs grid for bias correction; None: obs coarsened by\n"
          "`factor` and regridded bicubically, the perfect-model setting). The last `val_fraction` of the time\n"
          "steps validate. With out='file', the model is saved with a self-test. units: those of obs and biased (a\n"
          "rate; default 'mm day-1'), recorded in the model (Model.units). patches_per_field, augment and\n"
          "transform ('log1p' or 'linear') are `maunet train`'s --patches-per-field, --augment and --transform\n"
          "(docs/algorithm.md, \"A recipe for real data\"). Returns a Model.");

    m.def("distill",
          [](const Model& teacher, std::optional<FloatArray> obs, std::optional<FloatArray> biased, Index factor,
             int epochs, double lr, Index batch, Index patch, std::uint64_t seed, int threads, double val_fraction,
             Index synthetic_size, int synthetic_fields, double alpha, double hint_weight, int refine_epochs,
             std::string history, bool quiet, std::string out) {
              TrainSettings s;
              s.factor = factor, s.epochs = epochs, s.lr = lr, s.batch = batch, s.patch = patch, s.seed = seed;
              s.threads = threads, s.val_fraction = val_fraction, s.synthetic_size = synthetic_size;
              s.synthetic_fields = synthetic_fields, s.history = history, s.quiet = quiet, s.out = out;
              return distill(teacher, obs, biased, s, alpha, hint_weight, refine_epochs);
          },
          py::arg("teacher"), py::arg("obs") = py::none(), py::arg("biased") = py::none(), py::kw_only(),
          py::arg("factor") = d.factor, py::arg("epochs") = d.epochs, py::arg("lr") = d.lr, py::arg("batch") = d.batch,
          py::arg("patch") = d.patch, py::arg("seed") = d.seed, py::arg("threads") = d.threads,
          py::arg("val_fraction") = d.val_fraction, py::arg("synthetic_size") = d.synthetic_size,
          py::arg("synthetic_fields") = d.synthetic_fields, py::arg("alpha") = 0.5, py::arg("hint_weight") = 0.0,
          py::arg("refine_epochs") = 5, py::arg("history") = d.history, py::arg("quiet") = d.quiet,
          py::arg("out") = d.out,
          "Distils a trained teacher (a Model) into a MAUNet-Light student, as `maunet distill`: knowledge\n"
          "distillation (alpha: weight of the observations, hint_weight: feature hints), then `refine_epochs`\n"
          "of knowledge refinement. Task and factor come from the teacher (`factor` only sets the coarsening\n"
          "of the perfect-model input for a bias-correction teacher). Returns the student Model.");

    py::class_<BiasCorrection>(m, "BiasCorrection",
                               "A fitted classical bias correction: linear scaling, quantile mapping or quantile "
                               "delta mapping.")
        .def("apply", &BiasCorrection::apply, py::arg("x"), py::arg("doy") = py::none(),
             "Corrects x [time, y, x] (QDM takes the future distribution from x). doy: the 1-based day of year\n"
             "of each time step, needed when the fit used day-of-year windows.")
        .def("save", [](const BiasCorrection& s, const std::string& path) {
                 s.visit([&](const auto& m) { maunet::stats::save_bias_correction(path, m); });
             },
             py::arg("path"), "Writes the fit (versioned, CRC-checked, atomically).")
        .def_property_readonly("options", &BiasCorrection::options, "The method, kind, options and grid of the fit.")
        .def("__repr__", [](const BiasCorrection& s) {
            return "<maunet.BiasCorrection " + py::str(s.options()).cast<std::string>() + ">";
        });

    m.def("fit_bias_correction", &bc_fit, py::arg("obs"), py::arg("sim"), py::kw_only(), py::arg("method") = "qdm",
          py::arg("kind") = "multiplicative", py::arg("window") = 0, py::arg("threshold") = 0.1,
          py::arg("max_ratio") = 10.0, py::arg("quantiles") = 100, py::arg("seed") = 42,
          py::arg("frequency_adaptation") = true, py::arg("obs_doy") = py::none(), py::arg("sim_doy") = py::none(),
          py::arg("days_in_year") = 365,
          "Fits a classical bias correction on observations obs and a simulation sim of the same period\n"
          "([time, y, x], same grid), with the options of `maunet bc`: method 'linear', 'qm' or 'qdm'; kind\n"
          "'multiplicative' (precipitation) or 'additive'; window: half width of the day-of-year windows\n"
          "(0: whole series; > 0 needs obs_doy and sim_doy); threshold, max_ratio, quantiles, seed and\n"
          "frequency_adaptation (False: keep dry days dry). Returns a BiasCorrection.");
    m.def("load_bias_correction", [](const std::string& path) {
              return BiasCorrection{maunet::stats::load_bias_correction<float>(path)};
          },
          py::arg("path"), "Loads a fit written by BiasCorrection.save().");

    m.def("regrid", &regrid, py::arg("x"), py::arg("factor"), py::arg("method") = "bicubic",
          py::arg("clamp_negative") = true,
          "Regrids the last two axes (y, x) by an integer factor: 'nearest', 'bilinear' and 'bicubic'\n"
          "(PyTorch's kernel; clamp_negative sets overshoot below 0 to 0) refine to [y * f, x * f];\n"
          "'block_mean' coarsens to [y / f, x / f] (NaN-aware). NaN marks missing cells.");

    m.def("metrics", &metrics, py::arg("pred"), py::arg("obs"), py::arg("mask") = py::none(),
          py::arg("data_range") = py::none(), py::arg("wet_threshold") = maunet::metrics::kDefaultWetThreshold,
          py::arg("event_thresholds") = std::vector<double>{1.0, 10.0}, py::arg("ssim") = true,
          "Scores pred against obs (same shape; mask: 1 valid, 0 skipped): RMSE, MAE, bias, relative bias,\n"
          "Pearson r, PSNR, SSIM, 95th/99th percentile errors, wet-day frequency error and POD/FAR/CSI at\n"
          "each event threshold. data_range (for PSNR and SSIM) defaults to max - min of the valid obs.\n"
          "Returns a dict.");
}
