// maunet/pipeline/apply_model.hpp: a trained PrecipModel applied to a stack of fields
// [time, h, w] in physical units, the way `maunet predict` and `maunet train` use it. Both are
// PrecipModel's own apply() and network_input() (pipeline/precip_model.hpp), for stacks only:
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

#include "maunet/core/scratch.hpp"
#include "maunet/pipeline/precip_model.hpp"

namespace maunet::pipeline {

// The raw network input [time, 1, H, W] for fields [time, h, w] (see the top of the file).
template <class T>
Tensor<T> model_input(const Tensor<T>& fields, Task task, Index factor) {
    return PrecipModel<T>::network_input(fields, task, factor);
}

// The model's output [time, H, W] for fields [time, h, w] (NaN where the input was missing).
template <class T>
Tensor<T> apply_precip_model(const PrecipModel<T>& model, const Tensor<T>& fields) {
    require_shape(fields.rank() == 3 && fields.numel() > 0, "apply_precip_model: expected fields [time, y, x], got ",
                  fields.shape());
    return model.apply(fields);
}

// Prepares `arena` so that apply_precip_model on fields of `shape` [time, y, x], called in an
// ArenaScope of it, allocates nothing: one prediction on zeros fills the arena with every block
// such a prediction takes, then every thread's kernel scratch grows to the largest any thread
// used (core/scratch.hpp; on a busy machine one thread may get no item of some layer in that
// prediction). The C API's and Python's workspaces are made this way.
template <class T>
void prepare_workspace(const PrecipModel<T>& model, Arena& arena, const Shape& shape) {
    {
        ArenaScope scope(&arena);
        const Tensor<T> zeros(shape);
        const Tensor<T> y = apply_precip_model(model, zeros);
    }
    maunet::detail::grow_scratch_to_high_water<T>();
}

}  // namespace maunet::pipeline
