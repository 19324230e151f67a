# `cmake --install` and CPack: the ridge binary, its shell completions (printed by the built
# binary at build time), the man page, and a Debian package (ridge_<version>_amd64.deb) whose
# Depends line dpkg-shlibdeps derives from what the binary links. The binary needs nothing
# else at run time: models, GPUs and calibrations are compiled in (cmake/embed_data.cmake).
include(GNUInstallDirs)

# Completions and man page, made in the build tree by the `ridge_share` target (part of `all`).
set(RIDGE_SHARE_DIR "${CMAKE_BINARY_DIR}/share")
set(RIDGE_COMPLETIONS "")
foreach(shell bash zsh fish)
  set(out "${RIDGE_SHARE_DIR}/ridge.${shell}")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DRIDGE=$<TARGET_FILE:ridge> -DSHELL_NAME=${shell} -DOUTPUT=${out}
            -P "${CMAKE_SOURCE_DIR}/cmake/completion.cmake"
    DEPENDS ridge "${CMAKE_SOURCE_DIR}/cmake/completion.cmake"
    COMMENT "ridge completion ${shell}")
  list(APPEND RIDGE_COMPLETIONS "${out}")
endforeach()
# The version in the man page's header comes from project() like everything else.
configure_file("${CMAKE_SOURCE_DIR}/man/ridge.1.in" "${RIDGE_SHARE_DIR}/ridge.1" @ONLY)
add_custom_target(ridge_share ALL DEPENDS ${RIDGE_COMPLETIONS})

# Where each shell looks: bash-completion's and fish's vendor directories, and Debian's zsh
# vendor directory (on the default fpath of Debian's zsh; site-functions elsewhere).
set(RIDGE_ZSH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions"
    CACHE STRING "Install directory of the zsh completion (_ridge), relative to the prefix")
install(TARGETS ridge RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES "${RIDGE_SHARE_DIR}/ridge.bash"
        DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" RENAME ridge)
install(FILES "${RIDGE_SHARE_DIR}/ridge.zsh" DESTINATION "${RIDGE_ZSH_COMPLETION_DIR}" RENAME _ridge)
install(FILES "${RIDGE_SHARE_DIR}/ridge.fish" DESTINATION "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d")
install(FILES "${RIDGE_SHARE_DIR}/ridge.1" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")

# Install and package what was built (and tested), never rebuild on the way: without this,
# `cpack` and `make install` first build `all` again from whatever the tree holds by then.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# CPack: after `cmake --build`, `cpack --config build/CPackConfig.cmake` writes
# ridge_<version>_amd64.deb.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "ridge")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "ridge maintainers <ridge@localhost>" CACHE STRING "Debian Maintainer field")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "LLM deployment memory and time estimates from model and GPU descriptions")
set(CPACK_PACKAGE_DESCRIPTION
    "ridge estimates what an LLM deployment costs in memory and time (weights, KV cache, activations, roofline TTFT/TPOT, serving under load), plans deployments, gates deployment files in CI (ridge check) and validates its predictions on a local GPU. Bundled models and GPUs are compiled in.")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")   # ridge_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION "utils")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Depends: from the binary's NEEDED libraries (libyaml-cpp0.7, libstdc++6, ... for the normal
# build; only libc6 for RIDGE_PORTABLE, which links the rest statically).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
include(CPack)
