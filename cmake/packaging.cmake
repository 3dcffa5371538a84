# CPack: `cpack -G DEB` in a build dir configured with -DCMAKE_INSTALL_PREFIX=/usr
# builds seedanced_<version>_<arch>.deb (seedanced, seedancectl, piapi-sim, the
# unit, sysusers/tmpfiles snippets, /etc/seedanced/seedanced.json as a conffile).
# Runtime library dependencies come from dpkg-shlibdeps.
set(CPACK_PACKAGE_NAME seedanced)
set(CPACK_PACKAGE_VENDOR "seedanced")
set(CPACK_PACKAGE_CONTACT "seedanced maintainers <maintainers@seedanced.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "daemon that runs Seedance video generation on PiAPI reliably")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "seedanced turns a directory of job specs into finished Seedance videos on PiAPI: it uploads\n"
    "reference assets once, submits tasks when their assets are active, polls, downloads and\n"
    "remembers everything in SQLite so that a crash loses nothing and pays for nothing twice.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd (>= 247), ca-certificates")

set(_pkg_dir ${PROJECT_BINARY_DIR}/packaging)
file(WRITE ${_pkg_dir}/conffiles "${CMAKE_INSTALL_FULL_SYSCONFDIR}/seedanced/seedanced.json\n")
file(WRITE ${_pkg_dir}/postinst [=[#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
  systemd-sysusers seedanced.conf || true
  systemd-tmpfiles --create seedanced.conf || true
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi
exit 0
]=])
file(WRITE ${_pkg_dir}/prerm [=[#!/bin/sh
set -e
if [ "$1" = "remove" ] && [ -d /run/systemd/system ]; then
  systemctl stop seedanced.service || true
fi
exit 0
]=])
file(WRITE ${_pkg_dir}/postrm [=[#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
]=])
file(CHMOD ${_pkg_dir}/postinst ${_pkg_dir}/prerm ${_pkg_dir}/postrm
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
     WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_pkg_dir}/conffiles ${_pkg_dir}/postinst ${_pkg_dir}/prerm ${_pkg_dir}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
