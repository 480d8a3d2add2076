// The device's client of the enrollment API v1 (see the README,
// "Provisioning"): POST /v1/login, /v1/enroll, /v1/renew and /v1/confirm
// over HTTPS with libcurl. The service is verified against remote.ca_cert_file with
// its host name or IP checked against its subjectAltName (VERIFYPEER,
// VERIFYHOST), TLS 1.2 or newer, https only, no redirects; nothing turns
// that off. Replies are bounded (64 KiB) and in time (connect 10 s,
// whole request 30 s).
//
// Every error is one line for the user: what failed, the HTTP status and
// the service's "error" text when there is one (control characters
// removed, at most 200 characters).
#pragma once

#include "common/failure.hpp"
#include "reply_check.hpp"

#include "enftun/tls/ssl_ptr.hpp"

#include <string>
#include <vector>

namespace enftun::keygen {

struct ServiceOptions {
    std::string url;          // "https://host:port", no trailing path
    std::string ca_cert_file; // remote.ca_cert_file
    // Mutual TLS (renew only): the current identity. client_key, when set,
    // is the current key as libssl signs with it (a TPM-held key: there is
    // no key file to read), borrowed, and client_key_file is unused.
    std::string client_cert_file;
    std::string client_key_file;
    EVP_PKEY* client_key = nullptr;
};

struct ServiceReply {
    Reply reply;
    std::vector<tls::X509Ptr> server_chain; // as the service presented it
};

class EnrollClient {
public:
    explicit EnrollClient(ServiceOptions options);
    ~EnrollClient();
    EnrollClient(const EnrollClient&) = delete;
    EnrollClient& operator=(const EnrollClient&) = delete;

    // A bearer token. Errors: transport, 401 wrong password, 429, bad JSON.
    Outcome<std::string> login(const std::string& user, std::string& password);
    // ipv4: the "ipv4" field ("auto" or an address); "" leaves it out.
    Outcome<ServiceReply> enroll(const std::string& token, const std::string& csr,
                                 const std::string& request, const std::string& ipv4);
    // Authenticated by the client certificate in the options.
    Outcome<ServiceReply> renew(const std::string& csr);
    // POST /v1/confirm, authenticated by the client certificate in the
    // options (the new one, once stored): the service retires the older
    // certificates of its address. Returns how many it revoked.
    // Errors: transport, any status but 200, a reply without "retired".
    Outcome<std::size_t> confirm();

private:
    struct HttpReply;
    Outcome<HttpReply> post(const char* path, const std::string& body, const std::string& token);
    Outcome<ServiceReply> certificate_reply(const char* what, HttpReply& http);

    ServiceOptions options_;
};

// Strips control characters and cuts text to max bytes: the service's
// words are shown, but they cannot move the cursor or fill the terminal.
std::string printable(const std::string& text, std::size_t max = 200);

} // namespace enftun::keygen
