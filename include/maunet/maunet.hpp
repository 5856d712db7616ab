// maunet/maunet.hpp: the whole library in one include.
//
// Layers, bottom to top (each includes only those below it): core, autograd, nn, optim,
// train, stats, metrics, io. The optional NetCDF reader and writer (maunet/io/netcdf.hpp)
// is included only when the build links maunet::netcdf.
#pragma once

#include "maunet/version.hpp"

#include "maunet/core/errors.hpp"
#include "maunet/core/random.hpp"
#include "maunet/core/shape.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/core/threading.hpp"
#include "maunet/core/xtensor_bridge.hpp"

#include "maunet/autograd/variable.hpp"
#include "maunet/autograd/ops/elementwise.hpp"
