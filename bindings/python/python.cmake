# The Python module maunet (pybind11 over the C++ headers). Needs Debian's python3-dev,
# python3-numpy and pybind11-dev; skipped with a message when one is missing. Included by
# bindings/CMakeLists.txt (not a subdirectory of its own: see there why); the module and its
# tests' files go to <build>/bindings/python.
if(NOT MAUNET_BUILD_PYTHON)
  message(STATUS "maunet: MAUNET_BUILD_PYTHON is OFF; the Python module is not built")
  return()
endif()
if(MAUNET_SANITIZE)
  # The interpreter is not built with the sanitizers, so an instrumented module could not be loaded.
  message(STATUS "maunet: the Python module is not built under MAUNET_SANITIZE")
  return()
endif()
# Debian's interpreter, whose numpy and pybind11 the packages install, unless the caller chose one
# (a python3 of a version manager earlier on PATH would not have them).
if(NOT DEFINED Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python3_EXECUTABLE /usr/bin/python3)
endif()
find_package(Python3 COMPONENTS Interpreter Development.Module NumPy QUIET)
if(NOT Python3_FOUND OR NOT Python3_NumPy_FOUND)
  message(STATUS "maunet: Python 3 with its headers and numpy not found (install python3-dev python3-numpy); "
                 "the Python module is not built")
  return()
endif()
find_package(pybind11 CONFIG QUIET)
if(NOT pybind11_FOUND)
  message(STATUS "maunet: pybind11 not found (install pybind11-dev); the Python module is not built")
  return()
endif()

# NO_EXTRAS: no link-time optimisation (minutes of serial LTRANS jobs for no gain in a wrapper).
pybind11_add_module(maunet_python MODULE NO_EXTRAS ${CMAKE_CURRENT_LIST_DIR}/maunet_python.cpp)
set_target_properties(maunet_python PROPERTIES OUTPUT_NAME maunet
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/python/package)
target_link_libraries(maunet_python PRIVATE maunet maunet_binding_flags)
# The module goes to the interpreter's platform-specific site directory under the prefix.
file(RELATIVE_PATH python_site_relative ${Python3_SITEARCH}/../.. ${Python3_SITEARCH})
install(TARGETS maunet_python LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/${python_site_relative})

if(MAUNET_BUILD_TESTS)
  add_test(NAME "bindings: Python module"
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/tests/test_maunet.py
                   ${MAUNET_BINDING_TEST_DIR} ${MAUNET_BINDING_TEST_SIZE})
  set_tests_properties("bindings: Python module" PROPERTIES FIXTURES_REQUIRED maunet_binding_model LABELS bindings
    ENVIRONMENT "PYTHONPATH=${CMAKE_CURRENT_BINARY_DIR}/python/package;OMP_WAIT_POLICY=passive")
  # The python blocks of docs/embedding.md run in order, as one notebook (its xarray block is
  # skipped when python3-xarray is not installed).
  add_test(NAME "docs/docs/embedding.md: python blocks"
           COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/docs/run_python_blocks.py
                   ${PROJECT_SOURCE_DIR}/docs/embedding.md ${CMAKE_CURRENT_BINARY_DIR}/python/docs_run)
  set_tests_properties("docs/docs/embedding.md: python blocks" PROPERTIES LABELS "docs;bindings"
    ENVIRONMENT "PYTHONPATH=${CMAKE_CURRENT_BINARY_DIR}/python/package;OMP_WAIT_POLICY=passive")
endif()
