#pragma once
// CPU pinning for mobilenet-benchmark on phones and boards: `--cpus 4-7` takes a list, and
// `--big-cores` picks the fast cores of a big.LITTLE SoC from the cpufreq maxima in sysfs (as
// ncnn's benchncnn does). Pinning the main thread before the model's thread pool exists pins the
// pool's workers too: Linux threads inherit their creator's affinity mask.

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"

namespace cli {

/// Parses a CPU list as Linux writes them ("0-3,6"): sorted, without duplicates.
inline std::vector<int> parse_cpu_list(const std::string& text) {
  const auto number = [&](const std::string& part) {
    if (part.empty() || part.size() > 5 ||
        part.find_first_not_of("0123456789") != std::string::npos)
      throw mobilenet::Error("bad CPU list '" + text + "': '" + part +
                             "' is not a CPU number (expected e.g. 0-3,6)");
    return std::stoi(part);
  };
  std::vector<int> cpus;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, ',');) {
    const size_t dash = part.find('-');
    const int first = number(part.substr(0, dash));
    const int last = dash == std::string::npos ? first : number(part.substr(dash + 1));
    if (last < first)
      throw mobilenet::Error("bad CPU list '" + text + "': empty range '" + part + "'");
    for (int c = first; c <= last; ++c) cpus.push_back(c);
  }
  if (cpus.empty()) throw mobilenet::Error("bad CPU list '" + text + "': no CPU named");
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

/// The CPUs under `sysfs_cpu_root` (normally /sys/devices/system/cpu) whose highest frequency
/// (cpufreq/cpuinfo_max_freq) is above the lowest one: on a big.LITTLE or DynamIQ phone, the prime
/// and big cores. On a machine whose cores all share one maximum, every core with cpufreq.
inline std::vector<int> big_cores(const std::string& sysfs_cpu_root = "/sys/devices/system/cpu") {
  namespace fs = std::filesystem;
  std::map<int, long> max_khz;  // cpu -> cpuinfo_max_freq
  std::error_code ec;
  for (fs::directory_iterator it(sysfs_cpu_root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() < 4 || name.compare(0, 3, "cpu") != 0 ||
        name.find_first_not_of("0123456789", 3) != std::string::npos)
      continue;
    std::ifstream in(it->path() / "cpufreq" / "cpuinfo_max_freq");
    long khz = 0;
    if (in >> khz && khz > 0) max_khz[std::stoi(name.substr(3))] = khz;
  }
  if (max_khz.empty())
    throw mobilenet::Error("--big-cores: no readable " + sysfs_cpu_root +
                           "/cpu*/cpufreq/cpuinfo_max_freq; name the cores with --cpus instead");
  long slowest = max_khz.begin()->second;
  for (const auto& [cpu, khz] : max_khz) slowest = std::min(slowest, khz);
  std::vector<int> cpus;
  for (const auto& [cpu, khz] : max_khz)
    if (khz > slowest) cpus.push_back(cpu);
  if (cpus.empty())
    for (const auto& [cpu, khz] : max_khz) cpus.push_back(cpu);
  return cpus;
}

/// Restricts the calling thread, and every thread it creates afterwards, to `cpus`.
inline void pin_to_cpus(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) {
    if (c < 0 || c >= CPU_SETSIZE)
      throw mobilenet::Error("CPU " + std::to_string(c) + " is out of range (0-" +
                             std::to_string(CPU_SETSIZE - 1) + ")");
    CPU_SET(c, &set);
  }
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    std::string list;
    for (int c : cpus) list += (list.empty() ? "" : ",") + std::to_string(c);
    throw mobilenet::Error("cannot pin to CPUs " + list + ": " + std::strerror(errno) +
                           " (does this machine have them, and are they online?)");
  }
}

}  // namespace cli
