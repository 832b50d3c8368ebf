#pragma once
// The element types tensors, views and workspace regions hold. Views carry theirs in their C++
// type (BasicTensorView<T>::element_type); the enum names it where a type is chosen at run time
// (a weight file's dtype, a workspace region's contents, what a benchmark reports).

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace mobilenet {

/// An element type.
enum class ElementType : uint8_t {
  f32,  ///< IEEE binary32
  f16,  ///< IEEE binary16 (AArch64's __fp16: the fp16 network's activations and weights)
  i8,   ///< signed 8-bit integer (quantized weights and activations)
  u8,   ///< unsigned 8-bit integer
  i32,  ///< signed 32-bit integer (accumulators, quantized biases)
};

/// Bytes per element.
constexpr std::size_t element_size(ElementType t) {
  switch (t) {
    case ElementType::i8:
    case ElementType::u8:
      return 1;
    case ElementType::f16:
      return 2;
    case ElementType::f32:
    case ElementType::i32:
      return 4;
  }
  return 0;
}

/// The type's name as safetensors spells it ("F32", "F16", "I8", "U8", "I32").
constexpr const char* dtype_name(ElementType t) {
  switch (t) {
    case ElementType::f32:
      return "F32";
    case ElementType::f16:
      return "F16";
    case ElementType::i8:
      return "I8";
    case ElementType::u8:
      return "U8";
    case ElementType::i32:
      return "I32";
  }
  return "?";
}

namespace element_detail {
template <class T>
struct element_type_of;
template <>
struct element_type_of<float> : std::integral_constant<ElementType, ElementType::f32> {};
#if defined(__aarch64__)
template <>  // ACLE's float16_t (core/half.hpp's half) is this type
struct element_type_of<__fp16> : std::integral_constant<ElementType, ElementType::f16> {};
#endif
template <>
struct element_type_of<int8_t> : std::integral_constant<ElementType, ElementType::i8> {};
template <>
struct element_type_of<uint8_t> : std::integral_constant<ElementType, ElementType::u8> {};
template <>
struct element_type_of<int32_t> : std::integral_constant<ElementType, ElementType::i32> {};
}  // namespace element_detail

/// The ElementType of the C++ type T (const ignored); a compile error for other types.
template <class T>
inline constexpr ElementType element_type_v =
    element_detail::element_type_of<std::remove_const_t<T>>::value;

}  // namespace mobilenet
