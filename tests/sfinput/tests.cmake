# Structure factors from crystallographic files (included from
# tests/CMakeLists.txt).
#
# sfinput/expansion: MTZ and mmCIF files of an asymmetric unit (written by
#   the test with gemmi from random-atom models: P 21 21 21, C 1 2 1 with an
#   anomalous pair, P 65 with intensities) simulate the same image, bit for
#   bit, as P1 lists the test expands by hand; errors and warnings of those
#   inputs; a model with and without -bulk_solvent (check_sfinput.py).  Needs a Python (NB_SFINPUT_PYTHON, default
#   /usr/bin/python3) with gemmi and numpy (Debian: python3-gemmi) and a
#   program built with gemmi; otherwise reported as skipped (exit 77).
set(NB_SFINPUT_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Python that can import gemmi (Debian: python3-gemmi), for the structure-factor input tests")

add_test(NAME sfinput/expansion
         COMMAND sh -c "if [ -x \"$0\" ]; then exec \"$0\" \"$@\"; fi; echo \"SKIP: no $0\"; exit 77"
                 ${NB_SFINPUT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/check_sfinput.py
                 $<TARGET_FILE:nanobragg> ${CMAKE_CURRENT_BINARY_DIR}/sfinput-scratch/expansion)
set_tests_properties(sfinput/expansion PROPERTIES LABELS sfinput SKIP_RETURN_CODE 77 TIMEOUT 120)
