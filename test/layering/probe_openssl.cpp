// Must not build in a pure layer: OpenSSL.
#include <openssl/evp.h>

int enftun_layering_probe_openssl();
