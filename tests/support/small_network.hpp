// small_network(c): the architecture of `c` (MAUNet by default) at 2 levels and base width 4, the
// size the tests train and differentiate: every block and skip is there, with parameters few
// enough for finite differences and training runs of a second.
#pragma once

#include "maunet/nn/models/unet.hpp"

namespace maunet::testing {

inline nn::UNetConfig small_network(nn::UNetConfig c = nn::UNetConfig::maunet()) {
    c.levels = 2;
    c.base_width = 4;
    return c;
}

}  // namespace maunet::testing
