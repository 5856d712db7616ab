# Installed next to maunetConfig.cmake, which includes it: the bindings' targets and the
# components find_package(maunet COMPONENTS C Fortran) asks for.
include("${CMAKE_CURRENT_LIST_DIR}/maunetBindingsTargets.cmake")
set(maunet_C_FOUND FALSE)
if(TARGET maunet::c)
  set(maunet_C_FOUND TRUE)
endif()
set(maunet_Fortran_FOUND FALSE)
if(TARGET maunet::fortran)
  set(maunet_Fortran_FOUND TRUE)
endif()
