# configure-units.cmake: runs at install time (cmake --install, see the top
# CMakeLists.txt) and fills in the systemd unit templates, so the paths in
# the units follow the prefix actually installed to (--prefix), not the one
# configured. Inputs, set by the install(CODE) just before: ENFTUN_UNIT_BINDIR
# and ENFTUN_UNIT_DOCDIR (GNUInstallDirs values, relative or absolute),
# ENFTUN_UNIT_TEMPLATES (the systemd/*.service.in) and ENFTUN_UNIT_OUT (where
# the units go before install(FILES) copies them).
foreach(var BINDIR DOCDIR)
    set(dir "${ENFTUN_UNIT_${var}}")
    if(NOT IS_ABSOLUTE "${dir}")
        set(dir "${CMAKE_INSTALL_PREFIX}/${dir}")
    endif()
    set(ENFTUN_${var} "${dir}")
endforeach()
foreach(template ${ENFTUN_UNIT_TEMPLATES})
    get_filename_component(unit "${template}" NAME_WLE)
    configure_file("${template}" "${ENFTUN_UNIT_OUT}/${unit}" @ONLY)
endforeach()
