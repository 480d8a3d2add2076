# One static library per layer (../shared/STYLE.md section 1), so that the
# layering is enforced by the build rather than by review:
#
#   enftun_layer(NAME [PURE] [DEPS target...])
#
# builds src/NAME/*.cpp into enftun_NAME (an INTERFACE library when the layer
# is header-only) and links DEPS publicly: a layer can use only what it names
# and what those name in turn. A PURE layer (no event loop, no TLS, no
# syscalls: unit-tested and fuzzed alone) also compiles with the guard folder
# first on its include path: every header of libuv, OpenSSL and libmnl, and
# every header of a non-pure enftun layer, is there as a file that is only an
# #error. So `#include <uv.h>`, `<openssl/ssl.h>` or "enftun/loop/loop.hpp"
# in a pure layer's source, or in any header it includes, fails to build.
# test/layering/ proves it (ctest -L layering).

set(ENFTUN_LAYER_GUARD_DIR ${PROJECT_BINARY_DIR}/layer-guard)

# enftun_write_guard(HEADER WHAT): HEADER (as written in #include) is an error.
function(enftun_write_guard header what)
    file(CONFIGURE OUTPUT ${ENFTUN_LAYER_GUARD_DIR}/${header}
         CONTENT "#error \"enftun layering: a pure layer must not include ${what} (${header}); see cmake/layers.cmake\"\n"
         @ONLY)
endfunction()

# enftun_layer_guard(IMPURE_LAYERS...): write the guard folder. Called once,
# after the layers are known; the third-party headers are listed from the
# installed ones, so a new OpenSSL header is covered too.
function(enftun_layer_guard)
    enftun_write_guard(uv.h "libuv")
    file(GLOB uv_headers RELATIVE /usr/include /usr/include/uv/*.h)
    foreach(h ${uv_headers})
        enftun_write_guard(${h} "libuv")
    endforeach()
    enftun_write_guard(libmnl/libmnl.h "libmnl")
    foreach(dir ${OPENSSL_INCLUDE_DIR} /usr/include)
        file(GLOB ossl_headers RELATIVE ${dir} ${dir}/openssl/*.h)
        foreach(h ${ossl_headers})
            enftun_write_guard(${h} "OpenSSL")
        endforeach()
    endforeach()
    foreach(layer ${ARGN})
        file(GLOB layer_headers RELATIVE ${PROJECT_SOURCE_DIR}/include
             ${PROJECT_SOURCE_DIR}/include/enftun/${layer}/*.hpp)
        foreach(h ${layer_headers})
            enftun_write_guard(${h} "the non-pure layer ${layer}")
        endforeach()
    endforeach()
endfunction()

# Headers and definitions every layer shares.
add_library(enftun_headers INTERFACE)
target_include_directories(enftun_headers INTERFACE ${PROJECT_SOURCE_DIR}/include)
target_compile_definitions(enftun_headers INTERFACE ENFTUN_VERSION="${PROJECT_VERSION}"
                                                    ENFTUN_ENABLE_TPM=$<BOOL:${ENABLE_TPM}>)

function(enftun_layer name)
    cmake_parse_arguments(L "PURE" "" "DEPS" ${ARGN})
    file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
    if(sources)
        add_library(enftun_${name} STATIC ${sources})
        target_link_libraries(enftun_${name} PUBLIC enftun_headers ${L_DEPS})
        if(L_PURE)
            target_include_directories(enftun_${name} BEFORE PRIVATE ${ENFTUN_LAYER_GUARD_DIR})
        endif()
    else()
        add_library(enftun_${name} INTERFACE)
        target_link_libraries(enftun_${name} INTERFACE enftun_headers ${L_DEPS})
    endif()
    if(L_PURE)
        set_property(GLOBAL APPEND PROPERTY ENFTUN_PURE_LAYERS ${name})
    else()
        set_property(GLOBAL APPEND PROPERTY ENFTUN_IMPURE_LAYERS ${name})
    endif()
    set_property(GLOBAL APPEND PROPERTY ENFTUN_LAYERS enftun_${name})
endfunction()

# Every folder of src/ but app/ must be a layer: a new folder that is not
# would leave its code out of every library.
function(enftun_check_layers_complete)
    get_property(pure GLOBAL PROPERTY ENFTUN_PURE_LAYERS)
    get_property(impure GLOBAL PROPERTY ENFTUN_IMPURE_LAYERS)
    file(GLOB dirs RELATIVE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/src/*)
    foreach(dir ${dirs})
        if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/src/${dir} AND NOT dir STREQUAL "app"
           AND NOT dir IN_LIST pure AND NOT dir IN_LIST impure)
            message(FATAL_ERROR "src/${dir} is in no layer: add enftun_layer(${dir} ...) "
                                "to CMakeLists.txt (cmake/layers.cmake)")
        endif()
    endforeach()
endfunction()
