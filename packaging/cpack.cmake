# SPDX-License-Identifier: MIT
# cpack.cmake -- CPack settings: `cpack -G DEB` in the build folder makes
# one .deb per install component (packaging/CMakeLists.txt lists them).
# Runtime dependencies on system libraries come from dpkg-shlibdeps.
set(CPACK_PACKAGE_NAME srd)
set(CPACK_PACKAGE_VENDOR "srd project")
set(CPACK_PACKAGE_CONTACT "srd maintainers <srd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# The packages install where this tree was configured to (use /usr).
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_COMPONENTS_ALL lib dev tools)
if(TARGET srd_python)
  list(APPEND CPACK_COMPONENTS_ALL python)
endif()

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(srd_exact_version "= ${PROJECT_VERSION}")
set(SRD_DEB_ISAL_DEV "")
if(ISAL_FOUND)
  set(SRD_DEB_ISAL_DEV ", libisal-dev")
endif()

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libsrdclient0)
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_LIB_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_COMPONENT_LIB_DESCRIPTION
    "srd client library\n libsrdclient opens srd stores (SIMD R Drive format): embedded\n or as a client of srdd.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libsrdclient-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libsrdclient0 (${srd_exact_version}), libnng-dev, libxxhash-dev, libprotobuf-c-dev, zlib1g-dev${SRD_DEB_ISAL_DEV}")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "srd client library: development files\n srd/srd.h, libsrdclient.a, srdclient.pc and the CMake package srd.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME srd-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION database)
# srdctl links libsrdclient.so.0 (it uses only srd.h); dpkg-shlibdeps finds
# the library in the build tree, the exact version pins the pair.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/libclient)
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "libsrdclient0 (${srd_exact_version})")
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
    "srd store daemon and admin tool\n srdd (the writer daemon, with srdd@.service) and srdctl.")

set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-simd-r-drive)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS
    "python3 (>= 3.8), libsrdclient0 (${srd_exact_version})")
set(CPACK_COMPONENT_PYTHON_DESCRIPTION
    "srd stores from Python\n The simd_r_drive package (SIMD R Drive Python API).")

include(CPack)
