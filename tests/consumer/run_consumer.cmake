# Driver for the packaging.* tests: cmake -DMODE=... -DSOURCE=<mobilenet source> -DWORK=<dir>
#   -DPREFIX=<install prefix> -DCXX=<compiler> [-DGENERATOR=... -DMAKE_PROGRAM=... -DPKG_CONFIG=...]
#   -P run_consumer.cmake
#
#   install           configure SOURCE alone (tests, tools, benchmarks off), cmake --install to PREFIX
#   find_package      the consumer with find_package(mobilenet 0.1 CONFIG REQUIRED) against PREFIX
#   version_mismatch  find_package(mobilenet 0.2) and (1.0) against PREFIX must fail on the version
#   add_subdirectory  the consumer with add_subdirectory(SOURCE)
#   fetchcontent      the consumer with FetchContent from a file:// archive of SOURCE
#   pkg_config        main.cpp compiled by hand with `pkg-config --cflags --libs mobilenet`
#
# Each mode starts from an empty WORK directory and stops with a fatal error at the first problem.
cmake_minimum_required(VERSION 3.22)
foreach(var MODE SOURCE WORK PREFIX CXX)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()
set(CONSUMER ${CMAKE_CURRENT_LIST_DIR})

set(generator_args -DCMAKE_CXX_COMPILER=${CXX})
if(DISPATCH_PATHS)  # the dispatching library's paths in the builds of mobilenet itself
  set(dispatch_args -DMOBILENET_DISPATCH_PATHS=${DISPATCH_PATHS})
endif()
if(GENERATOR)
  list(APPEND generator_args -G ${GENERATOR})
endif()
if(MAKE_PROGRAM)
  list(APPEND generator_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()

function(run)  # run(COMMAND...): echoes the command, fails on a non-zero exit
  string(REPLACE ";" " " line "${ARGN}")
  message(STATUS "$ ${line}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${line}")
  endif()
endfunction()

# Configures, builds and runs the consumer project with the given cache settings.
function(consumer)
  set(build ${WORK}/build)
  run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${build} ${generator_args} ${dispatch_args} ${ARGN})
  run(${CMAKE_COMMAND} --build ${build})
  check_run(${build}/consumer)
  check_run(${build}/consumer_dispatch)
endfunction()

function(check_run exe)
  execute_process(COMMAND ${exe} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  if(NOT status EQUAL 0 OR NOT out MATCHES "mobilenet consumer: isa [a-z0-9_]+, logits \\[1, 1, 1, 10\\] \\(NHWC\\), finite yes")
    message(FATAL_ERROR "${exe} exited with ${status} or printed something else")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE ${PREFIX})
  run(${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/build ${generator_args} ${dispatch_args} -DCMAKE_BUILD_TYPE=Release
      -DMOBILENET_BUILD_TESTS=OFF -DMOBILENET_BUILD_EXAMPLES=OFF -DMOBILENET_BUILD_BENCHMARKS=OFF)
  run(${CMAKE_COMMAND} --build ${WORK}/build)
  run(${CMAKE_COMMAND} --install ${WORK}/build --prefix ${PREFIX})
  foreach(file include/mobilenet/mobilenet.hpp include/mobilenet/dispatch.hpp
      lib/cmake/mobilenet/mobilenetConfig.cmake lib/cmake/mobilenet/mobilenetConfigVersion.cmake
      lib/cmake/mobilenet/mobilenetTargets.cmake lib/pkgconfig/mobilenet.pc
      lib/pkgconfig/mobilenet-dispatch.pc lib/libmobilenet_dispatch.a)
    if(NOT EXISTS ${PREFIX}/${file})
      message(FATAL_ERROR "cmake --install did not write ${PREFIX}/${file}")
    endif()
  endforeach()
  if(EXISTS ${PREFIX}/bin)
    message(FATAL_ERROR "cmake --install with MOBILENET_BUILD_EXAMPLES=OFF installed ${PREFIX}/bin")
  endif()
  message(STATUS "installed to ${PREFIX}")

elseif(MODE STREQUAL "find_package")
  # Only the prefix, as a user would pass it; mobilenet_DIR must come from it.
  set(build ${WORK}/build)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER} -B ${build} ${generator_args}
                          -DMOBILENET_CONSUME=find_package -DCMAKE_PREFIX_PATH=${PREFIX}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "configuring the find_package consumer failed")
  endif()
  if(out MATCHES "consumer: mobilenet ([^ ]+) from ([^\n]+)")
    set(version ${CMAKE_MATCH_1})
    file(REAL_PATH ${CMAKE_MATCH_2} found)
  endif()
  file(REAL_PATH ${PREFIX}/lib/cmake/mobilenet expected)
  if(NOT version STREQUAL "0.1.0" OR NOT found STREQUAL expected)
    message(FATAL_ERROR "find_package did not take mobilenet 0.1.0 from ${PREFIX}")
  endif()
  run(${CMAKE_COMMAND} --build ${build})
  check_run(${build}/consumer)
  check_run(${build}/consumer_dispatch)

