// maunet/core/tensor.hpp: Tensor<T>, the one array type inside maunet.
//
// A tensor owns one contiguous, 64-byte aligned, row-major buffer and a Shape. Images are
// NCHW. It has value semantics: copying copies the buffer, moving is free. Kernels reach the
// buffer through data() or through Eigen maps (matrix(), array()); users reach it through
// xtensor (see core/xtensor_bridge.hpp), zero-copy.
#pragma once

#include <algorithm>
#include <cassert>
#include <cmath>
#include <initializer_list>
#include <ostream>
#include <type_traits>
#include <vector>

#include "maunet/core/eigen.hpp"

#include "maunet/core/aligned.hpp"
#include "maunet/core/errors.hpp"
#include "maunet/core/random.hpp"
#include "maunet/core/shape.hpp"
#include "maunet/core/threading.hpp"

namespace maunet {

template <class T>
class Tensor {
    static_assert(std::is_floating_point_v<T>, "Tensor<T>: T must be float or double");

public:
    using value_type = T;
    using Storage = std::vector<T, AlignedAllocator<T>>;
    using MatrixMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                                 Eigen::Aligned64>;
    using ConstMatrixMap =
        Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                   Eigen::Aligned64>;
    using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>, Eigen::Aligned64>;
    using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>, Eigen::Aligned64>;

    // An empty tensor of shape [0].
    Tensor() : shape_{0} {}
    // Zero-filled tensor of the given shape. A rank-0 shape {} is a scalar with one element.
    // Large tensors are filled by all threads: the first touch of fresh pages (page faults and
    // the kernel's zeroing) is most of the cost, and it parallelises.
    explicit Tensor(Shape shape) : Tensor(std::move(shape), T(0)) {}
    Tensor(Shape shape, T fill_value) : shape_(std::move(shape)), data_(static_cast<std::size_t>(shape_.numel())) {
        T* d = data_.data();
        parallel_pieces(static_cast<std::ptrdiff_t>(data_.size()), [d, fill_value](std::ptrdiff_t lo, std::ptrdiff_t hi) {
            std::fill(d + lo, d + hi, fill_value);
        }, std::ptrdiff_t(1) << 18);
    }
    // Tensor with the given values in row-major order.
    Tensor(Shape shape, std::initializer_list<T> values) : Tensor(std::move(shape), std::vector<T>(values)) {}
    Tensor(Shape shape, const std::vector<T>& values) : shape_(std::move(shape)), data_(values.begin(), values.end()) {
        require_shape(static_cast<Index>(values.size()) == shape_.numel(), "Tensor: shape ", shape_, " needs ",
                      shape_.numel(), " values, got ", values.size());
    }

    static Tensor zeros(Shape shape) { return Tensor(std::move(shape)); }
    // A tensor whose values are left unset, for kernels that write every element: it skips the
    // zero fill (a whole extra pass over fresh memory for a large activation). Reading an element
    // before writing it is undefined.
    static Tensor uninitialized(Shape shape) {
        Tensor t;
        t.data_ = Storage(static_cast<std::size_t>(shape.numel()));
        t.shape_ = std::move(shape);
        return t;
    }
    static Tensor ones(Shape shape) { return Tensor(std::move(shape), T(1)); }
    static Tensor full(Shape shape, T v) { return Tensor(std::move(shape), v); }
    static Tensor scalar(T v) { return Tensor(Shape{}, v); }
    // Normal(mean, stddev) values drawn from `rng` in row-major order.
    static Tensor randn(Shape shape, Rng& rng, T mean = 0, T stddev = 1) {
        Tensor t(std::move(shape));
        for (auto& x : t.data_) x = static_cast<T>(rng.normal(mean, stddev));
        return t;
    }
    // Uniform[lo, hi) values drawn from `rng` in row-major order.
    static Tensor uniform(Shape shape, Rng& rng, T lo = 0, T hi = 1) {
        Tensor t(std::move(shape));
        for (auto& x : t.data_) x = static_cast<T>(rng.uniform(lo, hi));
        return t;
    }

    const Shape& shape() const { return shape_; }
    std::size_t rank() const { return shape_.rank(); }
    Index dim(int axis) const { return shape_.dim(axis); }
    Index numel() const { return shape_.numel(); }
    Index size() const { return shape_.numel(); }
    bool empty() const { return shape_.numel() == 0; }

    T* data() { return data_.data(); }
    const T* data() const { return data_.data(); }
    T* begin() { return data_.data(); }
    T* end() { return data_.data() + data_.size(); }
    const T* begin() const { return data_.data(); }
    const T* end() const { return data_.data() + data_.size(); }

    T& operator[](Index i) { return data_[static_cast<std::size_t>(i)]; }
    const T& operator[](Index i) const { return data_[static_cast<std::size_t>(i)]; }

