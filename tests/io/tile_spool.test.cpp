#include <catch2/catch.hpp>

#include "maunet/io/tile_spool.hpp"
#include "support/scratch_dir.hpp"

using namespace maunet;
using namespace maunet::testing;

TEST_CASE("a tile spool turns time chunks into row tiles and back, bit for bit", "[io][spool]") {
    ScratchDir dir("tile_spool");
    const Index T = 11, H = 7, W = 5;
    Tensor<float> x(Shape{T, H, W});
    for (Index i = 0; i < x.numel(); ++i) x[i] = i % 13 == 0 ? std::numeric_limits<float>::quiet_NaN() : 0.1f * float(i);
    for (Index rows : {1, 3, 7, 9}) {
        for (Index chunk : {1, 4, 11}) {
            io::TileSpool spool(dir.path.string(), T, H, W, rows);
            CHECK(spool.num_tiles() == (H + std::min(rows, H) - 1) / std::min(rows, H));
            for (Index t0 = 0; t0 < T; t0 += chunk) {
                const Index n = std::min(chunk, T - t0);
                Tensor<float> c(Shape{n, H, W});
                std::copy_n(x.data() + t0 * H * W, n * H * W, c.data());
                spool.write_steps(t0, c);
            }
            for (Index k = 0; k < spool.num_tiles(); ++k) {
                const Tensor<float> tile = spool.read_tile(k);
                REQUIRE(tile.shape() == Shape{T, spool.tile_rows(k), W});
                for (Index t = 0; t < T; ++t)
                    for (Index r = 0; r < tile.dim(1); ++r)
                        for (Index c = 0; c < W; ++c) {
                            const float a = tile(t, r, c), b = x(t, spool.tile_first_row(k) + r, c);
                            REQUIRE((std::isnan(a) ? std::isnan(b) : a == b));
                        }
                spool.write_tile(k, tile);
            }
            const Tensor<float> back = spool.read_steps(2, T - 3);
            for (Index i = 0; i < back.numel(); ++i) {
                const float a = back[i], b = x[2 * H * W + i];
                REQUIRE((std::isnan(a) ? std::isnan(b) : a == b));
            }
        }
    }
    CHECK(dir.listing().empty());  // the scratch file is unlinked at once
}

TEST_CASE("a tile spool refuses chunks and tiles of the wrong shape", "[io][spool][errors]") {
    ScratchDir dir("tile_spool_bad");
    io::TileSpool spool(dir.path.string(), 4, 3, 2, 2);
    CHECK_THROWS_AS(spool.write_steps(3, Tensor<float>(Shape{2, 3, 2})), ShapeError);
    CHECK_THROWS_AS(spool.write_steps(0, Tensor<float>(Shape{2, 2, 2})), ShapeError);
    CHECK_THROWS_AS(spool.write_tile(1, Tensor<float>(Shape{4, 2, 2})), ShapeError);
    CHECK_THROWS_AS(spool.read_tile(2), ArgumentError);
    CHECK_THROWS_AS(io::TileSpool(dir.file("missing/dir"), 4, 3, 2, 2), IOError);
}
