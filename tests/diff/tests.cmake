# Randomized differential test against the original nanoBragg (included from
# tests/CMakeLists.txt).
#
# diff/random: tests/diff/difftest.py generates NB_DIFF_COUNT random command
#   lines (seed NB_DIFF_SEED), runs the reference program and nanobragg on each
#   and compares every output (docs/difftest.md).  The reference program is not
#   part of the project, so the test is registered only when the CMake variable
#   NB_REF_BIN, or else the environment variable NB_REF_BIN at configure time,
#   names an existing file.  Failed cases stay under <build>/tests/diff-scratch.
if(NOT NB_REF_BIN AND DEFINED ENV{NB_REF_BIN})
  set(NB_REF_BIN "$ENV{NB_REF_BIN}")
endif()

if(NB_REF_BIN AND EXISTS "${NB_REF_BIN}" AND NOT IS_DIRECTORY "${NB_REF_BIN}")
  set(NB_DIFF_PYTHON /usr/bin/python3 CACHE FILEPATH "Python 3 that runs tests/diff/difftest.py")
  set(NB_DIFF_COUNT 100 CACHE STRING "Command lines of the diff/random test")
  set(NB_DIFF_SEED 1 CACHE STRING "Generator seed of the diff/random test")
  add_test(NAME diff/random
           COMMAND ${NB_DIFF_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/difftest.py
                   --ref ${NB_REF_BIN}
                   --ours $<TARGET_FILE:nanobragg>
                   --compare $<TARGET_FILE:nanobragg-compare>
                   --count ${NB_DIFF_COUNT} --seed ${NB_DIFF_SEED}
                   --keep ${CMAKE_CURRENT_BINARY_DIR}/diff-scratch)
  set_tests_properties(diff/random PROPERTIES LABELS diff TIMEOUT 1800)
endif()
