# mpi/<mode>: nanobragg under mpirun writes the files of a one-process run
# (tests/mpi/run_mpi.sh says what each mode checks).  Built without MPI, one
# test, mpi/not-built, is skipped with a message.
if(NOT NB_HAVE_MPI)
  add_test(NAME mpi/not-built COMMAND sh -c "echo 'SKIPPED: nanobragg is built without MPI (none found; Debian: libopenmpi-dev openmpi-bin)'; exit 77")
  set_tests_properties(mpi/not-built PROPERTIES LABELS mpi SKIP_RETURN_CODE 77)
  return()
endif()
if(NOT MPIEXEC_EXECUTABLE)
  add_test(NAME mpi/no-mpiexec COMMAND sh -c "echo 'SKIPPED: no mpiexec/mpirun found (Debian: openmpi-bin)'; exit 77")
  set_tests_properties(mpi/no-mpiexec PROPERTIES LABELS mpi SKIP_RETURN_CODE 77)
  return()
endif()
# Sanitized builds: LeakSanitizer reports what Open MPI's libraries keep to
# the end of the process; tests/mpi/lsan.supp suppresses those (only theirs).
set(NB_MPI_LSAN "")
if(NB_SANITIZE)
  set(NB_MPI_LSAN ${CMAKE_CURRENT_LIST_DIR}/lsan.supp)
endif()
foreach(mode series stills rows failure)
  add_test(NAME mpi/${mode} COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_mpi.sh ${mode} ${MPIEXEC_EXECUTABLE}
                                    $<TARGET_FILE:nanobragg>
                                    ${CMAKE_SOURCE_DIR}/tests/cli/fixtures ${NB_MPI_LSAN})
  set_tests_properties(mpi/${mode} PROPERTIES LABELS mpi TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()
