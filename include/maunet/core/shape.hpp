// maunet/core/shape.hpp: the shape of a tensor, a short list of extents.
//
// Row-major: the last extent varies fastest. Images are NCHW (batch, channel, height, width).
//
// Sizes are overflow-checked: a shape is refused (ShapeError) unless the product of its
// extents, counting a zero extent as 1, is at most kMaxElements = 2^56. So numel(), every
// stride and every byte count of an element of up to 128 bytes fit a signed 64-bit Index, even
// for extents read from a hostile file (such as [2^40, 1, 2^24, 1], whose product wraps to 0).
//
// The extents live inside the Shape (at most kMaxRank of them), not on the heap: every tensor an
// op makes has a shape, and inference with a workspace must allocate nothing (core/arena.hpp).
#pragma once

#include <array>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "maunet/core/errors.hpp"

namespace maunet {

using Index = std::ptrdiff_t;

// Largest number of elements (and largest stride) a Shape may describe.
inline constexpr Index kMaxElements = Index(1) << 56;

// a * b for non-negative a, b, or false when the product exceeds `limit` (no signed overflow:
// the test divides instead of multiplying).
inline bool checked_mul(Index a, Index b, Index& out, Index limit = kMaxElements) {
    if (a < 0 || b < 0) return false;
    if (a != 0 && b > limit / a) return false;
    out = a * b;
    return true;
}

// Most axes a Shape may have (the library uses at most 4; files up to this many).
inline constexpr std::size_t kMaxRank = 8;

class Shape {
public:
    Shape() = default;
    Shape(std::initializer_list<Index> extents) { assign(extents.begin(), extents.end()); }
    explicit Shape(const std::vector<Index>& extents) { assign(extents.begin(), extents.end()); }
    template <class It>
    Shape(It first, It last) { assign(first, last); }

    std::size_t rank() const { return rank_; }
    Index operator[](std::size_t axis) const { return dims_[axis]; }
    Index& operator[](std::size_t axis) { return dims_[axis]; }
    // Extent of `axis`, counting from the back when negative (-1 is the last axis).
    Index dim(int axis) const {
        const int r = static_cast<int>(rank());
        const int a = axis < 0 ? axis + r : axis;
        require(a >= 0 && a < r, "Shape::dim: axis ", axis, " out of range for rank ", r);
        return dims_[static_cast<std::size_t>(a)];
    }
    // Number of elements (1 for rank 0, a scalar).
    Index numel() const {
        Index n = 1;
        for (Index d : *this)
            require_shape(checked_mul(n, d, n), "Shape: ", *this, " has more than 2^56 elements");
        return n;
    }
    // The extents as a vector (a copy).
    std::vector<Index> dims() const { return std::vector<Index>(begin(), end()); }
    const Index* begin() const { return dims_.data(); }
    const Index* end() const { return dims_.data() + rank_; }

    // Row-major strides in elements.
    std::vector<Index> strides() const {
        std::vector<Index> s(rank_, 1);
        for (std::size_t i = rank_; i-- > 1;)
            require_shape(checked_mul(s[i], std::max<Index>(dims_[i], 1), s[i - 1]), "Shape: ", *this,
                          " has a stride beyond 2^56");
        return s;
    }

    friend bool operator==(const Shape& a, const Shape& b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }
    friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

    std::string str() const {
        std::ostringstream os;
        os << *this;
        return os.str();
    }
    friend std::ostream& operator<<(std::ostream& os, const Shape& s) {
        os << '[';
        for (std::size_t i = 0; i < s.rank_; ++i) os << (i ? ", " : "") << s.dims_[i];
        return os << ']';
    }

private:
    template <class It>
    void assign(It first, It last) {
        for (; first != last; ++first) {
            require_shape(rank_ < kMaxRank, "Shape: more than ", kMaxRank, " axes");
            dims_[rank_++] = static_cast<Index>(*first);
        }
        validate();
    }
    void validate() const {
        Index capacity = 1;  // product of the extents with 0 counted as 1: bounds every stride
        for (Index d : *this) {
            require(d >= 0, "Shape: extents must be >= 0, found ", d);
            require_shape(checked_mul(capacity, std::max<Index>(d, 1), capacity), "Shape: ", *this,
                          " is too large: the product of its extents exceeds 2^56");
        }
    }
    std::array<Index, kMaxRank> dims_{};
    std::size_t rank_ = 0;
};

}  // namespace maunet
