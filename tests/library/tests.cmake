# Tests of the library as a library (included from tests/CMakeLists.txt).
#
# library/no-print-no-exit, library/no-print-no-exit-shared: the library never
#   prints and never exits (check_symbols.sh), static and shared.
# library/without-cmocka: the project configures with cmocka hidden, leaving
#   out the cmocka tests only, and builds the program (check_without_cmocka.sh).
# The scratch folder <build>/tests/without-cmocka-scratch is removed when the
# test passes.
add_test(NAME library/no-print-no-exit
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_symbols.sh $<TARGET_FILE:nanobragg_lib>)
add_test(NAME library/no-print-no-exit-shared
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_symbols.sh $<TARGET_FILE:nanobragg_shared>)
set_tests_properties(library/no-print-no-exit library/no-print-no-exit-shared
                     PROPERTIES LABELS unit SKIP_RETURN_CODE 77)

add_test(NAME library/without-cmocka
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_without_cmocka.sh ${CMAKE_SOURCE_DIR}
                 ${CMAKE_C_COMPILER} ${CMAKE_GENERATOR} ${CMAKE_CURRENT_BINARY_DIR}/without-cmocka-scratch)
set_tests_properties(library/without-cmocka PROPERTIES LABELS package TIMEOUT 300)
