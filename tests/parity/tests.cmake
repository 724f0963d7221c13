# Reference-parity tests (included from tests/CMakeLists.txt).
#
# parity/<case>: one test per folder of tests/reference/cases: run nanobragg
#   with the case's command line in scratch copies, with 1 and with 2 OpenMP
#   threads; each run's outputs must match the expected ones with
#   nanobragg-compare (tolerances in reference/SOURCE-README.md), and the two
#   runs' float.bin (and noise.img) must be identical bit for bit.
# isa/<case>: the case at 1 thread with every instruction set of the row
#   kernel the processor runs (NB_ISA=baseline, avx2, avx512): each passes the
#   tolerances, and their float images are identical bit for bit.
# single/<case>: the same command line with -precision single must keep a
#   Pearson correlation of at least 0.99999 with the expected float image.
# device/<case>: the case on the CPU and twice with -device emulate (the GPU
#   kernel's code run on the CPU), in double and in single precision: the
#   tolerances as above, the two emulated runs identical, and each float
#   image identical bit for bit to the CPU's (scripts/gpu-check.sh runs the
#   same on a GPU).
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
    set_tests_properties(parity/${case} PROPERTIES LABELS "parity;determinism")
    add_test(NAME isa/${case}
             COMMAND sh ${NB_PARITY_SCRIPT} isa $<TARGET_FILE:nanobragg>
                     $<TARGET_FILE:nanobragg-compare> ${dir} ${NB_PARITY_SCRATCH}/isa-${case})
    set_tests_properties(isa/${case} PROPERTIES LABELS "isa;determinism")
    add_test(NAME single/${case}
             COMMAND sh ${NB_PARITY_SCRIPT} single $<TARGET_FILE:nanobragg>
                     $<TARGET_FILE:nanobragg-compare> ${dir} ${NB_PARITY_SCRATCH}/single-${case})
    set_tests_properties(single/${case} PROPERTIES LABELS single)
    add_test(NAME device/${case}
             COMMAND sh ${NB_PARITY_SCRIPT} device $<TARGET_FILE:nanobragg>
                     $<TARGET_FILE:nanobragg-compare> ${dir} ${NB_PARITY_SCRATCH}/device-${case} emulate)
    set_tests_properties(device/${case} PROPERTIES LABELS "device;determinism")
  endif()
endforeach()
