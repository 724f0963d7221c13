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

# nb_add_cli_table(PREFIX PROGRAM CASES FIXTURES LABEL): register one test
# PREFIX/<name> per row of the table CASES, each running the target PROGRAM
# with a copy of the folder FIXTURES, and PREFIX/table for the table itself.
function(nb_add_cli_table prefix program cases fixtures label)
  set(scratch ${CMAKE_CURRENT_BINARY_DIR}/${prefix}-scratch)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${cases})
  file(STRINGS ${cases} lines)

  # Only the names are needed here (run_cli.sh reads its row itself).  Match
  # them in the joined text: a '[' in a row can make file(STRINGS) merge lines
  # into one list element, but not change the text.  (Anchored on the ';'
  # between lines, not '^', which MATCHALL re-applies after every match.)
  string(REGEX MATCHALL ";[ \t]*[A-Za-z0-9_.-]+[ \t]*[|]" heads ";${lines}")
  set(names "")
  foreach(head IN LISTS heads)
    string(REGEX REPLACE "^;?[ \t]*([A-Za-z0-9_.-]+)[ \t]*[|]$" "\\1" name "${head}")
    if(name STREQUAL "")
      continue()
    endif()
    if(name IN_LIST names)
      message(FATAL_ERROR "${cases}: duplicate test name '${name}'")
    endif()
    list(APPEND names ${name})
    add_test(NAME ${prefix}/${name}
             COMMAND sh ${NB_CLI_SCRIPT} row $<TARGET_FILE:${program}> ${cases}
                     ${fixtures} ${scratch}/${name} ${name})
    set_tests_properties(${prefix}/${name} PROPERTIES LABELS ${label} TIMEOUT 60
                         SKIP_RETURN_CODE 77)
  endforeach()

  list(LENGTH names count)
  add_test(NAME ${prefix}/table COMMAND sh ${NB_CLI_SCRIPT} check ${cases} ${count})
  set_tests_properties(${prefix}/table PROPERTIES LABELS ${label})
endfunction()

nb_add_cli_table(cli nanobragg ${CMAKE_CURRENT_LIST_DIR}/cases.txt
                 ${CMAKE_CURRENT_LIST_DIR}/fixtures cli)

# cli/interrupt: SIGINT while rendering cancels the render and writes nothing.
add_test(NAME cli/interrupt COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/interrupt.sh $<TARGET_FILE:nanobragg>)
set_tests_properties(cli/interrupt PROPERTIES LABELS cli TIMEOUT 120)

# cli-refine/<name>: the rows of tests/cli/refine_cases.txt, for nanobragg-refine.
nb_add_cli_table(cli-refine nanobragg-refine ${CMAKE_CURRENT_LIST_DIR}/refine_cases.txt
                 ${CMAKE_CURRENT_LIST_DIR}/fixtures cli)

# cli-refine/roundtrip-<mode>: nanobragg-refine recovers the parameters of
# images nanobragg simulated (tests/cli/refine_roundtrip.sh says what each
# checks); cli-refine/interrupt: SIGINT stops a refinement, writing nothing.
foreach(mode lsq poisson overload hkl interrupt)
  if(mode STREQUAL "interrupt")
    set(name cli-refine/interrupt)
  else()
    set(name cli-refine/roundtrip-${mode})
  endif()
  add_test(NAME ${name} COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/refine_roundtrip.sh ${mode}
                                $<TARGET_FILE:nanobragg> $<TARGET_FILE:nanobragg-refine>)
  set_tests_properties(${name} PROPERTIES LABELS cli TIMEOUT 120)
endforeach()

# cli/series-rotation, cli/series-stills: a -nimages series' images equal
# single-image runs bit for bit (tests/cli/series.sh).
foreach(mode rotation stills)
  add_test(NAME cli/series-${mode} COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/series.sh ${mode}
                                    $<TARGET_FILE:nanobragg> ${CMAKE_CURRENT_LIST_DIR}/fixtures)
  set_tests_properties(cli/series-${mode} PROPERTIES LABELS cli TIMEOUT 120)
endforeach()

# cli/device_cuda: -device cuda fails clearly without a GPU (or a CUDA
# build), and renders on one where there is (tests/cli/device.sh).
add_test(NAME cli/device_cuda COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/device.sh $<TARGET_FILE:nanobragg>
                                      ${CMAKE_CURRENT_BINARY_DIR}/cli-scratch/device_cuda)
set_tests_properties(cli/device_cuda PROPERTIES LABELS cli TIMEOUT 60)
