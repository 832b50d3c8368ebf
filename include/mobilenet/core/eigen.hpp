#pragma once
// Eigen/Core, included with two warnings off for what it brings in. GCC 12 reports
// (maybe-)uninitialized reads inside its own AVX-512 intrinsics (avx512fintrin.h: _mm512_max_ps
// and _mm512_min_ps pass _mm512_undefined_ps() as the unused source of a masked builtin) once
// Eigen's pmax/pmin are inlined into our kernels: a false positive (GCC bug 105593). GCC
// attributes those warnings to the intrinsics header's lines, so ignoring them around this
// include, where the intrinsics are first included, scopes the suppression to that header and
// keeps both warnings on for our own code.

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <Eigen/Core>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
