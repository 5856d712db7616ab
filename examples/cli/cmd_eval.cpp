// `maunet eval`: scores one or more prediction files against observations on the same grid
// (metrics/report.hpp: RMSE, MAE, bias, r, PSNR, SSIM, quantile errors, ...) and prints the
// table of pipeline/compare.hpp; --json writes the same numbers. Every row is scored on the
// same cells: those valid in the observations and in every prediction. Files are read --chunk
// time steps at a time, twice (metrics/streaming_report.hpp: sums and counts, then SSIM,
// Pearson's centred sums and the exact quantiles), so memory does not grow with the period
// and the scores equal those of the whole arrays, whatever --chunk and the number of MPI
// ranks sharing the chunks. --scores without ssim and p99 reads them once (r then from merged
// per-step centred sums: equal to rounding).
// Real files (cli/precip_inputs.hpp): everything is scored in mm/day whatever the files'
// units; each prediction is aligned to the observations' grid (flipped or rolled as needed,
// refused if the grids differ); the time steps scored are the dates common to the observations
// (from --time-from on) and every prediction, and the command says how many. With --crop,
// observations on a larger grid are cut to the prediction's grid by coordinates (by index
// only when a file has no coordinates).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <future>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <maunet/io/atomic_file.hpp>
#include <maunet/metrics/streaming_report.hpp>
#include <maunet/parallel/agreement.hpp>
#include <maunet/pipeline/compare.hpp>

#include "cli/commands.hpp"
#include "cli/data_io.hpp"
#include "cli/parallel.hpp"
#include "cli/precip_inputs.hpp"

