// The activation types: packet form against scalar form over a dense range that covers every
// saturated region, and scalar form against PyTorch's definitions at known points.

#include <gtest/gtest.h>

#include "mobilenet/core/activation.hpp"
#include "reference.hpp"

namespace {

using namespace mobilenet;

template <class Act>
void check_packet_matches_scalar(Activation kind) {
  constexpr int W = simd::kWidth;
  alignas(64) float in[W], out[W];
  for (float start = -12.0f; start < 12.0f; start += 0.01f * W) {
    for (int i = 0; i < W; ++i) in[i] = start + 0.01f * static_cast<float>(i);
    simd::store(out, Act::apply(simd::load(in)));
    for (int i = 0; i < W; ++i) {
      ASSERT_FLOAT_EQ(out[i], Act::apply(in[i])) << to_string(kind) << " at " << in[i];
      ASSERT_NEAR(out[i], reference::activate(kind, in[i]), 1e-6f * std::max(1.0f, std::abs(in[i])))
          << to_string(kind) << " at " << in[i];
    }
  }
}

TEST(Activation, PacketMatchesScalarEverywhere) {
  for (Activation a : {Activation::Identity, Activation::ReLU, Activation::ReLU6,
                       Activation::HardSwish, Activation::HardSigmoid})
    dispatch_activation(a, [&](auto act) { check_packet_matches_scalar<decltype(act)>(a); });
}

TEST(Activation, MatchesPyTorchDefinitions) {
  EXPECT_EQ(act::ReLU6::apply(7.0f), 6.0f);
  EXPECT_EQ(act::ReLU6::apply(-1.0f), 0.0f);
  EXPECT_EQ(act::HardSwish::apply(-3.0f), 0.0f);
  EXPECT_EQ(act::HardSwish::apply(-5.0f), -0.0f);
  EXPECT_EQ(act::HardSwish::apply(3.0f), 3.0f);
  EXPECT_FLOAT_EQ(act::HardSwish::apply(1.0f), 4.0f / 6.0f);
  EXPECT_FLOAT_EQ(act::HardSigmoid::apply(0.0f), 0.5f);
  EXPECT_EQ(act::HardSigmoid::apply(3.0f), 1.0f);
  EXPECT_EQ(act::HardSigmoid::apply(-3.0f), 0.0f);
}

}  // namespace
