// maunet/io/model_config.hpp: UNetConfig to and from JSON (checkpoints, `maunet info`).
#pragma once

#include <string>

#include "maunet/io/json.hpp"
#include "maunet/nn/models/unet.hpp"

namespace maunet::io {

inline PoolMode pool_mode_from_string(const std::string& s) {
    for (PoolMode m : {PoolMode::mean, PoolMode::concat, PoolMode::learned, PoolMode::max, PoolMode::avg})
        if (s == maunet::to_string(m)) return m;
    throw ArgumentError("pool mode '" + s + "' is not one of mean, concat, learned, max, avg");
}
inline nn::UpsampleMode upsample_mode_from_string(const std::string& s) {
    for (auto m : {nn::UpsampleMode::mean, nn::UpsampleMode::transposed, nn::UpsampleMode::resize_conv})
        if (s == nn::to_string(m)) return m;
    throw ArgumentError("upsample mode '" + s + "' is not one of mean, transposed, resize_conv");
}

inline Json to_json(const nn::UNetConfig& c) {
    Json j = Json::object();
    j.set("architecture", c.architecture)
        .set("levels", c.levels)
        .set("base_width", c.base_width)
        .set("width_multiplier", c.width_multiplier)
        .set("in_channels", c.in_channels)
        .set("out_channels", c.out_channels)
        .set("dropout_rate", c.dropout_rate)
        .set("dropout_levels", c.dropout_levels)
        .set("dropout_bottleneck", c.dropout_bottleneck)
        .set("residual", c.residual)
        .set("residual_channel", c.residual_channel)
        .set("pool_mode", maunet::to_string(c.pool_mode))
        .set("upsample_mode", nn::to_string(c.upsample_mode))
        .set("batch_norm", c.batch_norm);
    return j;
}

// Reads every field (a missing field is an error: a checkpoint must say what it holds).
inline nn::UNetConfig unet_config_from_json(const Json& j) {
    nn::UNetConfig c;
    auto integer = [&](const char* key) { return static_cast<int>(j.at(key).as_number()); };
    c.architecture = j.at("architecture").as_string();
    c.levels = integer("levels");
    c.base_width = integer("base_width");
    c.width_multiplier = j.at("width_multiplier").as_number();
    c.in_channels = integer("in_channels");
    c.out_channels = integer("out_channels");
    c.dropout_rate = j.at("dropout_rate").as_number();
    c.dropout_levels = integer("dropout_levels");
    c.dropout_bottleneck = j.at("dropout_bottleneck").as_bool();
    c.residual = j.at("residual").as_bool();
    c.residual_channel = integer("residual_channel");
    c.pool_mode = pool_mode_from_string(j.at("pool_mode").as_string());
    c.upsample_mode = upsample_mode_from_string(j.at("upsample_mode").as_string());
    c.batch_norm = j.at("batch_norm").as_bool();
    c.validate();
    return c;
}

}  // namespace maunet::io
