// maunet/maunet.hpp: the whole library in one include.
//
// Layers, bottom to top (each includes only those below it): core, parallel, autograd, nn,
// optim, train, stats, metrics, io. The optional NetCDF reader and writer (maunet/io/netcdf.hpp)
// is included only when the build links maunet::netcdf, the PNG writer when stb is installed,
// the MPI communicator when the build links maunet::mpi.
#pragma once

#include "maunet/version.hpp"

#include "maunet/core/errors.hpp"
#include "maunet/core/random.hpp"
#include "maunet/core/shape.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/core/heap.hpp"
#include "maunet/core/threading.hpp"
#include "maunet/core/xtensor_bridge.hpp"

#include "maunet/parallel/agreement.hpp"
#include "maunet/parallel/chunked_map.hpp"
#include "maunet/parallel/communicator.hpp"

#include "maunet/autograd/variable.hpp"
#include "maunet/autograd/ops/elementwise.hpp"
#include "maunet/autograd/ops/activation.hpp"
#include "maunet/autograd/ops/batch_norm.hpp"
#include "maunet/autograd/ops/conv2d.hpp"
#include "maunet/autograd/ops/conv_transpose2d.hpp"
#include "maunet/autograd/ops/dropout.hpp"
#include "maunet/autograd/ops/loss.hpp"
#include "maunet/autograd/ops/matmul.hpp"
#include "maunet/autograd/ops/max_average_pool.hpp"
#include "maunet/autograd/ops/pooling.hpp"
#include "maunet/autograd/ops/reduction.hpp"
#include "maunet/autograd/ops/shape_ops.hpp"
#include "maunet/autograd/ops/upsample.hpp"

#include "maunet/nn/models/unet.hpp"

#include "maunet/optim/adam.hpp"
#include "maunet/optim/clip.hpp"
#include "maunet/optim/schedule.hpp"
#include "maunet/optim/sgd.hpp"

#include "maunet/train/dataset.hpp"
#include "maunet/train/synthetic.hpp"
#include "maunet/train/trainer.hpp"
#include "maunet/train/transforms.hpp"

#include "maunet/stats/bias_correction_file.hpp"
#include "maunet/stats/linear_scaling.hpp"
#include "maunet/stats/quantile_delta_mapping.hpp"
#include "maunet/stats/quantile_mapping.hpp"
#include "maunet/stats/regrid.hpp"
#include "maunet/stats/sample_summary.hpp"

#include "maunet/metrics/report.hpp"

#include "maunet/io/atomic_file.hpp"
#include "maunet/io/cf_time.hpp"
#include "maunet/io/checkpoint.hpp"
#include "maunet/io/json.hpp"
#include "maunet/io/map_axes.hpp"
#include "maunet/io/npy.hpp"
#include "maunet/io/npz.hpp"
#include "maunet/io/weights_npz.hpp"

#include "maunet/pipeline/apply_model.hpp"
#include "maunet/pipeline/compare.hpp"
#include "maunet/pipeline/day_of_year.hpp"
#include "maunet/pipeline/grid_coordinates.hpp"
#include "maunet/pipeline/precip_model.hpp"
#include "maunet/pipeline/train_model.hpp"
#include "maunet/pipeline/training_fields.hpp"

#include "maunet/train/distiller.hpp"

// Optional parts: NetCDF when the build links maunet::netcdf, PNG when stb is installed.
#if defined(MAUNET_HAVE_NETCDF)
#include "maunet/io/coastline.hpp"
#include "maunet/io/grid_axes.hpp"
#include "maunet/io/netcdf.hpp"
#include "maunet/pipeline/field_stream.hpp"
#include "maunet/pipeline/grid_match.hpp"
#include "maunet/pipeline/static_fields.hpp"
#endif
#if __has_include(<stb/stb_image_write.h>)
#include "maunet/io/png.hpp"
#endif
#if defined(MAUNET_HAVE_MPI)
#include "maunet/parallel/mpi_communicator.hpp"
#endif
