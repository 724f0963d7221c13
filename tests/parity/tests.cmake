# Reference-parity tests (included from tests/CMakeLists.txt).
#
# parity/<case>: one test per folder of tests/reference/cases: run nanobragg
#   with the case's command line in a scratch copy and compare each expected
#   output with nanobragg-compare (tolerances in reference/SOURCE-README.md).
# parity/threads: a fixed subset of cases run with 1 and 2 OpenMP threads
#   must write byte-identical float.bin (and noise.img).
# Scratch copies live under <build>/tests/parity-scratch and are removed when
# a test passes.
set(NB_PARITY_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/run_case.sh)
set(NB_PARITY_CASES ${CMAKE_CURRENT_SOURCE_DIR}/reference/cases)
set(NB_PARITY_SCRATCH ${CMAKE_CURRENT_BINARY_DIR}/parity-scratch)

file(GLOB NB_PARITY_CASE_DIRS LIST_DIRECTORIES true CONFIGURE_DEPENDS ${NB_PARITY_CASES}/*)
foreach(dir ${NB_PARITY_CASE_DIRS})
  if(IS_DIRECTORY ${dir} AND EXISTS ${dir}/args)
    get_filename_component(case ${dir} NAME)
    add_test(NAME parity/${case}
             COMMAND sh ${NB_PARITY_SCRIPT} case $<TARGET_FILE:nanobragg>
                     $<TARGET_FILE:nanobragg-compare> ${dir} ${NB_PARITY_SCRATCH}/${case})
    set_tests_properties(parity/${case} PROPERTIES LABELS parity)
  endif()
endforeach()

set(NB_THREAD_CASES mosaic integrated interpolate interp_auto_N1 div_disp_many
    oversample_flags water noise_seed)
set(NB_THREAD_CASE_DIRS "")
foreach(case ${NB_THREAD_CASES})
  list(APPEND NB_THREAD_CASE_DIRS ${NB_PARITY_CASES}/${case})
endforeach()
add_test(NAME parity/threads
         COMMAND sh ${NB_PARITY_SCRIPT} threads $<TARGET_FILE:nanobragg>
                 $<TARGET_FILE:nanobragg-compare> ${NB_PARITY_SCRATCH}/threads
                 ${NB_THREAD_CASE_DIRS})
set_tests_properties(parity/threads PROPERTIES LABELS "parity;determinism")
