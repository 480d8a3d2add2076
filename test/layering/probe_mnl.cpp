// Must not build in a pure layer: libmnl.
#include <libmnl/libmnl.h>

int enftun_layering_probe_mnl();
