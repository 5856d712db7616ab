// maunet/train/sample_spool.hpp: training samples kept on disk and read back through a bounded
// cache, so that a training set larger than memory can be trained on (Dataset::spooled).
//
// All samples of one dataset have the same shapes, so record i sits at byte i R of an anonymous
// scratch file (io/scratch_file.hpp), R = (C + 2) H W sizeof(T): the input [C, H, W], then the
// target and the mask [1, H, W]. append() writes a record once; get(i) reads it back, bit for
// bit. The cache keeps the most recently used records, at most max(1, cache_bytes / R) of them
// (least recently used out first); a record a caller still holds stays alive through its
// shared_ptr after eviction, so memory holds the cache plus the batch being built.
// get() is thread-safe (a mutex guards the cache; reads are positional).
#pragma once

#include <algorithm>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/io/scratch_file.hpp"
#include "maunet/train/sample.hpp"

namespace maunet::train {

template <class T>
class SampleSpool {
public:
    SampleSpool(const std::string& directory, std::size_t cache_bytes) : file_(directory), cache_bytes_(cache_bytes) {}
    SampleSpool(const SampleSpool&) = delete;
    SampleSpool& operator=(const SampleSpool&) = delete;

    // Writes a sample as the next record and returns its index. The first sample fixes the
    // shapes; a sample of other shapes throws ShapeError.
    std::size_t append(const Sample<T>& s) {
        validate_sample(s, "SampleSpool::append");
        std::lock_guard<std::mutex> lock(mutex_);
        if (count_ == 0) {
            input_shape_ = s.input.shape();
            plane_ = s.input.dim(1) * s.input.dim(2);
            const std::size_t bytes = record_bytes();
            capacity_ = std::max<std::size_t>(1, cache_bytes_ / (bytes > 0 ? bytes : 1));
        }
        require_shape(s.input.shape() == input_shape_, "SampleSpool::append: sample input has shape ", s.input.shape(),
                      ", the spool's samples have ", input_shape_);
        const RecordParts r = record_parts(count_);
        file_.put(s.input.data(), r.input_bytes, r.input);
        file_.put(s.target.data(), r.plane_bytes, r.target);
        file_.put(s.mask.data(), r.plane_bytes, r.mask);
        return count_++;
    }

    // Record i, from the cache or the disk.
    std::shared_ptr<const Sample<T>> get(std::size_t i) const {
        std::unique_lock<std::mutex> lock(mutex_);
        require(i < count_, "SampleSpool::get: record ", i, " out of range for ", count_, " records");
        if (auto it = where_.find(i); it != where_.end()) {
            lru_.splice(lru_.begin(), lru_, it->second);  // most recently used first
            return it->second->second;
        }
        lock.unlock();  // read without holding the cache (pread is positional)
        auto s = std::make_shared<Sample<T>>();
        s->input = Tensor<T>(input_shape_);
        s->target = Tensor<T>(Shape{1, input_shape_[1], input_shape_[2]});
        s->mask = Tensor<T>(Shape{1, input_shape_[1], input_shape_[2]});
        const RecordParts r = record_parts(i);
        file_.get(s->input.data(), r.input_bytes, r.input);
        file_.get(s->target.data(), r.plane_bytes, r.target);
        file_.get(s->mask.data(), r.plane_bytes, r.mask);
        lock.lock();
        ++reads_;
        if (auto it = where_.find(i); it != where_.end()) return it->second->second;  // another thread was faster
        lru_.emplace_front(i, s);
        where_[i] = lru_.begin();
        while (lru_.size() > capacity_) {
            where_.erase(lru_.back().first);
            lru_.pop_back();
        }
        return s;
    }

    std::size_t size() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return count_;
    }
    // Bytes of one record (0 before the first append).
    std::size_t record_bytes() const {
        return plane_ == 0 ? 0 : static_cast<std::size_t>((input_shape_[0] + 2) * plane_) * sizeof(T);
    }
    // The cache's budget in bytes, as constructed.
    std::size_t cache_bytes() const { return cache_bytes_; }
    // Records the cache holds at most, and holds now; records read from disk so far.
    std::size_t cache_capacity() const { return capacity_; }
    std::size_t cached() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return lru_.size();
    }
    std::size_t disk_reads() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return reads_;
    }
    const std::string& directory() const { return file_.directory(); }

private:
    // Where record i's input, target and mask lie in the file, and their sizes in bytes.
    struct RecordParts {
        off_t input, target, mask;
        std::size_t input_bytes, plane_bytes;
    };
    RecordParts record_parts(std::size_t i) const {
        const std::size_t plane_bytes = static_cast<std::size_t>(plane_) * sizeof(T);
        const std::size_t input_bytes = static_cast<std::size_t>(input_shape_[0]) * plane_bytes;
        const auto at = static_cast<off_t>(i * record_bytes());
        return {at, at + static_cast<off_t>(input_bytes), at + static_cast<off_t>(input_bytes + plane_bytes), input_bytes,
                plane_bytes};
    }

    using Entry = std::pair<std::size_t, std::shared_ptr<const Sample<T>>>;

    io::ScratchFile file_;
    std::size_t cache_bytes_;
    std::size_t capacity_ = 1;
    Shape input_shape_;
    Index plane_ = 0;
    std::size_t count_ = 0;
    mutable std::mutex mutex_;
    mutable std::list<Entry> lru_;  // most recently used first
    mutable std::unordered_map<std::size_t, typename std::list<Entry>::iterator> where_;
    mutable std::size_t reads_ = 0;
};

}  // namespace maunet::train
