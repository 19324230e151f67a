# Writes ${OUTPUT}: the completion script for ${SHELL_NAME} (bash, zsh or fish) that the built
# binary ${RIDGE} prints (`ridge completion SHELL`), so the installed scripts come from the parser
# itself and cannot drift from the flags. Run at build time by cmake/install.cmake.
execute_process(COMMAND "${RIDGE}" completion "${SHELL_NAME}" OUTPUT_FILE "${OUTPUT}.tmp"
                RESULT_VARIABLE failed)
if(failed)
  file(REMOVE "${OUTPUT}.tmp")
  message(FATAL_ERROR "`${RIDGE} completion ${SHELL_NAME}` failed: ${failed}")
endif()
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
