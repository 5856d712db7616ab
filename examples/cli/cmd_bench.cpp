// `maunet bench`: times whole training or inference steps of a network of fixed shape, so it
// can be compared with PyTorch running the same network (benchmarks/pytorch_reference.py).
//
// With --model unet and the defaults the network is exactly: 1 input and 1 output channel;
// encoder widths 32-64-128-256, two 3x3 conv (padding 1) + ReLU per level and 2x2 max-pool;
// bottleneck two 3x3 conv + ReLU at 512; decoder ConvTranspose2d 2x2 stride 2, concat skip,
// two 3x3 conv + ReLU; 1x1 output conv; no norm, no dropout: 7,759,521 parameters.
// A train step is: zero grads, forward, MSE, backward, Adam step. FLOPs are counted as
// 2 per multiply-add of the convolutions, a train step as 3x the forward pass.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <maunet/autograd/ops/loss.hpp>
#include <maunet/core/arena.hpp>
#include <maunet/core/heap.hpp>
#include <maunet/core/region_profile.hpp>
#include <maunet/io/atomic_file.hpp>
#include <maunet/io/json.hpp>
#include <maunet/nn/models/unet.hpp>
#include <maunet/optim/adam.hpp>
#include <maunet/pipeline/compare.hpp>

#include "cli/commands.hpp"
#include "cli/limits.hpp"

namespace maunet::cli {
namespace {

struct BenchSettings {
    std::string model = "unet";
    std::string mode = "train";
    int batch = 8;
    int size = 128;
    int threads = 1;
    int warmup = 2;
    int repeats = 5;
    int versus_threads = 0;  // 0: time --threads alone
    bool regions = false;    // also print where the time went, region by region
    std::string json;
};

// The --regions table (core/region_profile.hpp): per source line, the wall time over the timed
// steps at each thread count, their ratio, and the thread-time the team spent waiting; then what
// ran outside every region (no second thread helps there). The 14 largest lines, the rest summed.
// A line may appear at one thread count only (a kernel that splits its work another way there).
void print_regions(const std::vector<RegionTotals>& all, const std::vector<int>& settings,
                   const std::vector<double>& step_seconds) {
    struct Row {
        std::string site;
        long calls = 0;
        std::vector<double> wall, waiting;
    };
    const std::size_t k = settings.size();
    std::vector<Row> rows;
    for (const RegionTotals& r : all) {
        std::size_t col = 0;
        while (col < k && settings[col] != r.threads) ++col;
        if (col == k) continue;
        auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& x) { return x.site == r.site; });
        if (it == rows.end()) {
            rows.push_back({r.site, 0, std::vector<double>(k, 0.0), std::vector<double>(k, 0.0)});
            it = rows.end() - 1;
        }
        it->calls = std::max(it->calls, r.calls);  // the larger count of the thread counts
        it->wall[col] += r.wall_s;
        it->waiting[col] += r.waiting_s;
    }
    // Largest first, by the larger of the columns (a line may run at one thread count only).
    auto largest = [](const Row& r) { return *std::max_element(r.wall.begin(), r.wall.end()); };
    std::sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return largest(a) > largest(b); });
    Row others{"(other regions)", 0, std::vector<double>(k, 0.0), std::vector<double>(k, 0.0)};
    Row outside{"(outside regions)", 0, std::vector<double>(step_seconds), std::vector<double>(k, 0.0)};
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (std::size_t c = 0; c < k; ++c) {
            outside.wall[c] -= rows[i].wall[c];
            if (i >= 14) {
                others.calls += c == 0 ? rows[i].calls : 0;  // once per line
                others.wall[c] += rows[i].wall[c];
                others.waiting[c] += rows[i].waiting[c];
            }
        }
    if (rows.size() > 14) rows.resize(14);
    rows.push_back(others);
    rows.push_back(outside);
    rows.push_back({"(whole steps)", 0, std::vector<double>(step_seconds), std::vector<double>(k, 0.0)});
    std::printf("  parallel regions over the timed steps, seconds (wall at each thread count; waiting: thread-time\n"
                "  the team held but ran no item in):\n  %-44s %7s", "site", "calls");
    for (int t : settings) std::printf("  %2dt wall", t);
    if (k == 2) std::printf("  speed-up");
    std::printf("  %2dt waiting\n", settings.back());
    for (const Row& r : rows) {
        std::printf("  %-44s %7ld", r.site.c_str(), r.calls);
        for (double w : r.wall) std::printf("  %8.3f", w);
        if (k == 2 && r.wall[0] > 0 && r.wall[1] > 0)
            std::printf("  %7.2fx", r.wall[0] / r.wall[1]);
        else if (k == 2)
            std::printf("  %8s", "-");  // a line at one thread count only
        std::printf("  %11.3f\n", r.waiting.back());
    }
}

