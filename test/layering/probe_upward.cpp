// Must not build in a pure layer: an upward include of a non-pure layer.
#include "enftun/loop/loop.hpp"

int enftun_layering_probe_upward();
