// One NetCDF file written by every rank (io/netcdf_parallel.hpp) against the same file written
// by one process: the same values bit for bit, the same header, no temporary left, nothing at
// the target when a rank fails. Built when parallel netCDF-4 is found (tests/mpi/CMakeLists.txt).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "maunet/io/netcdf_parallel.hpp"
#include "maunet/parallel/mpi_communicator.hpp"
#include "maunet/pipeline/field_stream.hpp"

using namespace maunet;
namespace fs = std::filesystem;

namespace {

// A folder every rank sees: made by rank 0, its name broadcast, removed by rank 0 at the end.
class SharedFolder {
public:
    explicit SharedFolder(parallel::MpiCommunicator& comm) : comm_(comm) {
        std::string name;
        if (comm.is_root()) {
            std::string pattern = (fs::temp_directory_path() / "maunet_ncpar_XXXXXX").string();
            REQUIRE(::mkdtemp(pattern.data()) != nullptr);
            name = pattern;
        }
        unsigned long long n = name.size();
        comm.broadcast(&n, sizeof n, 0);
        name.resize(static_cast<std::size_t>(n));
        comm.broadcast(name.data(), name.size(), 0);
        path_ = name;
    }
    ~SharedFolder() {
        comm_.barrier();
        if (comm_.is_root()) fs::remove_all(path_);
    }
    std::string operator/(const std::string& file) const { return (path_ / file).string(); }
    // The names in the folder, listed by every rank between two barriers (so no rank is
    // already writing the next file while another lists).
    std::vector<std::string> files() const {
        comm_.barrier();
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        comm_.barrier();
        return names;
    }

private:
    parallel::MpiCommunicator& comm_;
    fs::path path_;
};

// 11 days of a 6 x 7 grid with dry cells, missing cells (NaN) and a 1-D lat/lon grid.
io::GridField<float> daily_field() {
    io::GridField<float> f;
    f.variable = "pr";
    f.units = "mm/day";
    f.long_name = "precipitation";
    f.time_units = "days since 2000-01-01";
    f.calendar = "noleap";
    const Index T = 11, H = 6, W = 7;
    f.data = Tensor<float>(Shape{T, H, W});
    for (Index i = 0; i < f.data.numel(); ++i)
        f.data.data()[i] = i % 13 == 0 ? std::numeric_limits<float>::quiet_NaN()
                                       : i % 5 == 0 ? 0.0f : std::exp(0.01f * static_cast<float>(i)) - 0.5f;
    for (Index t = 0; t < T; ++t) f.time.push_back(0.5 + static_cast<double>(t));
    for (Index r = 0; r < H; ++r) f.y.push_back(40.0 + 0.25 * static_cast<double>(r));
    for (Index c = 0; c < W; ++c) f.x.push_back(-5.0 + 0.25 * static_cast<double>(c));
    return f;
}

io::GridField<float> steps_of(const io::GridField<float>& f, Index t0, Index n) {
    io::GridField<float> s = f;
    const Index cell = f.ny() * f.nx();
    s.data = Tensor<float>(Shape{n, f.ny(), f.nx()});
    std::copy(f.data.begin() + t0 * cell, f.data.begin() + (t0 + n) * cell, s.data.begin());
    s.time.assign(f.time.begin() + t0, f.time.begin() + t0 + n);
    return s;
}

// Bit-for-bit equality of two floats tensors (NaN equals NaN).
bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.numel())) == 0;
}

}  // namespace

