#pragma once
// Umbrella header: everything a user of the library needs.
//
//   auto model = mobilenet::load("mobilenet_v3_large.safetensors");
//   auto ws = model.workspace({/*batch*/ 1, /*height*/ 224, /*width*/ 224});
//   auto logits = model.forward(input_nhwc, ws);

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/io/npy.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/models/load.hpp"
#include "mobilenet/models/model.hpp"
#include "mobilenet/models/save.hpp"

/// @file
/// Umbrella header: includes everything a user of the library needs.

/// @namespace mobilenet
/// MobileNet V1, V2, V3-Large and V3-Small float32 inference on NHWC tensors. Start with load()
/// or random_model(), then Model::workspace() and Model::forward().
