# mobilenet::dispatch: one object per instruction-set path, best first, and the baseline API.
# Where it cannot be built (an architecture without known paths, no binutils), the top-level
# build stops; a parent project gets a warning and the header-only target alone.
macro(mobilenet_dispatch_unavailable why)
  if(PROJECT_IS_TOP_LEVEL)
    message(FATAL_ERROR "mobilenet::dispatch: ${why}; set MOBILENET_BUILD_DISPATCH=OFF (and the "
                        "tools and tests OFF) to use the header-only target alone")
  endif()
  message(WARNING "mobilenet::dispatch is not built: ${why}; mobilenet::mobilenet (header-only) is")
  set(MOBILENET_BUILD_DISPATCH OFF)
  return()
endmacro()

# MOBILENET_DISPATCH_PATHS trims the list (e.g. "avx2_fma;sse2"); its default is every path of
# the target architecture. The flags name exactly the features a path's name promises, so that
# core/isa.hpp derives that name from them (a path whose flags give another name fails to link);
# each starts from the architecture's baseline (-march=...), whatever CMAKE_CXX_FLAGS holds.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(_all_paths avx512 avx2_fma sse2)
  set(_path_flags_avx512 -march=x86-64 -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma)
  set(_path_flags_avx2_fma -march=x86-64 -mavx2 -mfma)
  set(_path_flags_sse2 -march=x86-64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(_all_paths neon_v82 neon)
  set(_path_flags_neon_v82 -march=armv8.2-a+fp16+dotprod)
  set(_path_flags_neon -march=armv8-a)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^arm")
  set(_all_paths neon)
  set(_path_flags_neon -mfpu=neon-vfpv4)
else()
  mobilenet_dispatch_unavailable("no instruction-set paths known for ${CMAKE_SYSTEM_PROCESSOR}")
endif()
set(MOBILENET_DISPATCH_PATHS "${_all_paths}" CACHE STRING
    "Instruction-set paths compiled into mobilenet::dispatch, best first")
# Sanitizers add module constructors (registering globals) to every object they instrument, so
# their builds, which run only on the machine that made them, turn this check off.
option(MOBILENET_DISPATCH_CHECK_INITIALIZERS
       "Fail the build if a path object has a static initializer" ON)

find_program(MOBILENET_READELF NAMES ${CMAKE_READELF} readelf)
foreach(tool CMAKE_NM CMAKE_OBJCOPY MOBILENET_READELF)
  if(NOT ${tool})
    mobilenet_dispatch_unavailable("it needs binutils' nm, objcopy and readelf (${tool} not found)")
  endif()
endforeach()

add_library(mobilenet_dispatch STATIC src/dispatch.cpp)
add_library(mobilenet::dispatch ALIAS mobilenet_dispatch)
set_target_properties(mobilenet_dispatch PROPERTIES EXPORT_NAME dispatch
                      POSITION_INDEPENDENT_CODE ON)
target_link_libraries(mobilenet_dispatch PUBLIC mobilenet::mobilenet)
target_compile_options(mobilenet_dispatch PRIVATE ${MOBILENET_WARNINGS})

# Multi-config generators build each configuration's objects apart: so are the isolated copies.
get_property(_multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
set(_config_dir "")
if(_multi_config)
  set(_config_dir "$<CONFIG>/")
endif()
foreach(path IN LISTS MOBILENET_DISPATCH_PATHS)
  if(NOT path IN_LIST _all_paths)
    message(FATAL_ERROR "MOBILENET_DISPATCH_PATHS: '${path}' is not a path of "
                        "${CMAKE_SYSTEM_PROCESSOR} (${_all_paths})")
  endif()
  add_library(mobilenet_path_${path} OBJECT src/path.cpp)
  target_link_libraries(mobilenet_path_${path} PRIVATE mobilenet::mobilenet)
  # Unoptimized, GCC initializes Eigen's constant placeholder objects (Eigen::all, last) at program
  # start, in code compiled for the path; -O2 makes them constants. Hence -O2 at least, whatever
  # the build type (the isolation step below refuses static initializers).
  target_compile_options(mobilenet_path_${path} PRIVATE ${_path_flags_${path}}
                         $<$<NOT:$<CONFIG:Release,RelWithDebInfo,MinSizeRel>>:-O2>
                         ${MOBILENET_WARNINGS})
  # Hidden visibility: a shared library that links the archive exports none of a path's symbols.
  # No LTO: objcopy renames symbols of machine code, not of the IR an LTO object carries.
  target_compile_options(mobilenet_path_${path} PRIVATE -fvisibility=hidden
                         -fvisibility-inlines-hidden -fno-lto)
  set_target_properties(mobilenet_path_${path} PROPERTIES POSITION_INDEPENDENT_CODE ON
                        INTERPROCEDURAL_OPTIMIZATION OFF)
  set(_isolated ${CMAKE_CURRENT_BINARY_DIR}/${_config_dir}mobilenet_path_${path}.o)
  add_custom_command(OUTPUT ${_isolated}
    BYPRODUCTS ${_isolated}.symbols
    COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DOBJCOPY=${CMAKE_OBJCOPY}
            -DREADELF=${MOBILENET_READELF} -DPATH_NAME=${path}
            -DCHECK_INITIALIZERS=${MOBILENET_DISPATCH_CHECK_INITIALIZERS}
            "-DINPUT=$<TARGET_OBJECTS:mobilenet_path_${path}>" -DOUTPUT=${_isolated}
            -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/isolate_path_object.cmake
    DEPENDS mobilenet_path_${path} $<TARGET_OBJECTS:mobilenet_path_${path}>
            ${CMAKE_CURRENT_SOURCE_DIR}/cmake/isolate_path_object.cmake
    COMMENT "Isolating the ${path} path's symbols" VERBATIM)
  target_sources(mobilenet_dispatch PRIVATE ${_isolated})
  string(TOUPPER ${path} _upper)
  target_compile_definitions(mobilenet_dispatch PRIVATE MOBILENET_BUILT_${_upper})
endforeach()
