// maunet/nn/models/unet.hpp: the U-Net family: MAUNet (teacher), MAUNet-Light (student) and the
// plain U-Net baseline, one class built from a UNetConfig (docs/models.md, Networks).
//
//   x ─pad─> ConvBlock ─MAU─> ConvBlock ─MAU─> ... ─> bottleneck ─USU(skip)─> ... ─USU(skip)─> 1x1 ─crop─> (+ x_c)
//            width F           2F                    2^L F          2^(L-1) F           F
//
// The network works on the target grid; the caller regrids a coarse input first. Inputs whose
// height or width is not a multiple of 2^L are padded (reflect when the pad is smaller than
// the extent, zero otherwise) and the output is cropped back. With `residual`, the network
// predicts a correction added to input channel `residual_channel` (the precipitation).
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "maunet/autograd/ops/shape_ops.hpp"
#include "maunet/nn/blocks/conv_block.hpp"
#include "maunet/nn/blocks/max_average_unit.hpp"
#include "maunet/nn/blocks/upsampler_unit.hpp"
#include "maunet/nn/layers/dropout.hpp"

namespace maunet::nn {

struct UNetConfig {
    std::string architecture = "maunet";  // "maunet", "maunet-light" or "unet": a label for files and tables
    int levels = 4;                       // L: number of MAU downsamplings
    int base_width = 32;                  // F: channels of the first level before the multiplier
    double width_multiplier = 1.0;        // first-level width = round(F * multiplier)
    int in_channels = 1;                  // precipitation plus optional static predictors
    int out_channels = 1;
    double dropout_rate = 0.2;
    int dropout_levels = 2;               // dropout after the deepest this-many encoder blocks ...
    bool dropout_bottleneck = true;       // ... and after the bottleneck
    bool residual = true;                 // output = input[residual_channel] + network correction
    int residual_channel = 0;
    PoolMode pool_mode = PoolMode::mean;
    UpsampleMode upsample_mode = UpsampleMode::mean;
    bool batch_norm = false;

    // The defaults of docs/models.md.
    static UNetConfig maunet() { return UNetConfig{}; }
    // Same topology, width F * sqrt(0.6) (25 for F = 32): about 60% of the teacher's parameters.
    static UNetConfig maunet_light() {
        UNetConfig c;
        c.architecture = "maunet-light";
        c.width_multiplier = std::sqrt(0.6);
        return c;
    }
    // The plain U-Net: max-pooling, transposed-conv upsampling, no dropout, no residual. With the
    // defaults this is exactly the 7,759,521-parameter network of `maunet bench --model unet`.
    static UNetConfig unet() {
        UNetConfig c;
        c.architecture = "unet";
        c.pool_mode = PoolMode::max;
        c.upsample_mode = UpsampleMode::transposed;
        c.dropout_rate = 0.0;
        c.residual = false;
        return c;
    }

    Index first_width() const { return static_cast<Index>(std::lround(base_width * width_multiplier)); }
    // Channels of encoder level l (0-based); level L is the bottleneck.
    Index width(int level) const { return first_width() << level; }
    // Height and width must be padded to a multiple of this.
    Index size_multiple() const { return Index(1) << levels; }

