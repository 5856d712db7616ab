// maunet/io/weights_npz.hpp: a module's weights to and from a NumPy .npz archive, by name.
//
// Names are the module's dotted parameter and buffer names (PyTorch's state_dict names for the
// same structure), so `torch_module.load_state_dict({k: torch.from_numpy(v) for k, v in
// np.load(path).items()})` loads them; docs/model-format.md has the whole snippet.
#pragma once

#include <map>
#include <set>
#include <string>

#include "maunet/io/npz.hpp"
#include "maunet/nn/module.hpp"

namespace maunet::io {

// Writes every parameter and buffer of `module` to `path` (atomically).
template <class T>
void export_weights_npz(const std::string& path, const nn::Module<T>& module) {
    save_npz(path, NamedTensors<T>(module.state()));
}

// Loads weights by name into `module`. Every parameter and buffer of the module must be in the
// archive with its exact shape, and the archive must hold nothing else (as PyTorch's strict
// load_state_dict); otherwise FormatError names the path and the first offending entry, and
// the module is left unchanged.
template <class T>
void import_weights_npz(const std::string& path, nn::Module<T>& module) {
    std::map<std::string, Tensor<T>> arrays = npz_to_map(load_npz<T>(path));
    std::vector<std::pair<Tensor<T>*, const Tensor<T>*>> assignments;
    std::set<std::string> used;
    auto take = [&](const std::string& name, Tensor<T>& dst) {
        auto it = arrays.find(name);
        if (it == arrays.end()) throw FormatError(path + ": no array '" + name + "' (the module expects one)");
        if (it->second.shape() != dst.shape())
            throw FormatError(maunet::detail::cat(path, ": array '", name, "' has shape ", it->second.shape(),
                                                  ", the module expects ", dst.shape()));
        assignments.emplace_back(&dst, &it->second);
        used.insert(name);
    };
    for (auto& [name, p] : module.named_parameters()) take(name, p.mutable_value());
    for (auto& [name, b] : module.named_buffers()) take(name, *b);
    for (const auto& [name, t] : arrays)
        if (!used.count(name)) throw FormatError(path + ": array '" + name + "' does not belong to the module");
    for (auto& [dst, src] : assignments) *dst = *src;  // only after every check passed
}

}  // namespace maunet::io
