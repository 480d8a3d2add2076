// Must not build in a pure layer: libuv.
#include <uv.h>

int enftun_layering_probe_uv();