elseif(MODE STREQUAL "version_mismatch")
  foreach(version 0.2 1.0)
    execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/build-${version} ${generator_args}
                            -DMOBILENET_CONSUME=find_package -DCMAKE_PREFIX_PATH=${PREFIX}
                            -DMOBILENET_REQUIRED_VERSION=${version}
                    RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(status EQUAL 0 OR NOT out MATCHES "version: 0\\.1\\.0")
      message("${out}")
      message(FATAL_ERROR "find_package(mobilenet ${version}) accepted the installed 0.1.0")
    endif()
    message(STATUS "find_package(mobilenet ${version}) refuses 0.1.0, as it should")
  endforeach()

elseif(MODE STREQUAL "add_subdirectory")
  # No MOBILENET_BUILD_* settings: the defaults must keep tests, tools and benchmarks out.
  consumer(-DMOBILENET_CONSUME=add_subdirectory -DMOBILENET_SOURCE=${SOURCE})

elseif(MODE STREQUAL "fetchcontent")
  # The archive a release would be: the working tree's sources, without build directories.
  set(files)
  foreach(entry CMakeLists.txt cmake include src examples tests bench LICENSE README.md CHANGELOG.md)
    if(EXISTS ${SOURCE}/${entry})
      list(APPEND files ${entry})
    endif()
  endforeach()
  set(archive ${WORK}/mobilenet-src.tar.gz)
  execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf ${archive} -- ${files}
                  WORKING_DIRECTORY ${SOURCE} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "could not archive ${SOURCE}")
  endif()
  consumer(-DMOBILENET_CONSUME=fetchcontent -DMOBILENET_URL=file://${archive})

elseif(MODE STREQUAL "pkg_config")
  if(NOT PKG_CONFIG)
    message(FATAL_ERROR "-DPKG_CONFIG=<pkg-config executable> is required")
  endif()
  set(ENV{PKG_CONFIG_PATH} "${PREFIX}/lib/pkgconfig")
  execute_process(COMMAND ${PKG_CONFIG} --modversion mobilenet OUTPUT_VARIABLE version
                  OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE status)
  if(NOT status EQUAL 0 OR NOT version STREQUAL "0.1.0")
    message(FATAL_ERROR "pkg-config --modversion mobilenet gave '${version}' (status ${status})")
  endif()
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs mobilenet OUTPUT_VARIABLE flags
                  OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs mobilenet failed")
  endif()
  message(STATUS "pkg-config --cflags --libs mobilenet: ${flags}")
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${CXX} -std=c++17 ${CONSUMER}/main.cpp -o ${WORK}/consumer ${flags})
  check_run(${WORK}/consumer)
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs mobilenet-dispatch OUTPUT_VARIABLE flags
                  OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs mobilenet-dispatch failed")
  endif()
  message(STATUS "pkg-config --cflags --libs mobilenet-dispatch: ${flags}")
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${CXX} -std=c++17 ${CONSUMER}/main_dispatch.cpp -o ${WORK}/consumer_dispatch ${flags})
  check_run(${WORK}/consumer_dispatch)

else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
