# psycache_add_readme_examples(<readme> <prefix> <link-targets>...)
#
# Makes every C++ example of a Markdown file a test, so the documentation
# cannot rot. A fenced block whose info string is
#
#   ```cpp                 a complete program: compiled, and run by ctest
#   ```cpp compile-only    a complete program: compiled only
#   ```cpp ignore          not touched (a fragment, say)
#
# becomes <prefix>_<n>.cpp in the build tree (n counts the cpp blocks from 1),
# with a #line directive, so compiler errors point into the Markdown file. A
# program passes when it exits with status 0. The tests run with PSYCACHE_DSN
# set to $PSYCACHE_TEST_DSN, so an example reads its DSN from PSYCACHE_DSN.
# Fences must start at the beginning of a line. The file is re-read whenever it
# changes (CMake re-runs itself).
function(psycache_add_readme_examples readme prefix)
  if(NOT EXISTS "${readme}")
    return()
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${readme}")
  file(READ "${readme}" text)
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/${prefix}")
  file(MAKE_DIRECTORY "${out_dir}")

  # Only string(FIND/SUBSTRING) on the text: list operations would split it at
  # the semicolons of the C++ code.
  set(count 0)
  set(line 1)
  string(LENGTH "${text}" remaining)
  while(remaining GREATER 0)
    string(FIND "${text}" "```" fence)
    if(fence EQUAL -1)
      break()
    endif()
    # Only a fence at the start of a line counts.
    set(at_line_start FALSE)
    if(fence EQUAL 0)
      set(at_line_start TRUE)
    else()
      math(EXPR before "${fence} - 1")
      string(SUBSTRING "${text}" ${before} 1 previous)
      if(previous STREQUAL "\n")
        set(at_line_start TRUE)
      endif()
    endif()
    string(SUBSTRING "${text}" 0 ${fence} skipped)
    _psycache_count_lines("${skipped}" skipped_lines)
    math(EXPR line "${line} + ${skipped_lines}")
    math(EXPR after_fence "${fence} + 3")
    string(SUBSTRING "${text}" ${after_fence} -1 text)
    if(NOT at_line_start)
      continue()
    endif()

    # The info string, up to the end of the fence line.
    string(FIND "${text}" "\n" eol)
    if(eol EQUAL -1)
      break()
    endif()
    string(SUBSTRING "${text}" 0 ${eol} info)
    string(STRIP "${info}" info)
    math(EXPR body_start "${eol} + 1")
    string(SUBSTRING "${text}" ${body_start} -1 text)
    math(EXPR line "${line} + 1")
    set(body_line ${line})

    # The body, up to the closing fence at the start of a line.
    string(FIND "${text}" "\n```" close)
    if(close EQUAL -1)
      string(FIND "${text}" "```" close)
      if(NOT close EQUAL 0)
        message(FATAL_ERROR "${readme}:${body_line}: a fenced block is not closed")
      endif()
      set(body "")
      set(close_end 3)
    else()
      math(EXPR body_length "${close} + 1")
      string(SUBSTRING "${text}" 0 ${body_length} body)
      math(EXPR close_end "${close} + 4")
    endif()
    _psycache_count_lines("${body}" body_lines)
    math(EXPR line "${line} + ${body_lines}")
    string(SUBSTRING "${text}" ${close_end} -1 text)
    # The rest of the closing fence line.
    string(FIND "${text}" "\n" eol)
    if(eol EQUAL -1)
      set(text "")
    else()
      math(EXPR eol "${eol} + 1")
      string(SUBSTRING "${text}" ${eol} -1 text)
      math(EXPR line "${line} + 1")
    endif()
    string(LENGTH "${text}" remaining)

    if(NOT info MATCHES "^cpp( |$)")
      continue()
    endif()
    if(info MATCHES "^cpp +ignore( |$)")
      continue()
    endif()
    math(EXPR count "${count} + 1")
    set(name "${prefix}_${count}")
    set(source "${out_dir}/${name}.cpp")
    set(content "#line ${body_line} \"${readme}\"\n${body}")
    if(EXISTS "${source}")
      file(READ "${source}" old)
    else()
      set(old "")
    endif()
    if(NOT old STREQUAL content)
      file(WRITE "${source}" "${content}")
    endif()
    add_executable(${name} "${source}")
    target_link_libraries(${name} PRIVATE ${ARGN})
    # Not optimized, as the suites: what they run is the library's code.
    target_compile_options(${name} PRIVATE ${PSYCACHE_WARNING_FLAGS} -O0)
    if(NOT info MATCHES "^cpp +compile-only( |$)")
      add_test(NAME ${name}
        COMMAND sh -c "PSYCACHE_DSN=\"\${PSYCACHE_TEST_DSN:?PSYCACHE_TEST_DSN must be set}\" exec \"$0\""
                $<TARGET_FILE:${name}>)
      set_tests_properties(${name} PROPERTIES
        LABELS "readme;database" RESOURCE_LOCK psycache_database TIMEOUT 120)
    endif()
  endwhile()
endfunction()

function(_psycache_count_lines text out)
  string(REGEX MATCHALL "\n" newlines "${text}")
  list(LENGTH newlines n)
  set(${out} ${n} PARENT_SCOPE)
endfunction()
