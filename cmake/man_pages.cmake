# Man pages for the installed programs, generated at build time from their --help texts
# (cmake/man_page.cmake) and installed in <prefix>/share/man/man1.
set(edw_man_dir ${PROJECT_BINARY_DIR}/man)

function(edw_man_page target name summary subcommands)
    set(output ${edw_man_dir}/${name}.1)
    add_custom_command(OUTPUT ${output}
        COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${target}> -DNAME=${name}
            "-DSUMMARY=${summary}" -DVERSION=${PROJECT_VERSION} "-DSUBCOMMANDS=${subcommands}"
            -DOUTPUT=${output} -P ${PROJECT_SOURCE_DIR}/cmake/man_page.cmake
        DEPENDS ${target} ${PROJECT_SOURCE_DIR}/cmake/man_page.cmake
        COMMENT "Writing the man page ${name}.1 from its --help"
        VERBATIM)
    set_property(GLOBAL APPEND PROPERTY EDW_MAN_PAGES ${output})
    install(FILES ${output} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endfunction()

edw_man_page(edw_cli edw "run scientific data-processing pipelines on a CouchDB changes feed"
    "db;db create;db info;db delete;design push;metadata make;status;doc get;doc put;doc all;failed;retry;pause;resume;serve;replicate;bench pipeline;bench replicate")
edw_man_page(listen_newfiles listen_newfiles "the EDELWEISS move_to_sps step daemon" "")
edw_man_page(listen_analysis1 listen_analysis1 "the EDELWEISS signal_processing step daemon" "")
edw_man_page(listen_pipeline listen_pipeline "the EDELWEISS steps in one process, on one changes feed" "")
edw_man_page(listen_command listen_command "a step daemon that runs a command, or long-running workers, as a step" "")
get_property(edw_man_pages GLOBAL PROPERTY EDW_MAN_PAGES)
add_custom_target(man_pages ALL DEPENDS ${edw_man_pages})