TEST_CASE("parallel netCDF: every rank writes its own steps; the file equals one process's", "[mpi][netcdf]") {
    parallel::MpiCommunicator comm;
    SharedFolder dir(comm);
    const io::GridField<float> field = daily_field();
    if (comm.is_root()) io::write_netcdf(dir / "serial.nc", field);

    // Chunks of 2 steps round robin: 6 chunks, so with 3 ranks two full rounds, with 2 three;
    // a rank past the last chunk writes no steps.
    const Index chunk = 2, T = field.num_times(), p = comm.size();
    {
        io::ParallelNetcdfWriter writer(dir / "parallel.nc", field, {}, comm.native());
        CHECK_FALSE(fs::exists(dir / "parallel.nc"));  // only the temporary until close()
        for (Index round = 0; round * p * chunk < T; ++round) {
            const Index t0 = (round * p + comm.rank()) * chunk;
            const Index n = t0 < T ? std::min(chunk, T - t0) : 0;
            writer.write_at(n > 0 ? t0 : 0, steps_of(field, n > 0 ? t0 : 0, n));
        }
        writer.close();
    }
    const auto names = dir.files();
    CHECK(names == std::vector<std::string>{"parallel.nc", "serial.nc"});  // no temporary left

    const io::GridField<float> serial = io::NetcdfReader<float>(dir / "serial.nc", "pr").read_all();
    const io::GridField<float> parallel = io::NetcdfReader<float>(dir / "parallel.nc", "pr").read_all();
    CHECK(same_bits(parallel.data, serial.data));
    CHECK(parallel.time == serial.time);
    CHECK(parallel.y == serial.y);
    CHECK(parallel.x == serial.x);
    CHECK(parallel.calendar == "noleap");
    CHECK(parallel.time_units == serial.time_units);
    CHECK(parallel.units == "mm/day");
    CHECK(parallel.long_name == "precipitation");
    const io::Attribute* history = io::detail::find_attribute(parallel.global_attributes, "history");
    REQUIRE(history != nullptr);
    CHECK(history->text.size() > 20);  // "<UTC time>: maunet", one line: the ranks wrote the same header
    CHECK(history->text.find('\n') == std::string::npos);
}

TEST_CASE("parallel netCDF: map_netcdf on the ranks writes what one process writes", "[mpi][netcdf]") {
    parallel::MpiCommunicator comm;
    SharedFolder dir(comm);
    const io::GridField<float> field = daily_field();
    if (comm.is_root()) io::write_netcdf(dir / "in.nc", field);
    comm.barrier();
    const std::function<Tensor<float>(const Tensor<float>&)> fn = [](const Tensor<float>& x) {
        Tensor<float> y(x.shape());
        for (Index i = 0; i < x.numel(); ++i) y.data()[i] = 3.0f * x.data()[i] + 0.25f;
        return y;
    };
    const io::GridField<float> grid = pipeline::with_shape(field, field.ny(), field.nx());
    for (Index chunk : {1, 2, 5, 11, 20}) {  // many rounds, partial ones, one chunk, a chunk larger than the file
        CAPTURE(chunk);
        parallel::SerialCommunicator alone;
        if (comm.is_root())
            pipeline::map_netcdf<float>(dir / "in.nc", "pr", dir / "one.nc", grid, chunk, fn, {}, nullptr, &alone);
        Index seen = 0;
        const Index n = pipeline::map_netcdf<float>(dir / "in.nc", "pr", dir / "many.nc", grid, chunk, fn, {},
                                                    [&](Index done, Index) { seen = done; }, &comm);
        CHECK(n == field.num_times());
        if (comm.is_root()) CHECK(seen == field.num_times());
        comm.barrier();
        const auto one = io::NetcdfReader<float>(dir / "one.nc", "pr").read_all();
        const auto many = io::NetcdfReader<float>(dir / "many.nc", "pr").read_all();
        CHECK(same_bits(many.data, one.data));
        CHECK(many.time == one.time);
        CHECK(dir.files() == std::vector<std::string>{"in.nc", "many.nc", "one.nc"});
    }
}

TEST_CASE("parallel netCDF: a failure on one rank ends every rank and leaves no file", "[mpi][netcdf]") {
    parallel::MpiCommunicator comm;
    SharedFolder dir(comm);
    const io::GridField<float> field = daily_field();
    if (comm.is_root()) io::write_netcdf(dir / "in.nc", field);
    comm.barrier();
    const io::GridField<float> grid = pipeline::with_shape(field, field.ny(), field.nx());
    // The chunk of steps 2-3 (the second chunk: rank 1's) fails.
    const std::function<Tensor<float>(const Tensor<float>&)> fn = [&](const Tensor<float>& x) {
        if (x.dim(0) == 2 && comm.rank() == 1) throw IOError("the second chunk cannot be computed");
        return x;
    };
    REQUIRE_THROWS_WITH(
        pipeline::map_netcdf<float>(dir / "in.nc", "pr", dir / "out.nc", grid, 2, fn, {}, nullptr, &comm),
        Catch::Contains("the second chunk cannot be computed"));
    CHECK(dir.files() == std::vector<std::string>{"in.nc"});

    // An output folder that does not exist: every rank gets the error naming the file.
    REQUIRE_THROWS_WITH(pipeline::map_netcdf<float>(dir / "in.nc", "pr", dir / "no/such/out.nc", grid, 2,
                                                    [](const Tensor<float>& x) { return x; }, {}, nullptr, &comm),
                        Catch::Contains("out.nc"));
    CHECK(dir.files() == std::vector<std::string>{"in.nc"});
}
