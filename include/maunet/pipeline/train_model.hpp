// maunet/pipeline/train_model.hpp: the whole supervised recipe in one call: fit the transforms
// on the training split, normalise the splits, train with early stopping and best-weight
// restore, and hand back a PrecipModel that works in physical units. `scale`: what precipitation
// goes through before the z-score (train/transforms.hpp).
#pragma once

#include "maunet/pipeline/precip_model.hpp"
#include "maunet/train/trainer.hpp"

namespace maunet::pipeline {

template <class T>
PrecipModel<T> train_precip_model(const nn::UNetConfig& config, Task task, Index factor,
                                  const train::Dataset<T>& raw_train, const train::Dataset<T>& raw_val,
                                  const train::TrainerOptions& options, Rng& init_rng,
                                  train::TrainResult* result = nullptr,
                                  train::PrecipScale scale = train::PrecipScale::log1p) {
    PrecipModel<T> model(config, init_rng, task, factor, scale);
    model.fit_transforms(raw_train);
    const train::Dataset<T> train_set = model.normalize(raw_train);
    const train::Dataset<T> val_set = raw_val.empty() ? train::Dataset<T>() : model.normalize(raw_val);
    train::TrainerOptions o = options;
    if (o.loss == train::LossKind::bernoulli_gamma && !o.target_to_amount) {
        const train::PrecipTransform<T> to_amount = model.target_transform();  // the likelihood models amounts
        o.target_to_amount = [to_amount](double z) { return to_amount.amount(z); };
    }
    train::Trainer<T> trainer(model.net(), o);
    train::TrainResult r = trainer.fit(train_set, val_set);
    if (result) *result = std::move(r);
    return model;
}

}  // namespace maunet::pipeline