namespace maunet::cli {
namespace {

struct EvalSettings {
    std::vector<std::string> pred;
    std::vector<std::string> names;
    std::string pred_var, obs, obs_var, json, units, obs_units;
    double range = 0;
    Index time_from = 0;
    Index chunk = 64;
    bool crop = false;
    bool explain = true;  // the legend under the table
    std::vector<std::string> scores{"all"};  // --scores: the table's columns to compute
};

// The names --scores accepts: the table's columns. SSIM and the quantile errors (p99, which
// brings p95 along) need the second pass over the files; the others are done after one.
const std::vector<std::string> kScoreNames = {"rmse", "mae", "bias", "r", "psnr", "ssim", "p99"};

bool wants(const std::vector<std::string>& scores, const std::string& name) {
    return std::find(scores.begin(), scores.end(), "all") != scores.end() ||
           std::find(scores.begin(), scores.end(), name) != scores.end();
}

// Scores that were not asked for become NaN (null in JSON) rather than numbers nobody computed.
void keep_only(metrics::MetricReport& r, const std::vector<std::string>& scores) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (!wants(scores, "rmse")) r.rmse = nan;
    if (!wants(scores, "mae")) r.mae = nan;
    if (!wants(scores, "bias")) r.bias = nan, r.relative_bias_percent = nan;
    if (!wants(scores, "r")) r.pearson_r = nan;
    if (!wants(scores, "psnr")) r.psnr = nan;
    if (!wants(scores, "ssim")) r.ssim = nan;
    if (!wants(scores, "p99"))
        r.p95_error = r.p99_error = r.p95_signed_error = r.p99_signed_error = nan;
}

// One chunk of every input, on the observations' grid.
struct Chunk {
    Field obs;
    std::vector<Field> preds;
};

// Under mpirun every rank opens and checks the files (so a bad one stops all alike) and scores
// the chunks c with c mod p == its rank; after each pass the evaluators' states are summed over
// the ranks (metrics/streaming_report.hpp: shared_state), which gives every rank the state of
// one process that read every chunk, bit for bit. Rank 0 prints and writes.
void run_eval(const EvalSettings& s) {
    parallel::Communicator& comm = communicator();
    require_variable(s.obs, s.obs_var, "--obs-var");
    for (const auto& path : s.pred) require_variable(path, s.pred_var.empty() ? s.obs_var : s.pred_var, "--pred-var");
    std::vector<std::string> inputs = s.pred;
    inputs.push_back(s.obs);
    if (is_root()) guard_outputs({s.json}, inputs);
    require(s.names.empty() || s.names.size() == s.pred.size(), "eval: ", s.names.size(), " --name values for ",
            s.pred.size(), " --pred files");
    const StepSource obs(s.obs, s.obs_var, s.obs_units, "--obs-units");
    require(s.time_from >= 0 && s.time_from < obs.count, "eval: --time-from ", s.time_from, " is out of range; '",
            s.obs, "' has ", obs.count, " time steps");
    std::vector<std::unique_ptr<StepSource>> preds;
    for (const auto& path : s.pred)
        preds.push_back(std::make_unique<StepSource>(path, s.pred_var.empty() ? s.obs_var : s.pred_var, s.units,
                                                     "--units"));
    // The grids, checked (and the notes printed) once on the layouts; every chunk repeats the same steps.
    Field obs_grid = obs.layout;
    if (s.crop) note("eval", s.obs, pipeline::crop_to_grid(obs_grid, s.obs, preds[0]->layout, s.pred[0]));
    // Observation steps from --time-from on; dates scored: those found in every prediction.
    const Index n_obs = obs.count - s.time_from;
    Field obs_later = obs_grid;
    if (!obs_later.time.empty()) obs_later.time.erase(obs_later.time.begin(), obs_later.time.begin() + s.time_from);
    std::vector<Index> kept(static_cast<std::size_t>(n_obs));
    for (Index t = 0; t < n_obs; ++t) kept[static_cast<std::size_t>(t)] = t;
    std::vector<std::vector<Index>> partner_of(preds.size());
    for (std::size_t i = 0; i < preds.size(); ++i) {
        const StepSource& p = *preds[i];
        Field g = p.layout;
        note("eval", s.pred[i], pipeline::align_to_grid(g, s.pred[i], obs_grid, s.obs));
        std::vector<Index> partner(static_cast<std::size_t>(n_obs), -1);
        Index matched = 0;
        if (has_time_axis(obs_later) && p.has_axis()) {
            const pipeline::DateMatch m = pair_by_date(obs_later, s.obs, p.layout, s.pred[i]);
            for (std::size_t k = 0; k < m.a.size(); ++k) partner[static_cast<std::size_t>(m.a[k])] = m.b[k];
            matched = static_cast<Index>(m.b.size());
        } else {
            // Without time axes steps pair by index: --time-from cuts a prediction as long as the observations too.
            const Index first = !p.has_axis() && p.count == obs.count ? s.time_from : 0;
            require_shape(p.count - first == n_obs, "'", s.pred[i], "' (variable '", p.layout.variable, "') has ",
                          p.count - first, " time steps but '", s.obs, "' (variable '", obs.layout.variable, "') has ",
                          n_obs, ", and without a time axis on both they can only be paired step by step");
            for (Index t = 0; t < n_obs; ++t) partner[static_cast<std::size_t>(t)] = first + t;
            matched = n_obs;
        }
        if (matched < p.count)
            note("eval", s.pred[i], " only " + std::to_string(matched) + " of its " + std::to_string(p.count) +
                                        " time steps fall on observed dates");
        std::vector<Index> still;
        for (Index t : kept)
            if (partner[static_cast<std::size_t>(t)] >= 0) still.push_back(t);
        kept = std::move(still);
        partner_of[i] = std::move(partner);
    }
    require(!kept.empty(), "eval: no date of '", s.obs, "' (from --time-from ", s.time_from,
            ") is found in every prediction; nothing to score");
    if (is_root())
        std::fprintf(stderr, "maunet eval: scoring %zu common dates (of %ld observation steps from --time-from %ld)\n",
                     kept.size(), static_cast<long>(n_obs), static_cast<long>(s.time_from));

    // Pass 1 over the dates, --chunk at a time (metrics/streaming_report.hpp): sums, counts and
    // the quantiles' buckets; pass 2, only for SSIM and the quantile errors: SSIM, Pearson's
    // centred sums and the quantiles' values. While a chunk is scored the next one is read
    // (and decompressed) on a second thread; only that thread calls netCDF.
    const Index H = obs_grid.ny(), W = obs_grid.nx();
    const bool two_passes = wants(s.scores, "ssim") || wants(s.scores, "p99");
    metrics::MetricOptions options(s.range > 0 ? s.range : 1.0);
    options.compute_ssim = W >= 11 && H >= 11 && wants(s.scores, "ssim");
    std::vector<metrics::StreamingEvaluator<float>> evaluators(preds.size(), metrics::StreamingEvaluator<float>(options));
    for (auto& e : evaluators) {
        e.expect_steps(static_cast<Index>(kept.size()));
        if (!two_passes) e.first_pass_only();
    }
    const std::size_t step = static_cast<std::size_t>(s.chunk);
    // This rank's chunks (all of them in one process), by their first date.
    const std::size_t ranks = static_cast<std::size_t>(comm.size());
    std::vector<std::size_t> mine;
    for (std::size_t c = static_cast<std::size_t>(comm.rank()); c * step < kept.size(); c += ranks) mine.push_back(c * step);
    const auto load = [&](std::size_t k0) {
        const std::size_t k1 = std::min(kept.size(), k0 + step);
        Chunk c;
        std::vector<Index> obs_steps;
        for (std::size_t k = k0; k < k1; ++k) obs_steps.push_back(s.time_from + kept[k]);
        c.obs = obs.read(obs_steps);
        if (s.crop) (void)pipeline::crop_to_grid(c.obs, s.obs, preds[0]->layout, s.pred[0]);
        for (std::size_t i = 0; i < preds.size(); ++i) {
            std::vector<Index> steps;
            for (std::size_t k = k0; k < k1; ++k) steps.push_back(partner_of[i][static_cast<std::size_t>(kept[k])]);
            c.preds.push_back(preds[i]->read(steps));
            (void)pipeline::align_to_grid(c.preds.back(), s.pred[i], c.obs, s.obs);
        }
        return c;
    };
    const auto pass = [&](int which) {
        const ChunkProgress progress(two_passes ? (which == 1 ? "eval: pass 1 of 2" : "eval: pass 2 of 2") : "eval");
        std::future<Chunk> next;
        if (!mine.empty()) next = std::async(std::launch::async, load, mine[0]);
        for (std::size_t j = 0; j < mine.size(); ++j) {
            const std::size_t k0 = mine[j], k1 = std::min(kept.size(), k0 + step);
            Chunk c = next.get();
            if (j + 1 < mine.size()) next = std::async(std::launch::async, load, mine[j + 1]);
            // One mask for every row: cells where the observations and every prediction are
            // valid. With one prediction that is what each score checks anyway: no mask.
            const Index n = static_cast<Index>(k1 - k0);
            const Shape nchw{n, 1, H, W};
            Tensor<float> mask;
            if (c.preds.size() > 1) {
                mask = Tensor<float>(nchw);
                const Index cells = mask.numel();
                const float* o = c.obs.data.data();
                float* m = mask.data();
                for (Index j = 0; j < cells; ++j) m[j] = std::isfinite(o[j]) ? 1.f : 0.f;
                for (const Field& f : c.preds) {
                    const float* v = f.data.data();
                    for (Index j = 0; j < cells; ++j)
                        if (!std::isfinite(v[j])) m[j] = 0.f;
                }
            }
            const Tensor<float> on = c.obs.data.reshaped(nchw);
            const Index at = static_cast<Index>(k0);
            for (std::size_t i = 0; i < c.preds.size(); ++i) {
                if (which == 1) evaluators[i].add_at(at, c.preds[i].data.reshaped(nchw), on, mask);
                else evaluators[i].add_second_at(at, c.preds[i].data.reshaped(nchw), on, mask);
            }
            progress(static_cast<Index>(j + 1), static_cast<Index>(mine.size()));
        }
    };
    // Each pass on every rank, then the sum of the ranks' states everywhere (exact: see above).
    const auto pass_on_all_ranks = [&](int which) {
        parallel::run_collectively(comm, [&] { pass(which); });
        if (comm.size() == 1) return;
        for (auto& e : evaluators) {
            std::vector<double> state = e.shared_state();
            comm.allreduce_sum(state.data(), state.size());
            e.load_shared_state(state);
        }
    };
    pass_on_all_ranks(1);
    const Index valid = evaluators[0].n_valid();  // every row is scored on the same cells
    // The data range of PSNR and SSIM: --range, or the largest observation scored.
    double range = s.range;
    if (range <= 0) {
        range = std::max(0.0, evaluators[0].observed_max());
        if (range <= 0) range = 1;
    }
    if (two_passes) {
        for (auto& e : evaluators) e.start_second_pass(range);
        pass_on_all_ranks(2);
    }
    if (!is_root()) return;
    std::vector<pipeline::MethodResult> rows;
    for (std::size_t i = 0; i < preds.size(); ++i) {
        pipeline::MethodResult r;
        r.name = s.names.empty() ? s.pred[i] : s.names[i];
        r.report = two_passes ? evaluators[i].finish() : evaluators[i].finish_first_pass(range);
        keep_only(r.report, s.scores);
        rows.push_back(std::move(r));
    }
    pipeline::TableOptions table;
    table.units = io::kMillimetresPerDay;
    table.show_cost = false;  // files have no parameters and no inference time
    table.data_range = range;
    for (const auto& name : kScoreNames)
        if (wants(s.scores, name)) table.columns.push_back(name);
    std::printf("%s (variable %s, in %s), %ld common dates from time step %ld, %ld cells valid in every file:\n%s%s",
                s.obs.c_str(), obs.layout.variable.c_str(), io::kMillimetresPerDay, static_cast<long>(kept.size()),
                static_cast<long>(s.time_from), static_cast<long>(valid), pipeline::format_table(rows, table).c_str(),
                s.explain ? pipeline::table_legend(table).c_str() : "");
    if (!s.json.empty()) {
        const std::string text = pipeline::to_json(rows).dump(2) + "\n";
        io::write_stream_atomically(s.json, [&](std::ostream& out) { out << text; });
        std::printf("wrote %s\n", s.json.c_str());
    }
}

}  // namespace

