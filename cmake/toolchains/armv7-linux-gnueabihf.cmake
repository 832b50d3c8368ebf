# Cross build for 32-bit ARM Linux (ARMv7-A with NEON, hard-float ABI: Raspberry Pi OS 32-bit,
# armhf distributions, old phones) with Debian's g++-arm-linux-gnueabihf; ctest runs the test
# binaries under qemu-arm (Debian's qemu-user). tools/ci_arm.sh uses it like this:
#
#   cmake -S . -B build-arm-v7 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/armv7-linux-gnueabihf.cmake \
#         -DMOBILENET_QEMU_CPU=cortex-a7
#
# Cache variables read here:
#   MOBILENET_ARCH_FLAGS  ISA flags of the project's targets. Default
#                         "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard": unlike AArch64,
#                         ARMv7 has no NEON unless -mfpu says so (Debian's armhf default is
#                         vfpv3-d16, without NEON), and Eigen would silently fall back to scalar code.
#   MOBILENET_QEMU_CPU    CPU model qemu emulates (cortex-a7, cortex-a15, ...). Empty: qemu's
#                         default "max" (an ARMv8 core in AArch32 state).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)

set(MOBILENET_ARCH_FLAGS "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard" CACHE STRING
    "ISA flags for the project's own targets")

# add_test() and gtest_discover_tests() prefix every command that names an executable target
# with this, so ctest (and test discovery at build time) run the binaries under qemu. -L points
# the emulated dynamic loader at the target's libc and libstdc++.
# qemu-user with the target's library root; MOBILENET_QEMU without a CPU, for tests that pick one.
set(MOBILENET_QEMU /usr/bin/qemu-arm -L /usr/arm-linux-gnueabihf)
set(CMAKE_CROSSCOMPILING_EMULATOR ${MOBILENET_QEMU})
if(MOBILENET_QEMU_CPU)
  list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -cpu ${MOBILENET_QEMU_CPU})
endif()

# Libraries and headers come from the target's root only; programs (python3, sh) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Header-only host packages and -idirafter /usr/include: see aarch64-linux-gnu.cmake for why.
# -Wno-psabi silences GCC's note "parameter passing for argument of type ... changed in GCC 7.1",
# printed for every std::vector<variant> call on 32-bit ARM: it only matters when linking with
# code built by GCC 6 or older.
set(Eigen3_DIR /usr/share/eigen3/cmake CACHE PATH "Eigen3Config.cmake (host package, header-only)")
set(nlohmann_json_DIR /usr/share/cmake/nlohmann_json CACHE PATH "nlohmann_jsonConfig.cmake (host package, header-only)")
set(CMAKE_CXX_FLAGS_INIT "-idirafter /usr/include -Wno-psabi")
