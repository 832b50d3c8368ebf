#pragma once
// Helpers shared by the loading tests: a temporary file path per test file, and a check that a
// call throws mobilenet::Error whose message names every expected part (file, tensor, shapes).

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"

namespace testing_io {

/// `name` under gtest's temporary directory, prefixed so test files do not collide.
inline std::string temp_path(const std::string& prefix, const std::string& name) {
  return ::testing::TempDir() + "/" + prefix + name;
}

/// Expects `f` to throw mobilenet::Error with every string of `parts` in its message.
inline void expect_error_containing(const std::function<void()>& f,
                                    const std::vector<std::string>& parts) {
  try {
    f();
    FAIL() << "expected mobilenet::Error";
  } catch (const mobilenet::Error& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "'" << p << "' not in: " << e.what();
  }
}

}  // namespace testing_io
