# Tests of the tools beside nanobragg (included from tests/CMakeLists.txt),
# label tools.
#
# tools/hkl-random: nanobragg-hkl-random's tables (test_hkl_random.c): F000,
#   Friedel mates, one atom in a triclinic cell, Wilson statistics, seeds.
# tools/png: nanobragg-png's previews read back with libpng (test_png.c);
#   only when nanobragg-png is built (libpng found).
# hkl-random/<name>, png/<name>: command-line rows of hkl_cases.txt and
#   png_cases.txt, run by tests/cli/run_cli.sh (format there) with a copy of
#   tests/tools/fixtures (tiny.bin: 4 x 3 float32; tiny.img: 8 x 8 SMV;
#   truncated.img: its header and 600 of 640 bytes).
# The cmocka tests (tools/hkl_random, tools/png) need cmocka (NB_HAVE_CMOCKA).
set(NB_TOOLS_FIXTURES ${CMAKE_CURRENT_LIST_DIR}/fixtures)

# nb_add_tool_test(NAME SOURCE TOOL): a cmocka test of the program TOOL.
function(nb_add_tool_test name source tool)
  add_executable(test_${name} ${CMAKE_CURRENT_LIST_DIR}/${source})
  target_include_directories(test_${name} PRIVATE ${CMOCKA_INCLUDE_DIR})
  target_compile_options(test_${name} PRIVATE -Wall -Wextra -Werror)
  target_compile_definitions(test_${name} PRIVATE _DEFAULT_SOURCE
                             NB_TEST_DATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}"
                             NB_TOOL="$<TARGET_FILE:${tool}>")
  target_link_libraries(test_${name} PRIVATE ${CMOCKA_LIBRARY} m)
  add_dependencies(test_${name} ${tool})
  add_test(NAME tools/${name} COMMAND test_${name})
  set_tests_properties(tools/${name} PROPERTIES LABELS tools TIMEOUT 120)
endfunction()

if(NB_HAVE_CMOCKA)
  nb_add_tool_test(hkl_random test_hkl_random.c nanobragg-hkl-random)
endif()
nb_add_cli_table(hkl-random nanobragg-hkl-random ${CMAKE_CURRENT_LIST_DIR}/hkl_cases.txt
                 ${NB_TOOLS_FIXTURES} tools)

if(TARGET nanobragg-png)
  if(NB_HAVE_CMOCKA)
    nb_add_tool_test(png test_png.c nanobragg-png)
    target_link_libraries(test_png PRIVATE PNG::PNG)
  endif()
  nb_add_cli_table(png nanobragg-png ${CMAKE_CURRENT_LIST_DIR}/png_cases.txt
                   ${NB_TOOLS_FIXTURES} tools)
endif()
