# The Python package nanobragg (included from CMakeLists.txt): the extension
# module _nanobragg (python/src/_nanobragg.c and the program's flag table,
# app/flags.c, over the static library), a copy of the pure-Python part and
# of the NeXus writer's module, all in <build>/python/nanobragg/, so that
# PYTHONPATH=<build>/python finds the package.
#
# NB_PYTHON: AUTO (default) builds it when Python 3 with its headers and
# numpy's are found (Debian: python3-dev, python3-numpy), ON requires them,
# OFF skips it.  Never under NB_SANITIZE: a sanitized module cannot be loaded
# into an ordinary python3.  The Python found is /usr/bin/python3 where there
# is one (the one Debian's python3-numpy serves) unless Python3_EXECUTABLE
# says otherwise.
set(NB_PYTHON AUTO CACHE STRING "Build the Python package: AUTO, ON or OFF")
set(NB_PYTHON_BUILT OFF)
if(NB_SANITIZE OR NB_PYTHON STREQUAL "OFF")
  message(STATUS "Python package: not built (NB_PYTHON=${NB_PYTHON}, NB_SANITIZE=${NB_SANITIZE})")
  return()
endif()
if(CMAKE_VERSION VERSION_LESS 3.18)
  message(STATUS "Python package: not built (needs CMake 3.18)")
  return()
endif()
if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3)
endif()
if(NB_PYTHON STREQUAL "ON")
  find_package(Python3 3.10 REQUIRED COMPONENTS Interpreter Development.Module NumPy)
else()
  find_package(Python3 3.10 COMPONENTS Interpreter Development.Module NumPy)
endif()
if(NOT Python3_FOUND OR NOT Python3_NumPy_FOUND OR NOT Python3_Development.Module_FOUND)
  message(STATUS "Python package: not built (needs Python 3.10+ with its headers and numpy's; "
                 "Debian: python3-dev python3-numpy)")
  return()
endif()

set(NB_PYTHON_DIR ${CMAKE_BINARY_DIR}/python/nanobragg)
Python3_add_library(nanobragg_python MODULE WITH_SOABI
                    ${CMAKE_SOURCE_DIR}/python/src/_nanobragg.c ${CMAKE_SOURCE_DIR}/app/flags.c)
target_include_directories(nanobragg_python PRIVATE ${CMAKE_SOURCE_DIR}/app)
target_compile_options(nanobragg_python PRIVATE ${NB_WARNINGS})
target_compile_definitions(nanobragg_python PRIVATE _DEFAULT_SOURCE)
target_link_libraries(nanobragg_python PRIVATE nanobragg_lib Python3::NumPy)
set_target_properties(nanobragg_python PROPERTIES OUTPUT_NAME _nanobragg
                      LIBRARY_OUTPUT_DIRECTORY ${NB_PYTHON_DIR}
                      C_VISIBILITY_PRESET hidden)

file(GLOB NB_PYTHON_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/python/nanobragg/*.py)
set(NB_PYTHON_COPIES "")
foreach(src IN LISTS NB_PYTHON_FILES)
  get_filename_component(name ${src} NAME)
  add_custom_command(OUTPUT ${NB_PYTHON_DIR}/${name}
                     COMMAND ${CMAKE_COMMAND} -E copy_if_different ${src} ${NB_PYTHON_DIR}/${name}
                     DEPENDS ${src} VERBATIM)
  list(APPEND NB_PYTHON_COPIES ${NB_PYTHON_DIR}/${name})
endforeach()
add_custom_target(nanobragg_python_files ALL DEPENDS ${NB_PYTHON_COPIES})
add_dependencies(nanobragg_python nanobragg_python_files)
# The NeXus writer's module beside the extension, which holds the library's
# code, so that the package finds it (src/module.h) where it is copied.
if(TARGET nanobragg_nexus)
  add_custom_command(TARGET nanobragg_python POST_BUILD
                     COMMAND ${CMAKE_COMMAND} -E copy_if_different $<TARGET_FILE:nanobragg_nexus> ${NB_PYTHON_DIR}/
                     VERBATIM)
endif()
set(NB_PYTHON_BUILT ON)
message(STATUS "Python package: ${NB_PYTHON_DIR} (${Python3_EXECUTABLE}, numpy ${Python3_NumPy_VERSION})")
