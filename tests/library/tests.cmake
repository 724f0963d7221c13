# library/no-print-no-exit, library/no-print-no-exit-shared: the library never
# prints and never exits (check_symbols.sh), static and shared.
add_test(NAME library/no-print-no-exit
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_symbols.sh $<TARGET_FILE:nanobragg_lib>)
add_test(NAME library/no-print-no-exit-shared
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_symbols.sh $<TARGET_FILE:nanobragg_shared>)
set_tests_properties(library/no-print-no-exit library/no-print-no-exit-shared
                     PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
