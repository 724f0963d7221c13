# Tests of the Python package (included from tests/CMakeLists.txt).
#
# python/<file>: pytest on python/tests/<file>.py with the package built into
#   <build>/python (python/python.cmake).  Reported as skipped (exit 77)
#   where the package is not built (no Python headers or numpy, a sanitizer
#   build) or pytest is missing (Debian: python3-pytest).
if(NB_PYTHON_BUILT)
  set(NB_PYTHON_TEST_PYTHON ${Python3_EXECUTABLE})
else()
  set(NB_PYTHON_TEST_PYTHON /usr/bin/python3)
endif()
file(GLOB NB_PYTHON_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/python/tests/test_*.py)
foreach(file IN LISTS NB_PYTHON_TESTS)
  get_filename_component(name ${file} NAME_WE)
  if(NB_PYTHON_BUILT)
    add_test(NAME python/${name}
             COMMAND ${NB_PYTHON_TEST_PYTHON} ${CMAKE_SOURCE_DIR}/python/tests/run.py ${name}.py)
  else()
    add_test(NAME python/${name}
             COMMAND ${CMAKE_COMMAND} -E echo "skipped: the Python package is not built in this tree")
    set_tests_properties(python/${name} PROPERTIES SKIP_REGULAR_EXPRESSION "skipped:")
  endif()
  set_tests_properties(python/${name} PROPERTIES LABELS python TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "PYTHONPATH=${CMAKE_BINARY_DIR}/python;NB_PROGRAM=$<TARGET_FILE:nanobragg>;NB_CASES=${CMAKE_SOURCE_DIR}/tests/reference/cases;OMP_NUM_THREADS=2")
endforeach()

# python/pip: pip install --no-build-isolation of a copy of the tree into a
#   scratch folder (python/setup.py builds the extension with CMake), then
#   import and render (check_pip.sh).  Label package; skipped without pip.
if(NB_PYTHON_BUILT)
  add_test(NAME python/pip
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/check_pip.sh ${CMAKE_SOURCE_DIR} ${Python3_EXECUTABLE}
                   ${CMAKE_CURRENT_BINARY_DIR}/pip-scratch)
  set_tests_properties(python/pip PROPERTIES LABELS "package;python" SKIP_RETURN_CODE 77 TIMEOUT 600)
endif()
