# Renders one docs/man/*.md page as roff with go-md2man (cmake -P, run by the
# `man` target of packaging/CMakeLists.txt):
#   cmake -DMD2MAN=go-md2man -DIN=netd-forward.1.md -DOUT=netd-forward.1
#         -DNAME=netd-forward -DSECTION=1 -DVERSION=0.1.0 -P md2man.cmake
# The pages open with a heading ("# netd-forward(1)") or a pandoc-style title
# line ("% NETD-DNS(1) ..."), which read well as Markdown; go-md2man wants a
# title line it copies word for word into roff's .TH, so that first line is
# replaced by one made from the file name: .TH NAME SECTION "" "netd VERSION".
file(READ "${IN}" text)
string(REGEX REPLACE "^(# [^\n]*\\([0-9]\\)|%[^\n]*)\n" "" text "${text}")
string(TOUPPER "${NAME}" title)
get_filename_component(tmp_dir "${OUT}" DIRECTORY)
set(tmp "${tmp_dir}/.${NAME}.${SECTION}.md")
file(WRITE "${tmp}" "% ${title} ${SECTION} \"\" \"netd ${VERSION}\" \"netd manual\"\n${text}")
execute_process(COMMAND "${MD2MAN}" -in "${tmp}" -out "${OUT}" RESULT_VARIABLE rc)
file(REMOVE "${tmp}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "go-md2man failed on ${IN}")
endif()
