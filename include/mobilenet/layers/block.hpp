#pragma once
// The block concept: what the model asks of every kind of block, written down once. A block is
// an immutable object holding its folded, packed weights; the model builds it from a BlockSpec
// and then only calls these four (const) members:
//
//   Shape output_shape(const Shape& in) const;
//       The output for an NHWC input of shape `in` (throws Error if it cannot take it).
//   BlockScratchSize scratch_size(const Shape& in, int threads, bool fused) const;
//       Bytes of each named scratch region (ScratchRegion) it needs at `in` with `threads`
//       threads, reserved as elements of a type (BlockScratchSize::reserve<T>); `fused`: as
//       forward runs unprofiled (by bands where it fuses), else layer by layer, as a per-layer
//       profile runs it. The memory plan takes each region's maximum over the blocks and places
//       it in the workspace arena; forward reads it back as the same type (BlockScratch::as<T>).
//   void describe(const std::string& name, const Shape& in, std::vector<LayerInfo>& rows) const;
//       Appends one row per layer (name.<layer>, type, output shape, parameters, MACs), in the
//       order forward runs them.
//   void forward(ConstTensorView in, TensorView out, const BlockScratch& scratch,
//                ThreadPool& pool, Profiler& prof) const;
//       Computes `out` (planned by output_shape; padded only where the model pads) from `in`,
//       using only `scratch`'s regions, no allocation; calls prof.lap() after each layer it
//       describes when prof.per_layer(). Results must not depend on pool.threads().
//
// is_block_v<B> checks the signatures at compile time (models/network.hpp static_asserts it for
// each kind).

#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "mobilenet/core/tensor.hpp"
#include "mobilenet/layers/block_scratch.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/runtime/profiler.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace block_detail {

template <class B, class = void>
struct is_block : std::false_type {};

template <class B>
struct is_block<
    B, std::void_t<decltype(std::declval<const B&>().output_shape(std::declval<const Shape&>())),
                   decltype(std::declval<const B&>().scratch_size(std::declval<const Shape&>(), 1,
                                                                  true)),
                   decltype(std::declval<const B&>().describe(
                       std::declval<const std::string&>(), std::declval<const Shape&>(),
                       std::declval<std::vector<LayerInfo>&>())),
                   decltype(std::declval<const B&>().forward(
                       std::declval<ConstTensorView>(), std::declval<TensorView>(),
                       std::declval<const BlockScratch&>(), std::declval<ThreadPool&>(),
                       std::declval<Profiler&>()))>>
    : std::bool_constant<std::is_same_v<decltype(std::declval<const B&>().output_shape(
                                            std::declval<const Shape&>())),
                                        Shape> &&
                         std::is_same_v<decltype(std::declval<const B&>().scratch_size(
                                            std::declval<const Shape&>(), 1, true)),
                                        BlockScratchSize>> {};

}  // namespace block_detail

/// Calls f(block) on a block, or on the alternative a variant of block kinds holds.
template <class B, class F>
decltype(auto) visit_block(const B& block, F&& f) {
  return f(block);
}
template <class... Kinds, class F>
decltype(auto) visit_block(const std::variant<Kinds...>& block, F&& f) {
  return std::visit(std::forward<F>(f), block);
}

/// Whether B has the four const members of the block concept (layers/block.hpp).
template <class B>
inline constexpr bool is_block_v = block_detail::is_block<B>::value;

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
