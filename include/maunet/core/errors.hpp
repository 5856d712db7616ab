// maunet/core/errors.hpp: the exceptions every layer of maunet throws.
//
// Nothing in maunet calls exit() or abort() on bad input: it throws one of these, and the
// message names the op, layer or file and says what was expected and what was found.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace maunet {

// Base class: catch maunet::Error to catch everything maunet throws on purpose.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Tensor shapes that do not fit the op ("conv2d: input [2, 3, 8, 8] has 3 channels, weight
// [4, 2, 3, 3] expects 2").
class ShapeError : public Error {
public:
    using Error::Error;
};

// An argument outside its valid range (stride 0, dropout rate 1.5, kernel larger than input).
class ArgumentError : public Error {
public:
    using Error::Error;
};

// A file that is not what it claims to be: names the path, the byte offset and what was
// expected versus found.
class FormatError : public Error {
public:
    using Error::Error;
};

// An I/O failure of the operating system (cannot open, cannot rename, disk full).
class IOError : public Error {
public:
    using Error::Error;
};

// Training produced a non-finite loss, or data contains values an op cannot handle.
class NumericalError : public Error {
public:
    using Error::Error;
};

namespace detail {
// Builds a message from any streamable parts: cat("conv2d: stride ", s, " must be >= 1").
template <class... Parts>
std::string cat(Parts&&... parts) {
    std::ostringstream os;
    (os << ... << std::forward<Parts>(parts));
    return os.str();
}
}  // namespace detail

// Throws ArgumentError with the concatenated message unless `ok`.
template <class... Parts>
void require(bool ok, Parts&&... parts) {
    if (!ok) throw ArgumentError(detail::cat(std::forward<Parts>(parts)...));
}

// Throws ShapeError with the concatenated message unless `ok`.
template <class... Parts>
void require_shape(bool ok, Parts&&... parts) {
    if (!ok) throw ShapeError(detail::cat(std::forward<Parts>(parts)...));
}

}  // namespace maunet
