# Writes a man page from a program's own --help texts, so that the two never disagree.
# cmake -DPROGRAM=<path> -DNAME=<name> -DSUMMARY=<one line> -DVERSION=<version>
#       -DSUBCOMMANDS=<"db;design push;..."> -DOUTPUT=<file.1> -P man_page.cmake

# roff takes a line starting with '.' or "'" as a request, and '\' as an escape.
function(roff_escape text out)
    string(REPLACE "\\" "\\e" text "${text}")
    string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
    set(${out} "${text}" PARENT_SCOPE)
endfunction()

function(help_of arguments out)
    separate_arguments(argv UNIX_COMMAND "${arguments}")
    execute_process(COMMAND ${PROGRAM} ${argv} --help
        OUTPUT_VARIABLE help ERROR_VARIABLE error RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "${PROGRAM} ${arguments} --help failed (${status}): ${error}")
    endif()
    roff_escape("${help}" help)
    set(${out} "${help}" PARENT_SCOPE)
endfunction()

string(TIMESTAMP today "%Y-%m-%d" UTC)
help_of("" main_help)
set(page ".TH ${NAME} 1 \"${today}\" \"edw ${VERSION}\" \"edw manual\"\n")
string(APPEND page ".SH NAME\n${NAME} \\- ${SUMMARY}\n")
string(APPEND page ".SH DESCRIPTION\n.nf\n${main_help}.fi\n")
foreach(subcommand IN LISTS SUBCOMMANDS)
    help_of("${subcommand}" sub_help)
    string(TOUPPER "${subcommand}" title)
    string(APPEND page ".SH ${title}\n.nf\n${sub_help}.fi\n")
endforeach()
string(APPEND page ".SH SETTINGS\nThe settings come from ./edw.ini or the file --config names, and from the EDW_* \
environment variables, which win; see edw.ini.example in /usr/share/doc/edw or the source tree.\n")
string(APPEND page ".SH SEE ALSO\n.BR edw (1),\n.BR listen_newfiles (1),\n.BR listen_analysis1 (1),\n\
.BR listen_pipeline (1),\n.BR listen_command (1)\n")
file(WRITE "${OUTPUT}" "${page}")
