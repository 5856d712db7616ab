// Writes a small precipitation model (untrained weights, transforms fitted on synthetic data)
// and a reference for the binding tests: an input [n, ny, nx] (coarse for downscaling, with
// a block of missing cells) and the output the C++ library gives for it (pipeline::apply_precip_model
// on the model as loaded from the file). Files: raw little-endian float32, row-major.
//
//   make_test_model MODEL INPUT EXPECTED ARCHITECTURE WIDTH LEVELS FACTOR N NY NX [UNITS]
//
// UNITS: recorded in the model (default "mm day-1"; "" writes a file without units, as files
// were before units were recorded).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "maunet/io/units.hpp"
#include "maunet/pipeline/apply_model.hpp"
#include "maunet/train/synthetic.hpp"

namespace {

void write_floats(const std::string& path, const maunet::Tensor<float>& t) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(sizeof(float) * t.numel()));
    if (!out) throw maunet::IOError("cannot write '" + path + "'");
}

int run(int argc, char** argv) {
    using namespace maunet;
    const std::string arch = argv[4];
    nn::UNetConfig config = arch == "unet"           ? nn::UNetConfig::unet()
                            : arch == "maunet-light" ? nn::UNetConfig::maunet_light()
                                                     : nn::UNetConfig::maunet();
    config.base_width = std::atoi(argv[5]);
    config.levels = std::atoi(argv[6]);
    const Index factor = std::atoi(argv[7]), n = std::atoi(argv[8]), ny = std::atoi(argv[9]), nx = std::atoi(argv[10]);
    const auto task = factor > 1 ? pipeline::Task::downscaling : pipeline::Task::bias_correction;

    train::SyntheticConfig sc;
    sc.height = ny * factor;
    sc.width = nx * factor;
    sc.factor = factor > 1 ? factor : 4;
    sc.num_fields = 6;
    sc.seed = 3;
    const auto data = train::generate_synthetic<float>(sc);
    const auto bicubic = [](const Tensor<float>& coarse, Index H, Index W) {
        return stats::regrid_bicubic(coarse, H, W, true);
    };
    const auto dataset = factor > 1 ? train::downscaling_dataset<float>(data, false, bicubic)
                                    : train::bias_correction_dataset<float>(data);
    Rng rng(5);
    pipeline::PrecipModel<float> model(config, rng, task, factor);
    model.fit_transforms(dataset);
    model.set_units(argc > 11 ? argv[11] : io::kMillimetresPerDay);  // the synthetic fields are in mm/day
    Tensor<float> selftest(Shape{1, 1, sc.height, sc.width});
    const auto sample = dataset.get(0);
    const auto& first = sample->input;
    std::copy(first.begin(), first.begin() + selftest.numel(), selftest.begin());
    model.save(argv[1], &selftest);

    Tensor<float> input(Shape{n, ny, nx});
    Rng values(9);
    for (auto& v : input) v = values.uniform() < 0.3 ? 0.0f : static_cast<float>(20.0 * values.uniform());
    // A 2 x 2 block of missing cells in the first field: bicubic fills a lone missing cell from
    // its neighbours (stats/regrid.hpp), but the fine cells amid a block have no valid inner tap,
    // so the missing values reach the output.
    require(ny >= 3 && nx >= 3, "make_test_model: the coarse grid must be at least 3 x 3");
    for (Index y = 1; y <= 2; ++y)
        for (Index x = 1; x <= 2; ++x) input[y * nx + x] = std::numeric_limits<float>::quiet_NaN();
    const auto loaded = pipeline::PrecipModel<float>::load(argv[1]);
    write_floats(argv[2], input);
    write_floats(argv[3], pipeline::apply_precip_model(loaded, input));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 11 && argc != 12) {
        std::fprintf(stderr,
                     "usage: make_test_model MODEL INPUT EXPECTED ARCHITECTURE WIDTH LEVELS FACTOR N NY NX [UNITS]\n");
        return 2;
    }
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_test_model: %s\n", e.what());
        return 1;
    }
}
