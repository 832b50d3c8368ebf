// main.cpp on the dispatching library (mobilenet::dispatch), built without ISA flags: the path is
// chosen at run time. A seeded random MobileNetV3-Small (10 classes, no weight file), one forward
// pass on a 1x32x32x3 NHWC input.
#include <cmath>
#include <cstdio>
#include <mobilenet/dispatch.hpp>

int main() {
  const mobilenet::dispatch::Model model = mobilenet::dispatch::random_model(
      mobilenet::Arch::V3Small, {/*width*/ 0.5, /*num_classes*/ 10});
  mobilenet::dispatch::Workspace ws = model.workspace({/*batch*/ 1, /*height*/ 32, /*width*/ 32});
  mobilenet::Tensor x({1, 32, 32, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>(i % 17) / 17.0f - 0.5f;
  const mobilenet::ConstTensorView logits = model.forward(x, ws);
  bool finite = true;
  for (int64_t i = 0; i < logits.numel(); ++i) finite = finite && std::isfinite(logits.data[i]);
  std::printf("mobilenet consumer: isa %s, logits %s, finite %s\n", model.isa().c_str(),
              logits.shape.str().c_str(), finite ? "yes" : "no");
  return finite && logits.numel() == 10 ? 0 : 1;
}
