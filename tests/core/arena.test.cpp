// Arena (core/arena.hpp): blocks are reused by size class, tensors made in an ArenaScope draw
// from it and give their blocks back to it wherever they are freed, and a repeated inference
// takes no new block. (That it then makes no heap allocation at all is tested through the C
// API with a counting malloc: bindings/c/tests/test_c_workspace.c.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "maunet/core/arena.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/nn/models/unet.hpp"

using maunet::Arena;
using maunet::ArenaScope;
using maunet::Shape;
using maunet::Tensor;

TEST_CASE("Arena reuses a freed block of the same size class and takes a new one otherwise", "[core][arena]") {
    Arena arena;
    void* a = arena.allocate(100);  // class 128
    CHECK(reinterpret_cast<std::uintptr_t>(a) % 64 == 0);
    CHECK(arena.heap_blocks() == 1);
    CHECK(arena.reserved_bytes() == 128);
    arena.deallocate(a, 100);
    void* b = arena.allocate(128);  // same class: the same block
    CHECK(b == a);
    void* c = arena.allocate(129);  // class 192: a new block
    CHECK(c != a);
    CHECK(arena.heap_blocks() == 2);
    CHECK(arena.reserved_bytes() == 128 + 192);
    void* d = arena.allocate(0);  // one line
    CHECK(Arena::rounded(0) == 64);
    arena.deallocate(b, 128);
    arena.deallocate(c, 129);
    arena.deallocate(d, 0);
    CHECK(arena.heap_blocks() == 3);
}

TEST_CASE("Tensors made in an ArenaScope draw from the arena and return to it", "[core][arena]") {
    Arena arena;
    Tensor<float> outside(Shape{4});
    {
        ArenaScope scope(&arena);
        Tensor<float> t(Shape{3, 5}, 2.0f);
        CHECK(arena.heap_blocks() == 1);
        Tensor<float> copy = t;  // a copy draws from the current arena
        CHECK(arena.heap_blocks() == 2);
        CHECK(copy[14] == 2.0f);
        outside = std::move(t);  // a moved buffer keeps its arena ...
    }
    CHECK(outside.shape() == Shape{3, 5});
    CHECK(outside[7] == 2.0f);
    outside = Tensor<float>(Shape{2});  // ... and goes back to it when freed outside the scope
    {
        ArenaScope scope(&arena);
        Tensor<float> again(Shape{15});
        CHECK(arena.heap_blocks() == 2);  // the block of t, reused
        ArenaScope heap(nullptr);         // scopes nest: null is the heap
        Tensor<float> on_heap(Shape{1000});
        CHECK(arena.heap_blocks() == 2);
    }
    Tensor<float> after(Shape{15});
    CHECK(arena.heap_blocks() == 2);  // no scope: the heap
}

TEST_CASE("A second inference in the same arena takes no new block and gives the same result", "[core][arena]") {
    maunet::Rng rng(3);
    maunet::nn::UNetConfig config = maunet::nn::UNetConfig::maunet();
    config.levels = 2;
    config.base_width = 4;
    const maunet::nn::UNet<float> net(config, rng);
    const Tensor<float> x = Tensor<float>::randn(Shape{2, 1, 20, 12}, rng);  // padded to 20 x 12 -> multiple of 4
    const Tensor<float> reference = net.predict(x);
    Arena arena;
    ArenaScope scope(&arena);
    {
        const Tensor<float> y = net.predict(x);
        CHECK(std::equal(y.begin(), y.end(), reference.begin()));
    }
    const std::size_t blocks = arena.heap_blocks();
    CHECK(blocks > 0);
    for (int call = 0; call < 3; ++call) {
        const Tensor<float> y = net.predict(x);
        CHECK(std::equal(y.begin(), y.end(), reference.begin()));
    }
    CHECK(arena.heap_blocks() == blocks);
}

TEST_CASE("Shape holds at most kMaxRank axes", "[core][shape]") {
    const std::vector<maunet::Index> eight(maunet::kMaxRank, 2);
    CHECK(Shape(eight).numel() == 256);
    std::vector<maunet::Index> nine(maunet::kMaxRank + 1, 1);
    CHECK_THROWS_AS(Shape(nine), maunet::ShapeError);
    CHECK_THROWS_WITH(Shape(nine), Catch::Contains("Shape: more than 8 axes"));
}
