# library/no-print-no-exit: the library never prints and never exits.
add_test(NAME library/no-print-no-exit
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_symbols.sh $<TARGET_FILE:nanobragg_lib>)
set_tests_properties(library/no-print-no-exit PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
