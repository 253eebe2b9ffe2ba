#   Writes OUTPUT, a C file with the bytes of each of FILES (paths split
#   by |) as gw_demo_files [], for the gateway to serve from memory:
#   cmake -DOUTPUT=out.c -DFILES="a.html|b.js" -P embed_files.cmake
string (REPLACE "|" ";" FILES "${FILES}")
set (body "/*  Generated from gateway/demo/ by cmake/embed_files.cmake */\n")
string (APPEND body "#include \"gateway/gw_demo.h\"\n\n")
set (table "")
set (index 0)
foreach (file ${FILES})
    get_filename_component (name "${file}" NAME)
    file (READ "${file}" hex HEX)
    string (LENGTH "${hex}" hex_len)
    math (EXPR size "${hex_len} / 2")
    string (REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
    string (REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)"
            "\\1\n    " bytes "${bytes}")
    string (APPEND body "static const unsigned char s_file_${index} [] = {\n"
            "    ${bytes}0\n};\n")
    string (APPEND table "    {\"${name}\", s_file_${index}, ${size}},\n")
    math (EXPR index "${index} + 1")
endforeach ()
string (APPEND body "\nconst gw_demo_file_t gw_demo_files [] = {\n${table}"
        "    {NULL, NULL, 0}\n};\n")
file (WRITE "${OUTPUT}.tmp" "${body}")
#   Unchanged output keeps its time stamp, so nothing rebuilds for nothing
execute_process (COMMAND ${CMAKE_COMMAND} -E copy_if_different
                 "${OUTPUT}.tmp" "${OUTPUT}")
file (REMOVE "${OUTPUT}.tmp")