double peak_rss_mb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

void run_bench(const BenchSettings& s) {
    if (!s.json.empty()) io::check_output_path(s.json, {});  // not a FIFO, a device or a link
    require(s.batch >= 1 && s.size >= 1 && s.threads >= 1 && s.repeats >= 1 && s.warmup >= 0 && s.versus_threads >= 0,
            "bench: batch, size, threads and repeats must be >= 1 and warmup and versus-threads >= 0");
    require(s.mode == "train" || s.mode == "infer", "bench: --mode must be train or infer, got '", s.mode, "'");
    nn::UNetConfig cfg;
    if (s.model == "unet")
        cfg = nn::UNetConfig::unet();
    else if (s.model == "maunet")
        cfg = nn::UNetConfig::maunet();
    else if (s.model == "maunet-light")
        cfg = nn::UNetConfig::maunet_light();
    else
        throw ArgumentError("bench: --model must be unet, maunet or maunet-light, got '" + s.model + "'");
    // Training reuses the same buffers every step: keep them (core/heap.hpp). Inference draws its
    // tensors from an arena, as the C and Python APIs' workspaces do (core/arena.hpp), so after
    // the first step it makes no heap allocation and takes no page faults.
    if (s.mode == "train") retain_freed_memory();
    Arena arena;
    ArenaScope scope(s.mode == "infer" ? &arena : nullptr);
    set_num_threads(s.threads);
    Rng rng(1);
    nn::UNet<float> net(cfg, rng);
    const Tensor<float> x = Tensor<float>::uniform(Shape{s.batch, 1, s.size, s.size}, rng);
    const Tensor<float> target = Tensor<float>::uniform(Shape{s.batch, 1, s.size, s.size}, rng);
    const bool train = s.mode == "train";
    optim::Adam<float> adam(net.parameters(), 1e-4);
    if (train) net.train();
    else net.eval();

    auto step = [&] {
        if (train) {
            adam.zero_grad();
            Var<float> loss = mse_loss(net.forward(Var<float>(x), &rng), Var<float>(target));
            loss.backward();
            adam.step();
        } else {
            (void)net.predict(x);
        }
    };
    // With --versus-threads the two thread counts take turns, step by step, in this one process: on
    // a shared machine the speed of the cores changes from second to second and from process to
    // process (other tenants' memory traffic, the host's scheduling), so a ratio of two separate
    // runs measures the machine as much as the code; each pair of neighbouring steps sees the same.
    const bool versus = s.versus_threads > 0;
    auto timed_step = [&](int threads) {
        set_num_threads(threads);
        const auto t0 = std::chrono::steady_clock::now();
        step();
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    };
    for (int i = 0; i < s.warmup; ++i) {
        timed_step(s.threads);
        if (versus) timed_step(s.versus_threads);
    }
    std::vector<double> ms, versus_ms, speedups;
    if (s.regions) start_region_profile();
    for (int i = 0; i < s.repeats; ++i) {
        ms.push_back(timed_step(s.threads));
        if (!versus) continue;
        versus_ms.push_back(timed_step(s.versus_threads));
        speedups.push_back(ms.back() / versus_ms.back());
    }
    const std::vector<RegionTotals> regions = s.regions ? stop_region_profile() : std::vector<RegionTotals>{};
    set_num_threads(s.threads);
    const pipeline::Timing t = pipeline::timing_of(ms);
    const double median = t.median;
    const double flops = net.forward_flops(s.batch, s.size, s.size) * (train ? 3.0 : 1.0);
    const double gflops = flops / (median * 1e6);
    const double fields_per_s = s.batch * 1000.0 / median;
    std::printf("maunet bench: %s %s, batch %d, %d x %d, %d thread(s), kernels %s, %ld parameters\n",
                s.model.c_str(), s.mode.c_str(), s.batch, s.size, s.size, s.threads, isa_name(kernel_isa()),
                static_cast<long>(net.num_parameters()));
    std::printf("  median %.2f ms per step (min %.2f, max %.2f over %d), %.1f GFLOP/s, %.2f fields/s, peak RSS %.0f MB\n",
                median, t.low, t.high, s.repeats, gflops, fields_per_s, peak_rss_mb());
    pipeline::Timing vt, speedup;  // of the steps on --versus-threads, and of the pairs' ratios
    if (versus) {
        vt = pipeline::timing_of(versus_ms);
        speedup = pipeline::timing_of(speedups);
        std::printf("  taking turns with %d thread(s): median %.2f ms per step (min %.2f, max %.2f), %.1f GFLOP/s\n",
                    s.versus_threads, vt.median, vt.low, vt.high, flops / (vt.median * 1e6));
        std::printf("  speed-up of %d over %d thread(s): %.2fx (median of %d neighbouring pairs; %.2f to %.2f)\n",
                    s.versus_threads, s.threads, speedup.median, s.repeats, speedup.low, speedup.high);
    }
    if (s.regions) {
        auto seconds = [](const std::vector<double>& v) {
            double sum = 0;
            for (double x : v) sum += x / 1000.0;
            return sum;
        };
        std::vector<int> settings{s.threads};
        std::vector<double> step_seconds{seconds(ms)};
        if (versus && s.versus_threads != s.threads) {
            settings.push_back(s.versus_threads);
            step_seconds.push_back(seconds(versus_ms));
        } else if (versus) {
            step_seconds[0] += seconds(versus_ms);  // the same setting: one column
        }
        print_regions(regions, settings, step_seconds);
    }
    if (!s.json.empty()) {
        io::Json j = io::Json::object();
        j.set("model", s.model).set("mode", s.mode).set("batch", s.batch).set("size", s.size).set("threads", s.threads)
            .set("isa", isa_name(active_isa())).set("kernels", isa_name(kernel_isa()))
            .set("parameters", static_cast<long long>(net.num_parameters())).set("median_ms", median)
            .set("min_ms", t.low).set("max_ms", t.high).set("gflops", gflops).set("fields_per_s", fields_per_s)
            .set("gflop_per_step", flops / 1e9).set("peak_rss_mb", peak_rss_mb());
        if (versus)
            j.set("versus_threads", s.versus_threads).set("versus_median_ms", vt.median).set("speedup", speedup.median);
        if (s.regions) {  // every region, per source line and thread count, totals over the timed steps
            io::Json list = io::Json::array();
            for (const RegionTotals& r : regions)
                list.push_back(io::Json::object().set("site", r.site).set("threads", r.threads)
                                   .set("calls", static_cast<long long>(r.calls)).set("wall_s", r.wall_s)
                                   .set("busy_s", r.busy_s).set("waiting_s", r.waiting_s));
            j.set("regions", std::move(list));
        }
        const std::string text = j.dump(2) + "\n";
        io::write_stream_atomically(s.json, [&](std::ostream& out) { out << text; });
    }
}

}  // namespace

