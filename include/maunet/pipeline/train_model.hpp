// maunet/pipeline/train_model.hpp: the whole supervised recipe in one call: fit the transforms
// on the training split, normalise the splits, train with early stopping and best-weight
// restore, and hand back a PrecipModel that works in physical units.
#pragma once

#include "maunet/pipeline/precip_model.hpp"
#include "maunet/train/trainer.hpp"

namespace maunet::pipeline {

template <class T>
PrecipModel<T> train_precip_model(const nn::UNetConfig& config, Task task, Index factor,
                                  const train::Dataset<T>& raw_train, const train::Dataset<T>& raw_val,
                                  const train::TrainerOptions& options, Rng& init_rng,
                                  train::TrainResult* result = nullptr) {
    PrecipModel<T> model(config, init_rng, task, factor);
    model.fit_transforms(raw_train);
    const train::Dataset<T> train_set = model.normalize(raw_train);
    const train::Dataset<T> val_set = raw_val.empty() ? train::Dataset<T>() : model.normalize(raw_val);
    train::TrainerOptions o = options;
    if (o.loss == train::LossKind::bernoulli_gamma && !o.target_to_amount) {
        const auto scaling = model.target_transform().scaling();  // the likelihood models amounts
        o.target_to_amount = [scaling](double z) { return scaling.inverse(z); };
    }
    train::Trainer<T> trainer(model.net(), o);
    train::TrainResult r = trainer.fit(train_set, val_set);
    if (result) *result = std::move(r);
    return model;
}

}  // namespace maunet::pipeline
