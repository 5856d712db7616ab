// maunet/parallel/chunked_map.hpp: a transformation of time chunks spread over the ranks, its
// results handed to rank 0 in time order (the distributed `maunet predict` and `regrid` when
// rank 0 writes: to .npy, or without parallel netCDF; pipeline/field_stream.hpp).
//
// The chunks [c * chunk, min((c + 1) * chunk, total)) are taken in rounds of p: in round k,
// rank r computes chunk k p + r; then an ordered gather brings the round's results to rank 0,
// which consumes them in chunk order. So rank 0 sees exactly the sequence of (t0, n, result)
// one process would produce, and a transformation that treats each time step on its own gives
// the same bits whatever the rank count. Memory: rank 0 holds one round (p chunks) of results.
// Every failure, on any rank and in compute or consume, is rethrown on all ranks
// (parallel/agreement.hpp), so no rank waits for ever in the next gather.
//
// map_tasks is the same with inputs that only rank 0 can read (the distributed `maunet bc`:
// rank 0 holds the tiles of the whole period in its scratch spool): in round k, rank 0 produces
// the inputs of tasks k p .. k p + p - 1 and scatters them, rank r computes task k p + r, and
// the results come back to rank 0 by the ordered gather. Memory on rank 0: one round of inputs
// and of results.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "maunet/core/tensor.hpp"
#include "maunet/parallel/agreement.hpp"
#include "maunet/parallel/communicator.hpp"

