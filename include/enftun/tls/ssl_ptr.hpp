// Owning pointers for OpenSSL objects, and one-line error reporting.
#pragma once

#include "enftun/util/unique_fd.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace enftun::tls {

using SslCtxPtr = std::unique_ptr<SSL_CTX, Free<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Free<SSL_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO_free_all>>;

// Drains OpenSSL's thread error queue into one line ("a; b; c"), so a failure
// is reported once, with all its causes. Returns "" when the queue is empty.
std::string drain_errors();

} // namespace enftun::tls
