# Acceptance tests of nanoBragg's written spec (included from tests/CMakeLists.txt).
#
# spec/<AT-ID>: one test per acceptance test of specs/spec-a-*.md that the
#   command line can check, run by run_spec.py (one function per AT id, marked
#   @at("AT-...")); the ids are read from those lines at configure time.
#   docs/spec-conformance.md gives the status of every AT id, tested or not.
# Needs a Python with numpy (NB_SPEC_PYTHON, default /usr/bin/python3; Debian:
# python3-numpy); without one the tests are reported as skipped (exit 77).
# Scratch folders <build>/tests/spec-scratch/<AT-ID> are removed when a test passes.
set(NB_SPEC_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with numpy, for the spec tests")
set(NB_SPEC_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/run_spec.py)
set(NB_SPEC_SCRATCH ${CMAKE_CURRENT_BINARY_DIR}/spec-scratch)

set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${NB_SPEC_SCRIPT})
file(STRINGS ${NB_SPEC_SCRIPT} NB_SPEC_LINES REGEX "^@at\\(\"AT-[A-Z]+-[0-9]+\"\\)$")
if(NOT NB_SPEC_LINES)
  message(FATAL_ERROR "${NB_SPEC_SCRIPT}: no @at(\"AT-...\") tests found")
endif()
foreach(line IN LISTS NB_SPEC_LINES)
  string(REGEX REPLACE "^@at\\(\"(AT-[A-Z]+-[0-9]+)\"\\)$" "\\1" id "${line}")
  # Checked when the test runs, so installing Python needs no re-configure.
  add_test(NAME spec/${id}
           COMMAND sh -c "if [ -x \"$0\" ]; then exec \"$0\" \"$@\"; fi; echo \"SKIP: no $0\"; exit 77"
                   ${NB_SPEC_PYTHON} ${NB_SPEC_SCRIPT} $<TARGET_FILE:nanobragg> ${id}
                   ${NB_SPEC_SCRATCH}/${id})
  set_tests_properties(spec/${id} PROPERTIES LABELS spec TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()
