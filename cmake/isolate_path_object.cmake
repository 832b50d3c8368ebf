# Rewrites one compiled path's object file (src/path.cpp built with the path's ISA flags) so that
# nothing it defines can be merged with another unit's code by the linker:
#
#   every symbol with vague linkage (weak or unique: inline functions, template instantiations,
#   vtables, type information, static data of inline functions) and every COMDAT group signature
#   gets the suffix ".<path>", e.g. _ZN5Eigen8internal5pmaddIDv4_fEET_RKS3_S5_S5_.avx2_fma.
#
# Without it, an inline function that both the sse2 and the avx512 unit emit (an Eigen helper, a
# std::vector member, our io code) is one COMDAT group to the linker, which keeps whichever copy
# it sees first, so the sse2 path could call code compiled for AVX-512 (ruy's path.h describes
# the trap). With it, each path calls only its own copies. Then it checks the two things the
# design relies on and fails the build otherwise:
#   - the only global symbol the object still exports is its PathEntry, path_<path>;
#   - it has no static initializer (.init_array, .ctors), which would run path code at program
#     start on every CPU (-DCHECK_INITIALIZERS=OFF skips this for sanitizer builds, whose
#     instrumentation adds module constructors).
#
# cmake -DNM=... -DOBJCOPY=... -DREADELF=... -DPATH_NAME=avx512 -DINPUT=in.o -DOUTPUT=out.o
#       [-DCHECK_INITIALIZERS=OFF] -P isolate_path_object.cmake

foreach(var NM OBJCOPY READELF PATH_NAME INPUT OUTPUT)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "isolate_path_object.cmake: ${var} is not set")
  endif()
endforeach()

function(run out)
  execute_process(COMMAND ${ARGN} OUTPUT_VARIABLE text ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${ARGN} failed (${rc}): ${err}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# Defined symbols, POSIX format: "name type [value size]" per line.
run(symbols ${NM} --defined-only -P ${INPUT})
string(REPLACE "\n" ";" symbol_lines "${symbols}")
set(rename "")
set(exported "")
foreach(line IN LISTS symbol_lines)
  if(line MATCHES "^([^ ]+) ([A-Za-z])( |$)")
    set(name "${CMAKE_MATCH_1}")
    set(type "${CMAKE_MATCH_2}")
    if(type MATCHES "^[WVu]$")  # weak (functions W, objects V) and GNU unique
      list(APPEND rename "${name}")
    elseif(type MATCHES "^([A-Z]|i)$")  # global, strong; i: an ifunc, global too
      list(APPEND exported "${name}")
    endif()
  endif()
endforeach()

# COMDAT group signatures: "COMDAT group section [    1] `.group' [signature] contains ..."
run(groups ${READELF} -gW ${INPUT})
string(REGEX MATCHALL "COMDAT group section \\[ *[0-9]+\\] `[^']*' \\[[^]]+\\]" group_lines "${groups}")
foreach(line IN LISTS group_lines)
  string(REGEX REPLACE ".* \\[([^]]+)\\]$" "\\1" signature "${line}")
  list(APPEND rename "${signature}")
endforeach()
list(REMOVE_DUPLICATES rename)

set(expected_export "_ZN9mobilenet8dispatch6detail")
string(LENGTH "path_${PATH_NAME}" entry_length)
set(expected_export "${expected_export}${entry_length}path_${PATH_NAME}E")
if(NOT exported STREQUAL expected_export)
  message(FATAL_ERROR "${INPUT}: a path unit must export only ${expected_export} "
                      "(mobilenet::dispatch::detail::path_${PATH_NAME}); it exports: ${exported}")
endif()

run(sections ${READELF} -SW ${INPUT})
if(sections MATCHES "\\.gnu\\.lto_")
  message(FATAL_ERROR "${INPUT}: an LTO object (its symbols live in the IR, which objcopy cannot "
                      "rename): compile the path units without -flto")
endif()
if(NOT DEFINED CHECK_INITIALIZERS)
  set(CHECK_INITIALIZERS ON)
endif()
if(CHECK_INITIALIZERS AND sections MATCHES "\\.(init_array|preinit_array|ctors)")
  message(FATAL_ERROR "${INPUT}: the ${PATH_NAME} path has a static initializer (.init_array or "
                      ".ctors): it would run code compiled for ${PATH_NAME} at program start on "
                      "every CPU. Make the global constant-initialized or a function-local static.")
endif()

set(map "")
foreach(name IN LISTS rename)
  string(APPEND map "${name} ${name}.${PATH_NAME}\n")
endforeach()
file(WRITE "${OUTPUT}.symbols" "${map}")
run(ignored ${OBJCOPY} --redefine-syms=${OUTPUT}.symbols ${INPUT} ${OUTPUT})
list(LENGTH rename count)
message(STATUS "${PATH_NAME} path: ${count} shared symbols renamed with suffix .${PATH_NAME}")