    void validate() const {
        require(levels >= 1 && levels <= 8, "UNetConfig: levels must be in [1, 8], got ", levels);
        require(base_width >= 1 && width_multiplier > 0 && first_width() >= 1,
                "UNetConfig: base_width * width_multiplier must give at least one channel, got ", base_width, " * ",
                width_multiplier);
        require(in_channels >= 1 && out_channels >= 1, "UNetConfig: in_channels and out_channels must be >= 1, got ",
                in_channels, " and ", out_channels);
        require(dropout_rate >= 0 && dropout_rate < 1, "UNetConfig: dropout_rate must be in [0, 1), got ",
                dropout_rate);
        require(dropout_levels >= 0 && dropout_levels <= levels, "UNetConfig: dropout_levels must be in [0, ", levels,
                "], got ", dropout_levels);
        require(!residual || (residual_channel >= 0 && residual_channel < in_channels),
                "UNetConfig: residual_channel ", residual_channel, " is not an input channel (in_channels = ",
                in_channels, ")");
    }
};

template <class T>
class UNet : public Module<T> {
public:
    // Builds the network and draws its initial weights from `rng` in registration order.
    UNet(const UNetConfig& config, Rng& rng) : config_(config) {
        config_.validate();
        const int L = config_.levels;
        auto& enc = this->register_module("encoder", std::make_unique<Container>());
        auto& down = this->register_module("down", std::make_unique<Container>());
        Index in = config_.in_channels;
        for (int l = 0; l < L; ++l) {
            encoder_.push_back(&enc.add(std::to_string(l), std::make_unique<ConvBlock<T>>(in, config_.width(l), rng,
                                                                                          config_.batch_norm)));
            down_.push_back(&down.add(std::to_string(l),
                                      std::make_unique<MaxAverageUnit<T>>(config_.width(l), config_.pool_mode, rng)));
            in = config_.width(l);
        }
        bottleneck_ = &this->register_module(
            "bottleneck", std::make_unique<ConvBlock<T>>(in, config_.width(L), rng, config_.batch_norm));
        auto& dec = this->register_module("decoder", std::make_unique<Container>());
        for (int i = 0; i < L; ++i) {  // decoder.0 is the deepest, applied first
            const int l = L - 1 - i;
            decoder_.push_back(&dec.add(std::to_string(i),
                                        std::make_unique<UpSamplerUnit<T>>(config_.width(l + 1), config_.width(l),
                                                                           config_.upsample_mode, rng,
                                                                           config_.batch_norm)));
        }
        head_ = &this->register_module("head",
                                       std::make_unique<Conv2d<T>>(config_.width(0), config_.out_channels, 1, rng));
        dropout_ = std::make_unique<Dropout<T>>(static_cast<T>(config_.dropout_rate));
    }

    const UNetConfig& config() const { return config_; }

    // x [N, in_channels, H, W] -> [N, out_channels, H, W]. When `features` is given, it receives
    // the bottleneck output followed by each decoder level's output (deepest first): the
    // tensors feature-hint distillation compares.
    Var<T> forward(const Var<T>& x, const ForwardMode& mode, std::vector<Var<T>>* features = nullptr) const {
        require_shape(x.shape().rank() == 4 && x.shape()[1] == config_.in_channels, config_.architecture,
                      ": expected input [N, ", config_.in_channels, ", H, W], got ", x.shape());
        const Index H = x.shape()[2], W = x.shape()[3], m = config_.size_multiple();
        const Index ph = (m - H % m) % m, pw = (m - W % m) % m;
        Var<T> h = x;
        if (ph || pw) {
            const bool can_reflect = ph / 2 + ph % 2 < H && pw / 2 + pw % 2 < W;
            h = pad2d(x, ph / 2, ph - ph / 2, pw / 2, pw - pw / 2, can_reflect ? PadMode::reflect : PadMode::zero);
        }
        const int L = config_.levels;
        ArenaVector<Var<T>> skips;  // from a workspace's arena, if set
        skips.reserve(static_cast<std::size_t>(L));
        for (int l = 0; l < L; ++l) {
            h = encoder_[static_cast<std::size_t>(l)]->forward(h, mode);
            if (l >= L - config_.dropout_levels) h = dropout_->forward(h, mode);
            skips.push_back(h);
            h = down_[static_cast<std::size_t>(l)]->forward(h);
        }
        h = bottleneck_->forward(h, mode);
        if (config_.dropout_bottleneck) h = dropout_->forward(h, mode);
        if (features) features->push_back(h);
        for (int i = 0; i < L; ++i) {
            h = decoder_[static_cast<std::size_t>(i)]->forward(h, skips[static_cast<std::size_t>(L - 1 - i)], mode);
            if (features) features->push_back(h);
        }
        Var<T> y = head_->forward(h);
        if (ph || pw) y = crop2d(y, ph / 2, pw / 2, H, W);
        if (config_.residual) y = y + slice(x, 1, config_.residual_channel, config_.residual_channel + 1);
        return y;
    }

