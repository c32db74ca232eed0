# edw_part(<name> SOURCES <files> [USES <parts>] [LIBRARIES <libs>] [PRIVATE_LIBRARIES <libs>])
#
# One part of the library: the library edw_<name> (static unless BUILD_SHARED_LIBS) built from
# src/<name>, whose headers are include/edw/<name>. USES names the lower parts it may include
# and call; LIBRARIES are outside libraries its headers need, PRIVATE_LIBRARIES those only its
# sources need.
#
# A part sees its headers through a folder of its own, build/part-headers/<name>/edw/<name>,
# a link to include/edw/<name>, and sees the headers of the parts it uses the same way (linking
# passes on their folders). It does not see any other part's headers: a lower part that
# includes a higher one fails to build with "No such file or directory".
function(edw_part name)
    cmake_parse_arguments(PART "" "" "SOURCES;USES;LIBRARIES;PRIVATE_LIBRARIES" ${ARGN})
    set(target edw_${name})
    add_library(${target} ${PART_SOURCES})
    add_library(edw::${name} ALIAS ${target})
    # Installed as edw::<name>, as the alias names it in the build tree.
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
    target_compile_features(${target} PUBLIC cxx_std_20)

    set(view ${PROJECT_BINARY_DIR}/part-headers/${name})
    file(MAKE_DIRECTORY ${view}/edw)
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/include/edw/${name} ${view}/edw/${name} SYMBOLIC)
    target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${view}>
        $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

    list(TRANSFORM PART_USES PREPEND edw_)
    target_link_libraries(${target} PUBLIC ${PART_USES} ${PART_LIBRARIES}
        PRIVATE ${PART_PRIVATE_LIBRARIES} $<BUILD_INTERFACE:edw_options>)
    set_property(GLOBAL APPEND PROPERTY EDW_PART_TARGETS ${target})
endfunction()