void add_eval_command(CLI::App& app) {
    auto s = std::make_shared<EvalSettings>();
    CLI::App* cmd = app.add_subcommand("eval", "score predictions against observations on the same grid");
    cmd->add_option("--pred", s->pred, "prediction file(s): NetCDF or .npy [time, y, x]")->required();
    cmd->add_option("--pred-var", s->pred_var, "variable of the predictions (default: --obs-var)");
    cmd->add_option("--name", s->names, "row label of each --pred (default: the file name)");
    cmd->add_option("--obs", s->obs, "observations: NetCDF or .npy [time, y, x]")->required();
    cmd->add_option("--obs-var", s->obs_var, "variable of the observations");
    cmd->add_option("--range", s->range, "data range R of PSNR and SSIM (default: the observations' maximum)");
    cmd->add_option("--time-from", s->time_from, "score time steps from this one on (0-based; e.g. the held-out "
                    "period)")->capture_default_str();
    cmd->add_option("--units", s->units, "units of the predictions when their attribute is missing or wrong");
    cmd->add_option("--obs-units", s->obs_units, "units of the observations when their attribute is missing or wrong");
    cmd->add_option("--chunk", s->chunk, "time steps read at a time (each file is read twice, or once without ssim and p99)")
        ->check(CLI::Range(Index(1), Index(100000)))
        ->capture_default_str();
    std::vector<std::string> accepted = kScoreNames;
    accepted.insert(accepted.begin(), "all");
    cmd->add_option("--scores", s->scores, "scores to compute, comma-separated: all, or any of rmse, mae, bias, r, "
                    "psnr (one pass over the files), ssim, p99 (two passes)")
        ->delimiter(',')
        ->check(CLI::IsMember(accepted))
        ->capture_default_str();
    cmd->add_flag("--crop", s->crop, "cut larger observations to the prediction's grid (matched by coordinates)");
    cmd->add_option("--json", s->json, "also write the scores as JSON to this file");
    cmd->add_flag("--explain,!--no-explain", s->explain, "print what each column means under the table (default: on)");
    cmd->callback([s] { run_eval(*s); });
}

}  // namespace maunet::cli