void add_bench_command(CLI::App& app) {
    auto s = std::make_shared<BenchSettings>();
    CLI::App* cmd = app.add_subcommand("bench", "time training or inference steps of a network of fixed shape");
    cmd->add_option("--model", s->model, "unet, maunet or maunet-light")
        ->check(CLI::IsMember({"unet", "maunet", "maunet-light"}))
        ->capture_default_str();
    cmd->add_option("--mode", s->mode, "train or infer")->check(CLI::IsMember({"train", "infer"}))->capture_default_str();
    cmd->add_option("--batch", s->batch, "batch size")->check(CLI::Range(1, 65536))->capture_default_str();
    cmd->add_option("--size", s->size, "field height and width")->check(CLI::Range(1, 65536))->capture_default_str();
    cmd->add_option("--threads", s->threads, "threads, 1 to " + std::to_string(kMaxThreads))
        ->check(CLI::Range(1, kMaxThreads))
        ->capture_default_str();
    cmd->add_option("--warmup", s->warmup, "untimed steps first")->check(CLI::Range(0, 100000))->capture_default_str();
    cmd->add_option("--repeats", s->repeats, "timed steps (the median is reported)")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    cmd->add_option("--versus-threads", s->versus_threads,
                    "also time steps on this many threads, taking turns with --threads steps in this process, "
                    "and report the speed-up (median over neighbouring pairs)")
        ->check(CLI::Range(1, kMaxThreads));
    cmd->add_flag("--regions", s->regions,
                  "also print each parallel region's time over the timed steps (per source line; with "
                  "--versus-threads side by side) and the time outside them");
    cmd->add_option("--json", s->json, "also write the result to this JSON file");
    cmd->callback([s] { run_bench(*s); });
}

}  // namespace maunet::cli
