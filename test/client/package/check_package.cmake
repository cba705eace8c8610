# Installs the build tree into a scratch prefix, then builds a consumer with
# find_package(psycache) and another with pkg-config, and runs both.
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DCONSUMER_DIR=... -DCXX=... -DGENERATOR=...
#         [-DSANITIZE=ON] [-DINSTALLED=ON -DVERSION=x.y.z] [-DSENTRY_DIR=...] -P check_package.cmake
# With INSTALLED, nothing is installed: both consumers use what the system has (the
# libpsycache-dev package), found where CMake and pkg-config look by default.
set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}\n${out}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

set(expected "CREATE EXTENSION IF NOT EXISTS psycache SCHEMA \"app_cache\";")
set(sanitize_flags "")
if(SANITIZE)
  set(sanitize_flags "-fsanitize=address,undefined")
endif()

if(INSTALLED)
  set(prefix_args "")
else()
  run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
  set(prefix_args "-DCMAKE_PREFIX_PATH=${prefix}")
endif()

# CMake: find_package(psycache CONFIG).
run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/cmake-build" -G "${GENERATOR}"
    ${prefix_args} "-DCMAKE_CXX_COMPILER=${CXX}"
    "-DCMAKE_CXX_FLAGS=${sanitize_flags}" "-DCMAKE_EXE_LINKER_FLAGS=${sanitize_flags}")
if(INSTALLED)
  # The system's package, not a stray build tree or prefix.
  file(STRINGS "${WORK_DIR}/cmake-build/CMakeCache.txt" found REGEX "^psycache_DIR:")
  if(NOT found MATCHES "=/usr/lib/")
    message(FATAL_ERROR "the CMake consumer found psycache elsewhere: ${found}")
  endif()
endif()
run(${CMAKE_COMMAND} --build "${WORK_DIR}/cmake-build")
run("${WORK_DIR}/cmake-build/consumer")
string(STRIP "${last_output}" output)
string(REGEX REPLACE "\n.*" "" output "${output}")  # the statement's first line
if(NOT output STREQUAL expected)
  message(FATAL_ERROR "the CMake consumer printed: ${output}")
endif()

# pkg-config: the flags psycache.pc gives.
if(INSTALLED)
  set(ENV{PKG_CONFIG_PATH} "")
  run(pkg-config --modversion psycache)
  string(STRIP "${last_output}" found_version)
  if(NOT found_version STREQUAL VERSION)
    message(FATAL_ERROR "pkg-config found psycache ${found_version}, not ${VERSION}")
  endif()
else()
  file(GLOB pc_files "${prefix}/*/pkgconfig/psycache.pc" "${prefix}/*/*/pkgconfig/psycache.pc")
  list(GET pc_files 0 pc_file)
  get_filename_component(pc_dir "${pc_file}" DIRECTORY)
  set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
endif()
run(pkg-config --cflags --libs psycache)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
if(NOT INSTALLED)
  # The shared library of the scratch prefix is not where the dynamic linker looks.
  run(pkg-config --variable=libdir psycache)
  string(STRIP "${last_output}" libdir)
  list(APPEND flags "-Wl,-rpath,${libdir}")
endif()
run("${CXX}" -std=c++20 ${sanitize_flags} "${CONSUMER_DIR}/consumer.cpp" -o "${WORK_DIR}/pc-consumer"
    ${flags})
run("${WORK_DIR}/pc-consumer")
string(STRIP "${last_output}" output)
string(REGEX REPLACE "\n.*" "" output "${output}")  # the statement's first line
if(NOT output STREQUAL expected)
  message(FATAL_ERROR "the pkg-config consumer printed: ${output}")
endif()
# The component sentry, where the build has it: find_package(psycache COMPONENTS sentry).
if(SENTRY_DIR)
  run(${CMAKE_COMMAND} -S "${CONSUMER_DIR}/sentry" -B "${WORK_DIR}/sentry-build" -G "${GENERATOR}"
      ${prefix_args} "-Dsentry_DIR=${SENTRY_DIR}" "-DCMAKE_CXX_COMPILER=${CXX}"
      "-DCMAKE_CXX_FLAGS=${sanitize_flags}" "-DCMAKE_EXE_LINKER_FLAGS=${sanitize_flags}")
  run(${CMAKE_COMMAND} --build "${WORK_DIR}/sentry-build")
  run("${WORK_DIR}/sentry-build/sentry_consumer")
  string(STRIP "${last_output}" output)
  if(NOT output STREQUAL "psycache::sentry works")
    message(FATAL_ERROR "the psycache::sentry consumer printed: ${output}")
  endif()
  message(STATUS "psycache's component sentry works")
else()
  message(STATUS "psycache was built without sentry-native: the component sentry is not checked")
endif()
message(STATUS "psycache's CMake package and pkg-config file work")
