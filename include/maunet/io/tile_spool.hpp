// maunet/io/tile_spool.hpp: a scratch file that turns a [time, H, W] float series read a
// chunk of time steps at a time into tiles of rows over all times, and back.
//
// A per-cell computation over the whole period (bias correction: a cell needs its full time
// series, not the whole grid) reads files that are stored time step after time step. The
// spool holds the series on disk laid out tile-major: tile k (rows [k R, min((k + 1) R, H)),
// r rows) occupies bytes [k R W T, (k R + r) W T) x 4, as [T, r, W]. So
//   write_steps(t0, chunk [n, H, W])  one contiguous write per tile (its steps t0..t0+n-1),
//   read_tile(k) -> [T, r, W]         one contiguous read,
//   write_tile(k, [T, r, W])          one contiguous write,
//   read_steps(t0, n) -> [n, H, W]    one contiguous read per tile,
// and memory holds one chunk or one tile, never the series. Values are stored as they are
// (float32, native byte order): what goes in comes out bit for bit.
//
// The file is an io::ScratchFile: created in the given directory and unlinked at once, so it
// disappears when the spool is destroyed or the process dies. Errors: IOError naming the
// directory and errno.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/io/scratch_file.hpp"

namespace maunet::io {

class TileSpool {
public:
    TileSpool(const std::string& directory, Index times, Index height, Index width, Index tile_rows)
        : file_(directory), T_(times), H_(height), W_(width), R_(std::min(tile_rows, height)) {
        require(times >= 1 && height >= 1 && width >= 1 && tile_rows >= 1, "TileSpool: expected a series of at least "
                "1 x 1 x 1 and tiles of at least one row, got ", times, " x ", height, " x ", width, " and ", tile_rows);
    }
    TileSpool(const TileSpool&) = delete;
    TileSpool& operator=(const TileSpool&) = delete;

    Index times() const { return T_; }
    Index height() const { return H_; }
    Index width() const { return W_; }
    Index num_tiles() const { return (H_ + R_ - 1) / R_; }
    Index tile_first_row(Index k) const { return k * R_; }
    Index tile_rows(Index k) const { return std::min(R_, H_ - k * R_); }

    void write_steps(Index t0, const Tensor<float>& chunk) {
        require_shape(chunk.rank() == 3 && chunk.dim(1) == H_ && chunk.dim(2) == W_ && t0 >= 0 &&
                          t0 + chunk.dim(0) <= T_,
                      "TileSpool::write_steps: chunk ", chunk.shape(), " at step ", t0, " does not fit [", T_, ", ",
                      H_, ", ", W_, "]");
        const Index n = chunk.dim(0);
        std::vector<float> buf;
        for (Index k = 0; k < num_tiles(); ++k) {
            const Index r0 = tile_first_row(k), rows = tile_rows(k), plane = rows * W_;
            buf.resize(static_cast<std::size_t>(n * plane));
            for (Index t = 0; t < n; ++t)
                std::copy_n(chunk.data() + (t * H_ + r0) * W_, plane, buf.data() + t * plane);
            put(buf.data(), buf.size(), offset(k, t0));
        }
    }

    Tensor<float> read_tile(Index k) const {
        check_tile(k, "read_tile");
        Tensor<float> out(Shape{T_, tile_rows(k), W_});
        get(out.data(), static_cast<std::size_t>(out.numel()), offset(k, 0));
        return out;
    }

    void write_tile(Index k, const Tensor<float>& x) {
        check_tile(k, "write_tile");
        require_shape(x.rank() == 3 && x.dim(0) == T_ && x.dim(1) == tile_rows(k) && x.dim(2) == W_,
                      "TileSpool::write_tile: tile ", k, " must be [", T_, ", ", tile_rows(k), ", ", W_, "], got ",
                      x.shape());
        put(x.data(), static_cast<std::size_t>(x.numel()), offset(k, 0));
    }

    Tensor<float> read_steps(Index t0, Index n) const {
        require(t0 >= 0 && n >= 1 && t0 + n <= T_, "TileSpool::read_steps: steps ", t0, "..", t0 + n - 1,
                " outside 0..", T_ - 1);
        Tensor<float> out(Shape{n, H_, W_});
        std::vector<float> buf;
        for (Index k = 0; k < num_tiles(); ++k) {
            const Index r0 = tile_first_row(k), plane = tile_rows(k) * W_;
            buf.resize(static_cast<std::size_t>(n * plane));
            get(buf.data(), buf.size(), offset(k, t0));
            for (Index t = 0; t < n; ++t)
                std::copy_n(buf.data() + t * plane, plane, out.data() + (t * H_ + r0) * W_);
        }
        return out;
    }

private:
    void check_tile(Index k, const char* op) const {
        require(k >= 0 && k < num_tiles(), "TileSpool::", op, ": tile ", k, " of ", num_tiles());
    }
    // Byte offset of step t of tile k.
    off_t offset(Index k, Index t) const {
        return static_cast<off_t>((tile_first_row(k) * W_ * T_ + t * tile_rows(k) * W_) * Index(sizeof(float)));
    }
    void put(const float* p, std::size_t count, off_t at) { file_.put(p, count * sizeof(float), at); }
    void get(float* p, std::size_t count, off_t at) const { file_.get(p, count * sizeof(float), at); }

    ScratchFile file_;
    Index T_, H_, W_, R_;
};

}  // namespace maunet::io
