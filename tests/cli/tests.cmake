# Command-line tests (included from tests/CMakeLists.txt).
#
# cli/<name>: one test per row of tests/cli/cases.txt
#   (name | exit [+FILE...] | fragment | args...; format in run_cli.sh), run by
#   run_cli.sh in a fresh scratch copy of tests/cli/fixtures.
# cli/table: the table is well formed, its names unique, and every row was
#   registered here.
# The table is read at configure time; editing it re-runs cmake.  Scratch
# copies live under <build>/tests/cli-scratch and are removed when a test passes.
# Exit 77 marks a row skipped (a read-only directory, when run as root).
set(NB_CLI_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/run_cli.sh)
set(NB_CLI_CASES ${CMAKE_CURRENT_LIST_DIR}/cases.txt)
set(NB_CLI_FIXTURES ${CMAKE_CURRENT_LIST_DIR}/fixtures)
set(NB_CLI_SCRATCH ${CMAKE_CURRENT_BINARY_DIR}/cli-scratch)

set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${NB_CLI_CASES})
file(STRINGS ${NB_CLI_CASES} NB_CLI_LINES)

# Only the names are needed here (run_cli.sh reads its row itself).  Match
# them in the joined text: a '[' in a row can make file(STRINGS) merge lines
# into one list element, but not change the text.  (Anchored on the ';'
# between lines, not '^', which MATCHALL re-applies after every match.)
string(REGEX MATCHALL ";[ \t]*[A-Za-z0-9_.-]+[ \t]*[|]" NB_CLI_HEADS ";${NB_CLI_LINES}")
set(NB_CLI_NAMES "")
foreach(head IN LISTS NB_CLI_HEADS)
  string(REGEX REPLACE "^;?[ \t]*([A-Za-z0-9_.-]+)[ \t]*[|]$" "\\1" name "${head}")
  if(name STREQUAL "")
    continue()
  endif()
  if(name IN_LIST NB_CLI_NAMES)
    message(FATAL_ERROR "${NB_CLI_CASES}: duplicate test name '${name}'")
  endif()
  list(APPEND NB_CLI_NAMES ${name})
  add_test(NAME cli/${name}
           COMMAND sh ${NB_CLI_SCRIPT} row $<TARGET_FILE:nanobragg> ${NB_CLI_CASES}
                   ${NB_CLI_FIXTURES} ${NB_CLI_SCRATCH}/${name} ${name})
  set_tests_properties(cli/${name} PROPERTIES LABELS cli TIMEOUT 60 SKIP_RETURN_CODE 77)
endforeach()

list(LENGTH NB_CLI_NAMES NB_CLI_COUNT)
add_test(NAME cli/table COMMAND sh ${NB_CLI_SCRIPT} check ${NB_CLI_CASES} ${NB_CLI_COUNT})
set_tests_properties(cli/table PROPERTIES LABELS cli)
