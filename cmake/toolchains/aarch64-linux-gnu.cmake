# Cross build for 64-bit ARM Linux (AArch64) with Debian's g++-aarch64-linux-gnu; ctest runs the
# test binaries under qemu-user (Debian's qemu-user). tools/ci_arm.sh uses it like this:
#
#   cmake -S . -B build-arm-a76 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DMOBILENET_ARCH_FLAGS="-march=armv8.2-a+fp16+dotprod" -DMOBILENET_QEMU_CPU=cortex-a76
#
# Cache variables read here:
#   MOBILENET_ARCH_FLAGS  ISA flags of the project's targets. Default -march=armv8-a (ARMv8.0: NEON
#                         is part of the base ISA); the project's own default, -march=native, means
#                         nothing to a cross compiler.
#   MOBILENET_QEMU_CPU    CPU model qemu emulates (cortex-a53, cortex-a76, ...). Empty: qemu's
#                         default "max", which has every extension and so never catches an
#                         instruction that a phone lacks. (The QEMU_CPU environment variable works
#                         too, but a build directory configured with this one runs its tests on the
#                         same CPU model whoever calls ctest.)

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

set(MOBILENET_ARCH_FLAGS "-march=armv8-a" CACHE STRING "ISA flags for the project's own targets")

# add_test() and gtest_discover_tests() prefix every command that names an executable target
# with this, so ctest (and test discovery at build time) run the binaries under qemu. -L points
# the emulated dynamic loader at the target's libc and libstdc++.
# qemu-user with the target's library root; MOBILENET_QEMU without a CPU, for tests that pick one.
set(MOBILENET_QEMU /usr/bin/qemu-aarch64 -L /usr/aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR ${MOBILENET_QEMU})
if(MOBILENET_QEMU_CPU)
  list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -cpu ${MOBILENET_QEMU_CPU})
endif()

# Libraries and headers come from the target's root only; programs (python3, sh) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Eigen, nlohmann_json and stb are header-only and architecture-independent, so the host's
# packages serve the target too. Their CMake configs live outside the target root, where
# find_package would not look: name them explicitly.
set(Eigen3_DIR /usr/share/eigen3/cmake CACHE PATH "Eigen3Config.cmake (host package, header-only)")
set(nlohmann_json_DIR /usr/share/cmake/nlohmann_json CACHE PATH "nlohmann_jsonConfig.cmake (host package, header-only)")
# nlohmann_json's config exports /usr/include as its include directory (stb's headers are there
# too). Given as -isystem, /usr/include would come before the target's own C library headers.
# -idirafter searches it last instead, after the cross compiler's own directories, so only headers
# the target root lacks (nlohmann/, stb/) come from it; and since CMake detects the compiler's
# search path with these flags, it then counts /usr/include as implicit and adds no -isystem.
set(CMAKE_CXX_FLAGS_INIT "-idirafter /usr/include")
