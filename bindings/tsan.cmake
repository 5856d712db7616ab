# ThreadSanitizer test of concurrent predict calls on one model: the C API's translation unit
# and the concurrent test program, built again with -fsanitize=thread and WITHOUT OpenMP.
# Debian's libgomp is not built with TSan, so its internal synchronisation would be reported
# as races; without OpenMP, maunet's loops run on the calling thread and everything the test
# runs is instrumented. What is checked is what an embedding program does: several of its own
# threads calling one model handle at once. Skipped under other sanitizers (they do not mix).
# Off by default: it compiles the whole C API a second time (75 CPU-seconds), which README's
# test command should not make a newcomer wait for; CI turns it on (.ci/run).
option(MAUNET_TSAN_TEST "Build and run the ThreadSanitizer test of the C API" OFF)
if(NOT MAUNET_TSAN_TEST)
  return()
endif()
include(CheckCXXSourceCompiles)
if(MAUNET_SANITIZE OR MAUNET_USE_BLAS)
  message(STATUS "maunet: the ThreadSanitizer test of the C API is skipped (MAUNET_SANITIZE or MAUNET_USE_BLAS is set)")
  return()
endif()
set(CMAKE_REQUIRED_FLAGS -fsanitize=thread)
set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=thread)
check_cxx_source_compiles("int main() { return 0; }" MAUNET_HAVE_TSAN)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(NOT MAUNET_HAVE_TSAN)
  message(STATUS "maunet: the compiler cannot build with -fsanitize=thread; the ThreadSanitizer test is skipped")
  return()
endif()
add_executable(maunet_test_c_tsan c/maunet_c.cpp c/tests/test_c_concurrent.c)
target_include_directories(maunet_test_c_tsan PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_features(maunet_test_c_tsan PRIVATE cxx_std_17)
target_link_libraries(maunet_test_c_tsan PRIVATE Eigen3::Eigen xtensor Threads::Threads m)
target_compile_options(maunet_test_c_tsan PRIVATE -fsanitize=thread -O1 -g -fno-omit-frame-pointer
  $<$<CXX_COMPILER_ID:GNU>:$<$<COMPILE_LANGUAGE:CXX>:-Wno-psabi>>)
target_link_options(maunet_test_c_tsan PRIVATE -fsanitize=thread)
set_target_properties(maunet_test_c_tsan PROPERTIES LINKER_LANGUAGE CXX C_STANDARD 99)
add_test(NAME "bindings: C API, concurrent predict under ThreadSanitizer"
         COMMAND maunet_test_c_tsan ${model_args} ${MAUNET_BINDING_TEST_SIZE} 4)
set_tests_properties("bindings: C API, concurrent predict under ThreadSanitizer" PROPERTIES
  ${binding_test_properties} ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1:exitcode=66")
