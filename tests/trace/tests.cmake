# -printout tests (included from tests/CMakeLists.txt).
#
# trace/<name>: one test per row of tests/trace/cases.txt (name | reference
#   case | extra args; format in run_trace.sh): nanobragg's -printout lines
#   for that command line must equal expected/<name>.txt, which the original
#   nanoBragg printed for it (one thread).
# Scratch copies live under <build>/tests/trace-scratch and are removed when
# a test passes.
set(NB_TRACE_DIR ${CMAKE_CURRENT_LIST_DIR})
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${NB_TRACE_DIR}/cases.txt)
file(STRINGS ${NB_TRACE_DIR}/cases.txt nb_trace_rows REGEX "^[ \t]*[A-Za-z0-9_.-]+[ \t]*[|]")
foreach(row IN LISTS nb_trace_rows)
  string(REGEX REPLACE "^[ \t]*([A-Za-z0-9_.-]+)[ \t]*[|].*$" "\\1" name "${row}")
  add_test(NAME trace/${name}
           COMMAND sh ${NB_TRACE_DIR}/run_trace.sh row $<TARGET_FILE:nanobragg>
                   ${NB_TRACE_DIR}/cases.txt ${CMAKE_CURRENT_SOURCE_DIR}/reference/cases
                   ${NB_TRACE_DIR}/expected ${CMAKE_CURRENT_BINARY_DIR}/trace-scratch/${name} ${name})
  set_tests_properties(trace/${name} PROPERTIES LABELS "trace;cli" TIMEOUT 120)
endforeach()