    // Element access by one index per axis; unchecked in release builds.
    template <class... Ix>
    T& operator()(Ix... ix) { return data_[offset(ix...)]; }
    template <class... Ix>
    const T& operator()(Ix... ix) const { return data_[offset(ix...)]; }

    // Element access with the rank and every index checked.
    template <class... Ix>
    T& at(Ix... ix) { return data_[checked_offset(ix...)]; }
    template <class... Ix>
    const T& at(Ix... ix) const { return data_[checked_offset(ix...)]; }

    // The single value of a one-element tensor (a loss, for example).
    T item() const {
        require_shape(numel() == 1, "Tensor::item: tensor has shape ", shape_, ", expected one element");
        return data_[0];
    }

    Tensor& fill(T v) {
        std::fill(data_.begin(), data_.end(), v);
        return *this;
    }
    Tensor& zero() { return fill(T(0)); }

    // Same values, new shape with the same number of elements.
    Tensor reshaped(Shape new_shape) const& {
        Tensor t(*this);
        t.reshape(std::move(new_shape));
        return t;
    }
    Tensor reshaped(Shape new_shape) && {
        reshape(std::move(new_shape));
        return std::move(*this);
    }
    void reshape(Shape new_shape) {
        require_shape(new_shape.numel() == numel(), "Tensor::reshape: cannot view ", shape_, " (", numel(),
                      " elements) as ", new_shape, " (", new_shape.numel(), " elements)");
        shape_ = std::move(new_shape);
    }

    // The buffer as a rows x cols row-major Eigen matrix (rows * cols == numel()).
    MatrixMap matrix(Index rows, Index cols) {
        require_shape(rows * cols == numel(), "Tensor::matrix: ", rows, "x", cols, " does not fit ", shape_);
        return MatrixMap(data(), rows, cols);
    }
    ConstMatrixMap matrix(Index rows, Index cols) const {
        require_shape(rows * cols == numel(), "Tensor::matrix: ", rows, "x", cols, " does not fit ", shape_);
        return ConstMatrixMap(data(), rows, cols);
    }
    // The buffer as a flat Eigen array, for elementwise expressions.
    ArrayMap array() { return ArrayMap(data(), numel()); }
    ConstArrayMap array() const { return ConstArrayMap(data(), numel()); }

    // Converts the scalar type (float <-> double), for gradient checks and I/O.
    template <class U>
    Tensor<U> cast() const {
        Tensor<U> out(shape_);
        std::transform(begin(), end(), out.begin(), [](T v) { return static_cast<U>(v); });
        return out;
    }

    bool all_finite() const {
        return std::all_of(begin(), end(), [](T v) { return std::isfinite(v); });
    }

    friend std::ostream& operator<<(std::ostream& os, const Tensor& t) {
        os << "Tensor" << t.shape_ << " {";
        const Index n = std::min<Index>(t.numel(), 16);
        for (Index i = 0; i < n; ++i) os << (i ? ", " : "") << t[i];
        if (t.numel() > n) os << ", ...";
        return os << '}';
    }

private:
    template <class... Ix>
    std::size_t offset(Ix... ix) const {
        static_assert((std::is_integral_v<Ix> && ...), "Tensor: indices must be integers");
        assert(sizeof...(Ix) == rank());
        std::size_t off = 0;
        std::size_t axis = 0;
        ((off = off * static_cast<std::size_t>(shape_[axis++]) + static_cast<std::size_t>(ix)), ...);
        return off;
    }
    template <class... Ix>
    std::size_t checked_offset(Ix... ix) const {
        require_shape(sizeof...(Ix) == rank(), "Tensor::at: ", sizeof...(Ix), " indices for shape ", shape_);
        std::size_t axis = 0;
        bool ok = true;
        ((ok = ok && static_cast<Index>(ix) >= 0 && static_cast<Index>(ix) < shape_[axis++]), ...);
        require_shape(ok, "Tensor::at: index out of range for shape ", shape_);
        return offset(ix...);
    }

    Shape shape_;
    Storage data_;
};

// Rows [begin, begin + n) of x along its first axis (time steps of a series, fields of a batch),
// as a new tensor of shape [n, ...].
template <class T>
Tensor<T> leading_rows(const Tensor<T>& x, Index begin, Index n) {
    require(x.rank() >= 1 && begin >= 0 && n >= 0 && begin + n <= x.dim(0), "leading_rows: rows [", begin, ", ",
            begin + n, ") are not inside ", x.shape());
    Shape shape = x.shape();
    shape[0] = n;
    Tensor<T> out(shape);
    const Index row = x.dim(0) > 0 ? x.numel() / x.dim(0) : 0;
    std::copy(x.data() + begin * row, x.data() + (begin + n) * row, out.data());
    return out;
}

}  // namespace maunet