    // Training-mode forward with this module's train()/eval() setting.
    Var<T> forward(const Var<T>& x, Rng* rng = nullptr) const {
        return forward(x, ForwardMode{this->is_training(), rng});
    }

    // Inference on a tensor: eval semantics whatever the mode, no graph recorded. Thread-safe.
    Tensor<T> predict(const Tensor<T>& x) const {
        NoGradGuard no_grad;
        return forward(Var<T>(x), ForwardMode{false, nullptr}).value();
    }

    // One Monte Carlo dropout sample (Gal & Ghahramani 2016): inference with the dropout masks
    // drawn from `rng` (batch norm on its running statistics). No graph recorded; thread-safe
    // with one engine per thread. Requires has_dropout().
    Tensor<T> predict_sampled(const Tensor<T>& x, Rng& rng) const {
        require(has_dropout(), config_.architecture, ": MC dropout needs dropout layers; this network has none (",
                "dropout_rate ", config_.dropout_rate, ", ", config_.dropout_levels, " levels, bottleneck ",
                config_.dropout_bottleneck ? "on" : "off", ")");
        NoGradGuard no_grad;
        ForwardMode mode{false, &rng};
        mode.sample_dropout = true;
        return forward(Var<T>(x), mode).value();
    }
    // Whether any dropout layer is active in training (and so can be sampled at predict time).
    bool has_dropout() const {
        return config_.dropout_rate > 0 && (config_.dropout_levels > 0 || config_.dropout_bottleneck);
    }

    // Floating-point operations of one forward pass on [N, C, H, W] (2 per multiply-add of every
    // convolution; pooling, activations and additions are not counted, by convention).
    double forward_flops(Index N, Index H, Index W) const {
        const Index m = config_.size_multiple();
        Index h = (H + m - 1) / m * m, w = (W + m - 1) / m * m;
        auto conv = [&](Index cin, Index cout, Index k, Index hh, Index ww) {
            return 2.0 * double(cin) * double(cout) * double(k * k) * double(hh) * double(ww) * double(N);
        };
        double f = 0;
        Index in = config_.in_channels;
        for (int l = 0; l <= config_.levels; ++l) {
            const Index c = config_.width(l);
            f += conv(in, c, 3, h, w) + conv(c, c, 3, h, w);  // encoder block (or bottleneck at l == L)
            if (l < config_.levels && config_.pool_mode == PoolMode::concat) f += conv(2 * c, c, 1, h / 2, w / 2);
            in = c;
            if (l < config_.levels) h /= 2, w /= 2;
        }
        for (int l = config_.levels - 1; l >= 0; --l) {
            const Index cin = config_.width(l + 1), c = config_.width(l);
            if (config_.upsample_mode != UpsampleMode::resize_conv) f += conv(cin, c, 2, h, w);
            h *= 2, w *= 2;
            if (config_.upsample_mode != UpsampleMode::transposed) f += conv(cin, c, 3, h, w);
            f += conv(2 * c, c, 3, h, w) + conv(c, c, 3, h, w);
        }
        return f + conv(config_.width(0), config_.out_channels, 1, h, w);
    }

private:
    // A named list of children ("encoder.0", "encoder.1", ...), like torch.nn.ModuleList.
    class Container : public Module<T> {
    public:
        template <class M>
        M& add(std::string name, std::unique_ptr<M> m) {
            return this->register_module(std::move(name), std::move(m));
        }
    };

    UNetConfig config_;
    std::vector<ConvBlock<T>*> encoder_;
    std::vector<MaxAverageUnit<T>*> down_;
    ConvBlock<T>* bottleneck_ = nullptr;
    std::vector<UpSamplerUnit<T>*> decoder_;
    Conv2d<T>* head_ = nullptr;
    std::unique_ptr<Dropout<T>> dropout_;
};

}  // namespace maunet::nn
