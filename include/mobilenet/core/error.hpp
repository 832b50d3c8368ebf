#pragma once
// The one exception type the library throws. Messages name what was wrong (file, tensor, shape).

#include <stdexcept>
#include <string>

namespace mobilenet {

/// The exception every failure of the library throws; what() names the file, tensor or shapes
/// involved.
class Error : public std::runtime_error {
 public:
  /// An error with the message `what`.
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace mobilenet
