#pragma once
// The one exception type the library throws. Messages name what was wrong (file, tensor, shape).

#include <stdexcept>
#include <string>

namespace mobilenet {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace mobilenet
