# Tests of the library as a library (included from tests/CMakeLists.txt).
#
# library/no-print-no-exit, library/no-print-no-exit-shared: the library never
#   prints and never exits (check_symbols.sh), static and shared.
# library/install: cmake --install into a scratch prefix, then the examples
#   built against it with pkg-config (shared and static) and with
#   find_package, and run; the shared library exports only nb_ names
#   (check_install.sh).  Skipped (77) without pkg-config or nm.
# library/without-cmocka: the project configures with cmocka hidden, leaving
#   out the cmocka tests only, and builds the program (check_without_cmocka.sh).
# library/no-hdf5-mpi-linked: neither nanobragg nor libnanobragg.so links
#   HDF5 or MPI, which are loadable modules (readelf -d; skipped without it).
# library/modules-missing: nanobragg without its modules beside it refuses
#   -nexusfile and a launcher's start, naming the module (check_modules.sh).
# Scratch folders <build>/tests/install-scratch, without-cmocka-scratch,
# modules-scratch are removed when the tests pass.
add_test(NAME library/no-print-no-exit
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_symbols.sh $<TARGET_FILE:nanobragg_lib>)
# A CUDA build's shared library holds the CUDA runtime, which reads the clock.
set(NB_RUNTIME_ALLOWED "")
if(NB_HAVE_CUDA)
  set(NB_RUNTIME_ALLOWED "clock_gettime|gettimeofday|time")
endif()
add_test(NAME library/no-print-no-exit-shared
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_symbols.sh $<TARGET_FILE:nanobragg_shared> "${NB_RUNTIME_ALLOWED}")
set_tests_properties(library/no-print-no-exit library/no-print-no-exit-shared
                     PROPERTIES LABELS unit SKIP_RETURN_CODE 77)

# The examples link an instrumented library only when instrumented themselves.
set(NB_EXAMPLE_FLAGS "")
if(NB_SANITIZE)
  set(NB_EXAMPLE_FLAGS "-fsanitize=address,undefined")
endif()
add_test(NAME library/install
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_install.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR}
                 ${CMAKE_C_COMPILER} ${CMAKE_GENERATOR} ${CMAKE_CURRENT_BINARY_DIR}/install-scratch
                 "${NB_EXAMPLE_FLAGS}")
set_tests_properties(library/install PROPERTIES LABELS package SKIP_RETURN_CODE 77 TIMEOUT 120)

add_test(NAME library/without-cmocka
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_without_cmocka.sh ${CMAKE_SOURCE_DIR}
                 ${CMAKE_C_COMPILER} ${CMAKE_GENERATOR} ${CMAKE_CURRENT_BINARY_DIR}/without-cmocka-scratch)
set_tests_properties(library/without-cmocka PROPERTIES LABELS package TIMEOUT 300)

find_program(NB_READELF NAMES readelf ${CMAKE_READELF})
if(NOT NB_READELF)
  set(NB_READELF readelf)
endif()
add_test(NAME library/no-hdf5-mpi-linked
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_modules.sh needed ${NB_READELF}
                 $<TARGET_FILE:nanobragg> $<TARGET_FILE:nanobragg_shared>)
set(NB_HAVE_HDF5_01 0)
set(NB_HAVE_MPI_01 0)
if(NB_HAVE_HDF5)
  set(NB_HAVE_HDF5_01 1)
endif()
if(NB_HAVE_MPI)
  set(NB_HAVE_MPI_01 1)
endif()
add_test(NAME library/modules-missing
         COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_modules.sh missing $<TARGET_FILE:nanobragg>
                 ${CMAKE_SOURCE_DIR}/tests/cli/fixtures ${CMAKE_CURRENT_BINARY_DIR}/modules-scratch
                 ${NB_HAVE_HDF5_01} ${NB_HAVE_MPI_01})
set_tests_properties(library/no-hdf5-mpi-linked library/modules-missing PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
