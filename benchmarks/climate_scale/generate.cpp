// benchmarks/climate_scale/generate.cpp: writes a long daily precipitation file for the
// climate-scale benchmark (run.sh), a time step at a time.
//   generate OUT --days N --ny H --nx W --seed S [--scale A --shift B]
// pr(time, lat, lon) in mm/day, CF metadata (lat/lon, days since 1981-01-01, standard
// calendar): each cell is dry with a probability that follows the season and a smooth
// spatial pattern, wet days are A * Gamma(0.8, 8) + B (Marsaglia-Tsang), so the "model" twin
// of the observations is scaled and shifted. Deterministic for a seed.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <maunet/core/random.hpp>
#include <maunet/io/netcdf.hpp>

using namespace maunet;

namespace {
double gamma_draw(Rng& rng, double shape) {
    // Marsaglia & Tsang (2000); shape < 1 by the boost u^(1 / shape).
    if (shape < 1) return gamma_draw(rng, shape + 1) * std::pow(std::max(rng.uniform(), 1e-300), 1.0 / shape);
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = rng.normal();
            v = 1.0 + c * x;
        } while (v <= 0);
        v = v * v * v;
        const double u = rng.uniform();
        if (std::log(std::max(u, 1e-300)) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: generate OUT --days N --ny H --nx W --seed S [--scale A --shift B]\n");
        return 2;
    }
    std::string out = argv[1];
    long days = 10958, ny = 200, nx = 200;
    unsigned long long seed = 1;
    double scale = 1, shift = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const char* v = argv[i + 1];
        if (k == "--days") days = std::atol(v);
        else if (k == "--ny") ny = std::atol(v);
        else if (k == "--nx") nx = std::atol(v);
        else if (k == "--seed") seed = std::strtoull(v, nullptr, 10);
        else if (k == "--scale") scale = std::atof(v);
        else if (k == "--shift") shift = std::atof(v);
        else {
            std::fprintf(stderr, "generate: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    io::GridField<float> g;
    g.variable = "pr";
    g.units = "mm/day";
    g.standard_name = "lwe_precipitation_rate";
    g.long_name = "daily precipitation";
    g.y_name = "lat";
    g.x_name = "lon";
    for (long j = 0; j < ny; ++j) g.y.push_back(35.0 + 0.1 * double(j));
    for (long i = 0; i < nx; ++i) g.x.push_back(-10.0 + 0.1 * double(i));
    g.time_units = "days since 1981-01-01 00:00:00";
    g.calendar = "standard";
    g.data = Tensor<float>(Shape{1, ny, nx});
    io::NetcdfWriterOptions options;
    options.command = "benchmarks/climate_scale/generate";
    io::NetcdfWriter writer(out, g, options);
    Rng rng(seed);
    const double two_pi = 6.283185307179586;
    for (long t = 0; t < days; ++t) {
        io::GridField<float> step = g;
        step.time = {double(t)};
        const double season = std::sin(two_pi * double(t) / 365.25);
        for (long j = 0; j < ny; ++j)
            for (long i = 0; i < nx; ++i) {
                const double p_dry = 0.45 + 0.15 * season + 0.1 * std::sin(0.05 * double(i + 2 * j));
                const double v = rng.uniform() < p_dry ? 0.0 : scale * 8.0 * gamma_draw(rng, 0.8) + shift;
                step.data(0, j, i) = static_cast<float>(v);
            }
        writer.append(step);
    }
    writer.close();
    std::printf("%s: %ld days of %ld x %ld\n", out.c_str(), days, ny, nx);
    return 0;
}
