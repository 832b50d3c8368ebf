// The benchmark CLI's CPU pinning helpers (examples/cpu_affinity.hpp): CPU-list parsing and the
// choice of big cores from a fake sysfs tree laid out like a phone's.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cpu_affinity.hpp"

namespace {

namespace fs = std::filesystem;

TEST(CpuList, ParsesRangesAndSingles) {
  EXPECT_EQ(cli::parse_cpu_list("0-3,6"), (std::vector<int>{0, 1, 2, 3, 6}));
  EXPECT_EQ(cli::parse_cpu_list("7,4-5,5"), (std::vector<int>{4, 5, 7}));
  EXPECT_EQ(cli::parse_cpu_list("2"), (std::vector<int>{2}));
}

TEST(CpuList, RejectsMalformedLists) {
  for (const char* bad : {"", "a", "1-", "-1", "3-1", "1,,2", "1.5", "999999"}) {
    try {
      cli::parse_cpu_list(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const mobilenet::Error& e) {
      EXPECT_NE(std::string(e.what()).find("bad CPU list '" + std::string(bad) + "'"),
                std::string::npos)
          << e.what();
    }
  }
}

class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("mobilenet_sysfs_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void cpu(int index, long max_khz) {
    const fs::path dir = root_ / ("cpu" + std::to_string(index)) / "cpufreq";
    fs::create_directories(dir);
    if (max_khz > 0) std::ofstream(dir / "cpuinfo_max_freq") << max_khz << "\n";
  }
  fs::path root_;
};

TEST_F(FakeSysfs, PicksPrimeAndBigCoresOfADynamIqPhone) {
  for (int c = 0; c < 4; ++c) cpu(c, 1800000);  // little
  for (int c = 4; c < 7; ++c) cpu(c, 2400000);  // big
  cpu(7, 3000000);                              // prime
  fs::create_directories(root_ / "cpufreq");    // not a CPU
  fs::create_directories(root_ / "cpuidle");
  EXPECT_EQ(cli::big_cores(root_.string()), (std::vector<int>{4, 5, 6, 7}));
}

TEST_F(FakeSysfs, TakesEveryCoreWhenAllShareOneMaximum) {
  for (int c = 0; c < 3; ++c) cpu(c, 2000000);
  cpu(3, 0);  // offline: no cpuinfo_max_freq file
  EXPECT_EQ(cli::big_cores(root_.string()), (std::vector<int>{0, 1, 2}));
}

TEST_F(FakeSysfs, FailsClearlyWithoutCpufreq) {
  try {
    cli::big_cores(root_.string());
    FAIL() << "no error";
  } catch (const mobilenet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cpuinfo_max_freq; name the cores with --cpus"),
              std::string::npos)
        << e.what();
  }
}

TEST(PinToCpus, RejectsCpusOutOfRange) {
  EXPECT_THROW(cli::pin_to_cpus({CPU_SETSIZE}), mobilenet::Error);
}

}  // namespace
