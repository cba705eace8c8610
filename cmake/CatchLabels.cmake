# Several labels on the tests catch_discover_tests finds.
#
# catch_discover_tests hands its PROPERTIES to the discovery script as one flat list, so a list
# value such as LABELS "client;sentry" arrives at set_tests_properties as two arguments and only
# "client" stays a label. psycache_catch_labels sets the labels from a CTest include file of its
# own, which CTest reads after catch_discover_tests' (include files run in the order they are
# added), on the tests catch_discover_tests listed in TEST_LIST.
#
#   catch_discover_tests(test_x TEST_LIST test_x_TESTS PROPERTIES TIMEOUT 300)
#   psycache_catch_labels(test_x_TESTS client sentry)
function(psycache_catch_labels test_list)
  set(labels ${ARGN})
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${test_list}_labels.cmake")
  file(WRITE "${include_file}"
    "if(DEFINED ${test_list})\n"
    "  set_tests_properties(\${${test_list}} PROPERTIES LABELS \"${labels}\")\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()