namespace maunet::parallel {

namespace detail {
// [rank, extents..., values] as bytes; the ranks share one machine type (one program under mpirun).
template <class T>
std::vector<unsigned char> to_bytes(const Tensor<T>& t) {
    std::vector<std::int64_t> head{static_cast<std::int64_t>(t.rank())};
    for (std::size_t a = 0; a < t.rank(); ++a) head.push_back(static_cast<std::int64_t>(t.shape()[a]));
    std::vector<unsigned char> out(head.size() * sizeof(std::int64_t) + static_cast<std::size_t>(t.numel()) * sizeof(T));
    std::memcpy(out.data(), head.data(), head.size() * sizeof(std::int64_t));
    if (t.numel() > 0)
        std::memcpy(out.data() + head.size() * sizeof(std::int64_t), t.data(), static_cast<std::size_t>(t.numel()) * sizeof(T));
    return out;
}
template <class T>
Tensor<T> from_bytes(const std::vector<unsigned char>& b) {
    std::int64_t rank = 0;
    require(b.size() >= sizeof rank, "map_chunks: a rank sent ", b.size(), " bytes, too few for a tensor");
    std::memcpy(&rank, b.data(), sizeof rank);
    const std::size_t head = (static_cast<std::size_t>(rank) + 1) * sizeof(std::int64_t);
    require(rank >= 0 && rank <= 8 && b.size() >= head, "map_chunks: a rank sent a malformed tensor");
    std::vector<std::int64_t> dims(static_cast<std::size_t>(rank));
    std::memcpy(dims.data(), b.data() + sizeof rank, dims.size() * sizeof(std::int64_t));
    Tensor<T> t(Shape(std::vector<Index>(dims.begin(), dims.end())));
    require(b.size() == head + static_cast<std::size_t>(t.numel()) * sizeof(T), "map_chunks: a rank sent ", b.size(),
            " bytes for a tensor ", t.shape());
    if (t.numel() > 0) std::memcpy(t.data(), b.data() + head, static_cast<std::size_t>(t.numel()) * sizeof(T));
    return t;
}
}  // namespace detail

// compute(t0, n) runs on the rank that owns the chunk; consume(t0, n, result) on rank 0 only,
// in increasing t0. Collective.
template <class T>
void map_chunks(Communicator& comm, Index total, Index chunk, const std::function<Tensor<T>(Index, Index)>& compute,
                const std::function<void(Index, Index, Tensor<T>&&)>& consume) {
    require(chunk >= 1 && total >= 0, "map_chunks: expected chunk >= 1 and total >= 0, got ", chunk, " and ", total);
    const Index p = comm.size(), num_chunks = (total + chunk - 1) / chunk;
    for (Index round = 0; round * p < num_chunks; ++round) {
        std::vector<unsigned char> mine;
        run_collectively(comm, [&] {
            const Index c = round * p + comm.rank();
            if (c >= num_chunks) return;
            const Index t0 = c * chunk;
            mine = detail::to_bytes(compute(t0, std::min(chunk, total - t0)));
        });
        std::vector<std::vector<unsigned char>> all = comm.gather(mine, 0);
        mine.clear();
        run_collectively(comm, [&] {
            for (Index r = 0; r < static_cast<Index>(all.size()); ++r) {
                const Index c = round * p + r;
                if (c >= num_chunks) break;
                const Index t0 = c * chunk;
                consume(t0, std::min(chunk, total - t0), detail::from_bytes<T>(all[static_cast<std::size_t>(r)]));
                all[static_cast<std::size_t>(r)].clear();
            }
        });
    }
}

// Bytes of tasks 0 .. count - 1: produce(k) on rank 0 gives task k's input; compute(k, input)
// runs on rank k mod p and gives its result; consume(k, result) runs on rank 0 in increasing k.
// One process: produce, compute, consume for k = 0, 1, ... Collective.
using Bytes = std::vector<unsigned char>;
inline void map_tasks(Communicator& comm, Index count, const std::function<Bytes(Index)>& produce,
                      const std::function<Bytes(Index, Bytes&&)>& compute,
                      const std::function<void(Index, Bytes&&)>& consume) {
    require(count >= 0, "map_tasks: expected count >= 0, got ", count);
    const Index p = comm.size();
    for (Index round = 0; round * p < count; ++round) {
        const Index first = round * p, here = std::min(p, count - first);
        std::vector<Bytes> inputs;
        run_collectively(comm, [&] {
            if (!comm.is_root()) return;
            inputs.resize(static_cast<std::size_t>(p));
            for (Index r = 0; r < here; ++r) inputs[static_cast<std::size_t>(r)] = produce(first + r);
        });
        Bytes mine = comm.scatter(inputs, 0);
        inputs.clear();
        run_collectively(comm, [&] {
            if (comm.rank() < here) mine = compute(first + comm.rank(), std::move(mine));
        });
        std::vector<Bytes> results = comm.gather(mine, 0);
        mine.clear();
        run_collectively(comm, [&] {
            for (Index r = 0; r < here && r < static_cast<Index>(results.size()); ++r)
                consume(first + r, std::move(results[static_cast<std::size_t>(r)]));
        });
    }
}

// map_tasks with typed inputs and results: produce(k) -> In, compute(k, In) -> Out, consume(k,
// Out). The codec turns them into bytes and back, and is used only with more than one rank: one
// process hands each task's values straight on, with no copy into messages (the tiles of `bc`
// are hundreds of megabytes).
template <class In, class Out>
struct TaskCodec {
    std::function<Bytes(const In&)> encode_input;
    std::function<In(const Bytes&)> decode_input;
    std::function<Bytes(const Out&)> encode_result;
    std::function<Out(const Bytes&)> decode_result;
};

namespace detail {
template <class T>
struct NoDeduce {  // In and Out are deduced from the codec alone, so the others may be lambdas
    using type = T;
};
}  // namespace detail

template <class In, class Out>
void map_tasks(Communicator& comm, Index count, const typename detail::NoDeduce<std::function<In(Index)>>::type& produce,
               const typename detail::NoDeduce<std::function<Out(Index, In&&)>>::type& compute,
               const typename detail::NoDeduce<std::function<void(Index, Out&&)>>::type& consume,
               const TaskCodec<In, Out>& codec) {
    require(count >= 0, "map_tasks: expected count >= 0, got ", count);
    if (comm.size() == 1) {
        for (Index k = 0; k < count; ++k) consume(k, compute(k, produce(k)));
        return;
    }
    map_tasks(
        comm, count, [&](Index k) { return codec.encode_input(produce(k)); },
        [&](Index k, Bytes&& input) {
            In value = codec.decode_input(input);
            input = Bytes();
            return codec.encode_result(compute(k, std::move(value)));
        },
        [&](Index k, Bytes&& result) {
            Out value = codec.decode_result(result);
            result = Bytes();
            consume(k, std::move(value));
        });
}

// Several tensors as one message, and back (the inputs of a task of map_tasks).
template <class T>
Bytes pack_tensors(const std::vector<const Tensor<T>*>& tensors) {
    Bytes out;
    for (const Tensor<T>* t : tensors) {
        const Bytes one = detail::to_bytes(*t);
        const std::uint64_t n = one.size();
        const auto* np = reinterpret_cast<const unsigned char*>(&n);
        out.insert(out.end(), np, np + sizeof n);
        out.insert(out.end(), one.begin(), one.end());
    }
    return out;
}
template <class T>
std::vector<Tensor<T>> unpack_tensors(const Bytes& bytes) {
    std::vector<Tensor<T>> out;
    for (std::size_t at = 0; at < bytes.size();) {
        std::uint64_t n = 0;
        require(bytes.size() - at >= sizeof n, "unpack_tensors: ", bytes.size() - at, " bytes left, too few for a length");
        std::memcpy(&n, bytes.data() + at, sizeof n);
        at += sizeof n;
        require(n <= bytes.size() - at, "unpack_tensors: a tensor of ", n, " bytes, only ", bytes.size() - at, " left");
        out.push_back(detail::from_bytes<T>(Bytes(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                                                  bytes.begin() + static_cast<std::ptrdiff_t>(at + n))));
        at += static_cast<std::size_t>(n);
    }
    return out;
}
template <class T>
Bytes tensor_bytes(const Tensor<T>& t) { return detail::to_bytes(t); }
template <class T>
Tensor<T> tensor_from_bytes(const Bytes& b) { return detail::from_bytes<T>(b); }

// Codec pieces for the usual values: a list of tensors, one tensor.
template <class T>
std::function<Bytes(const std::vector<Tensor<T>>&)> encode_tensor_list() {
    return [](const std::vector<Tensor<T>>& ts) {
        std::vector<const Tensor<T>*> p;
        for (const Tensor<T>& t : ts) p.push_back(&t);
        return pack_tensors<T>(p);
    };
}
template <class T>
std::function<std::vector<Tensor<T>>(const Bytes&)> decode_tensor_list() {
    return [](const Bytes& b) { return unpack_tensors<T>(b); };
}
template <class T>
std::function<Bytes(const Tensor<T>&)> encode_tensor() {
    return [](const Tensor<T>& t) { return tensor_bytes(t); };
}
template <class T>
std::function<Tensor<T>(const Bytes&)> decode_tensor() {
    return [](const Bytes& b) { return tensor_from_bytes<T>(b); };
}

}  // namespace maunet::parallel
