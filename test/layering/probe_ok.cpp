// Control probe: a pure header only; must build in every pure layer.
#include "enftun/util/result.hpp"

int enftun_layering_probe_ok();
