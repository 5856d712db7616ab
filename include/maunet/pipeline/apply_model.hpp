// maunet/pipeline/apply_model.hpp: a trained PrecipModel applied to a stack of fields
// [time, h, w] in physical units, the way `maunet predict` and `maunet train` use it.
//
//   downscaling (factor f)  each field is regridded bicubically (PyTorch's kernel, a = -0.75,
//                           negative overshoot clamped to 0) to [h f, w f], then the network
//                           corrects it: out [time, h f, w f]
//   bias_correction         the network runs on the fields as they are: out [time, h, w]
//
// model_input() gives the raw network input [time, 1, H, W] (the same regridding), so that
// training samples and predictions see identical inputs. Fields are independent: applying
// the model to any split of the time axis into chunks and concatenating gives the result of
// one call on the whole stack (inference mode, no batch statistics). Only single-channel
// models (precipitation alone, no static predictors) can be applied this way.
#pragma once

#include <algorithm>

#include "maunet/pipeline/precip_model.hpp"
#include "maunet/stats/regrid.hpp"

namespace maunet::pipeline {

// The raw network input [time, 1, H, W] for fields [time, h, w] (see the top of the file).
template <class T>
Tensor<T> model_input(const Tensor<T>& fields, Task task, Index factor) {
    require_shape(fields.rank() == 3 && fields.numel() > 0, "model_input: expected fields [time, y, x], got ",
                  fields.shape());
    require(factor >= 1, "model_input: expected a factor >= 1, got ", factor);
    Tensor<T> fine = (task == Task::downscaling && factor > 1)
                         ? stats::regrid_bicubic(fields, fields.dim(1) * factor, fields.dim(2) * factor, true)
                         : fields;
    Tensor<T> input(Shape{fine.dim(0), 1, fine.dim(1), fine.dim(2)});
    std::copy(fine.begin(), fine.end(), input.begin());
    return input;
}

// The model's output [time, H, W] for fields [time, h, w] (NaN where the input was missing).
template <class T>
Tensor<T> apply_precip_model(const PrecipModel<T>& model, const Tensor<T>& fields) {
    require(model.net().config().in_channels == 1, "apply_precip_model: the model takes ",
            model.net().config().in_channels, " input channels; only precipitation-only models (1 channel) can be "
            "applied to a field file");
    const Tensor<T> input = model_input(fields, model.task(), model.factor());
    const Tensor<T> y = model.predict(input);
    Tensor<T> out(Shape{y.dim(0), y.dim(2), y.dim(3)});
    std::copy(y.begin(), y.end(), out.begin());
    return out;
}

}  // namespace maunet::pipeline
