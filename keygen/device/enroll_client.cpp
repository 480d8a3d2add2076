#include "enroll_client.hpp"

#include "key_material.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <memory>

namespace enftun::keygen {

using json = nlohmann::json;

namespace {

using CurlPtr = std::unique_ptr<CURL, Free<curl_easy_cleanup>>;
using SlistPtr = std::unique_ptr<curl_slist, Free<curl_slist_free_all>>;

constexpr std::size_t kMaxReply = 64 * 1024;
constexpr long kConnectTimeoutS = 10;
constexpr long kTimeoutS = 30;

struct Sink {
    std::string body;
    bool too_long = false;
};

size_t on_data(char* data, size_t size, size_t n, void* user) noexcept {
    auto* sink = static_cast<Sink*>(user);
    const size_t len = size * n;
    if (sink->body.size() + len > kMaxReply) {
        sink->too_long = true;
        return 0; // CURLE_WRITE_ERROR
    }
    sink->body.append(data, len);
    return len;
}

std::vector<tls::X509Ptr> server_chain(CURL* curl) {
    std::vector<tls::X509Ptr> chain;
    curl_certinfo* info = nullptr;
    if (curl_easy_getinfo(curl, CURLINFO_CERTINFO, &info) != CURLE_OK || info == nullptr) {
        return chain;
    }
    constexpr std::string_view kCert = "Cert:";
    for (int i = 0; i < info->num_of_certs; ++i) {
        for (curl_slist* s = info->certinfo[i]; s != nullptr; s = s->next) {
            const std::string_view line(s->data);
            if (line.substr(0, kCert.size()) != kCert) {
                continue;
            }
            if (auto certs = parse_certs_pem(std::string(line.substr(kCert.size())))) {
                chain.push_back(std::move((*certs)[0]));
            }
        }
    }
    return chain;
}

// Whether the TLS handshake was done (libcurl sets the time only then).
bool handshake_done(CURL* curl) {
    curl_off_t us = 0;
    return curl_easy_getinfo(curl, CURLINFO_APPCONNECT_TIME_T, &us) == CURLE_OK && us > 0;
}

// enftun-enroll refuses a connection it has no room for (its threads and
// enroll.max_waiting_connections all taken) by closing it at the start of
// the TLS handshake, before reading it: the device sees a reset or an end
// of file there, which libcurl reports as a bare "SSL_ERROR_SYSCALL" or
// "Connection reset by peer". A TLS alert (a real handshake failure) is
// not this.
bool closed_in_handshake(CURLcode rc, const std::string& why, bool done) {
    if (done || (rc != CURLE_SSL_CONNECT_ERROR && rc != CURLE_RECV_ERROR &&
                 rc != CURLE_SEND_ERROR && rc != CURLE_GOT_NOTHING)) {
        return false;
    }
    for (const char* sign : {"SSL_ERROR_SYSCALL", "Connection reset by peer", "unexpected eof"}) {
        if (why.find(sign) != std::string::npos) {
            return true;
        }
    }
    return rc != CURLE_SSL_CONNECT_ERROR;
}

std::string transport_failure(const std::string& url, CURLcode rc, const char* detail,
                              bool handshake_was_done) {
    std::string why = detail[0] != '\0' ? detail : curl_easy_strerror(rc);
    while (!why.empty() && why.back() == ' ') {
        why.pop_back();
    }
    if (closed_in_handshake(rc, why, handshake_was_done)) {
        return "the enrollment service at " + url +
               " closed the connection in the TLS handshake, as it does when it is overloaded "
               "(too many devices at once): try again in a minute (" +
               why + ")";
    }
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return "refused the certificate of " + url + ": " + why;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
        return "cannot reach the enrollment service at " + url + ": " + why;
    default:
        return "request to " + url + " failed: " + why;
    }
}

std::string error_text(const std::string& body) {
    const json j = json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) {
        return printable(j["error"].get<std::string>());
    }
    return {};
}

// libcurl's hook on the SSL_CTX it made (CURLOPT_SSL_CTX_FUNCTION, OpenSSL
// backend): the client certificate chain and a key that is not a file (a
// TPM-held key, which only signs through its EVP_PKEY). Key first, as in
// tls::TlsContext: a mismatched pair is then reported as what it is.
CURLcode use_client_identity(CURL*, void* ssl_ctx, void* user) noexcept {
    const auto* options = static_cast<const ServiceOptions*>(user);
    auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
    if (SSL_CTX_use_PrivateKey(ctx, options->client_key) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, options->client_cert_file.c_str()) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        return CURLE_SSL_CERTPROBLEM;
    }
    return CURLE_OK;
}

} // namespace

struct EnrollClient::HttpReply {
    long status = 0;
    std::string body;
    std::vector<tls::X509Ptr> chain;
};

std::string printable(const std::string& text, std::size_t max) {
    std::string out;
    for (const char ch : text) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        const auto u = static_cast<unsigned char>(ch);
        out += (u < 0x20 || u == 0x7f) ? ' ' : ch;
    }
    return out;
}

EnrollClient::EnrollClient(ServiceOptions options) : options_(std::move(options)) {
    while (!options_.url.empty() && options_.url.back() == '/') {
        options_.url.pop_back(); // "https://host:8443/" + "/v1/login"
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

EnrollClient::~EnrollClient() {
    curl_global_cleanup();
}

Outcome<EnrollClient::HttpReply> EnrollClient::post(const char* path, const std::string& body,
                                                    const std::string& token) {
    CurlPtr curl(curl_easy_init());
    if (!curl) {
        return Failure{"cannot start libcurl"};
    }
    CURL* c = curl.get();
    const std::string url = options_.url + path;
    Sink sink;
    char errbuf[CURL_ERROR_SIZE] = "";
    SlistPtr headers(curl_slist_append(nullptr, "Content-Type: application/json"));
    std::string auth = token.empty() ? "" : "Authorization: Bearer " + token;
    if (!auth.empty()) {
        headers.reset(curl_slist_append(headers.release(), auth.c_str()));
    }
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_cert_file.c_str());
    curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    if (options_.client_key != nullptr) {
        curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, use_client_identity);
        curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &options_);
    } else if (!options_.client_cert_file.empty()) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, options_.client_cert_file.c_str());
        curl_easy_setopt(c, CURLOPT_SSLKEY, options_.client_key_file.c_str());
    }
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, kTimeoutS);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    const CURLcode rc = curl_easy_perform(c);
    if (!auth.empty()) {
        OPENSSL_cleanse(auth.data(), auth.size());
    }
    if (sink.too_long) {
        return Failure{url + ": the reply is larger than 64 KiB"};
    }
    if (rc != CURLE_OK) {
        return Failure{transport_failure(options_.url, rc, errbuf, handshake_done(c))};
    }
    HttpReply reply;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
    reply.body = std::move(sink.body);
    reply.chain = server_chain(c);
    return reply;
}

namespace {

std::string status_failure(const char* what, long status, const std::string& body) {
    const std::string text = error_text(body);
    return std::string(what) + " failed (HTTP " + std::to_string(status) +
           "): " + (text.empty() ? "the reply holds no error message" : text);
}

} // namespace

Outcome<std::string> EnrollClient::login(const std::string& user, std::string& password) {
    std::string body = json{{"user", user}, {"password", password}}.dump(
        -1, ' ', false, json::error_handler_t::replace);
    auto http = post("/v1/login", body, "");
    OPENSSL_cleanse(body.data(), body.size());
    if (!http) {
        return http.error();
    }
    if (http->status != 200) {
        return Failure{status_failure("login", http->status, http->body)};
    }
    const json j = json::parse(http->body, nullptr, false);
    if (j.is_discarded()) {
        return Failure{"the login reply is not JSON"};
    }
    if (!j.is_object() || !j.contains("token") || !j["token"].is_string() ||
        j["token"].get<std::string>().empty()) {
        return Failure{"the login reply is not the expected JSON (no \"token\" string)"};
    }
    return j["token"].get<std::string>();
}

Outcome<ServiceReply> EnrollClient::certificate_reply(const char* what, HttpReply& http) {
    if (http.status != 200) {
        return Failure{status_failure(what, http.status, http.body)};
    }
    const json j = json::parse(http.body, nullptr, false);
    if (j.is_discarded()) {
        return Failure{std::string("the ") + what + " reply is not JSON"};
    }
    if (!j.is_object()) {
        return Failure{std::string("the ") + what +
                       " reply is not the expected JSON (not a JSON object)"};
    }
    ServiceReply out;
    for (auto [key, field] :
         {std::pair{"address", &out.reply.address},
          std::pair{"certificate", &out.reply.certificate}, std::pair{"ca", &out.reply.ca}}) {
        if (!j.contains(key) || !j[key].is_string()) {
            return Failure{std::string("the ") + what + " reply is not the expected JSON (no \"" +
                           key + "\" string)"};
        }
        *field = j[key].get<std::string>();
    }
    // Optional: only a certificate with an IPv4 address has it.
    if (j.contains("ipv4")) {
        if (!j["ipv4"].is_string()) {
            return Failure{std::string("the ") + what +
                           " reply is not the expected JSON (\"ipv4\" is not a string)"};
        }
        out.reply.ipv4 = j["ipv4"].get<std::string>();
    }
    out.server_chain = std::move(http.chain);
    return out;
}

Outcome<ServiceReply> EnrollClient::enroll(const std::string& token, const std::string& csr,
                                           const std::string& request, const std::string& ipv4) {
    json fields{{"csr", csr}, {"request", request}};
    if (!ipv4.empty()) {
        fields["ipv4"] = ipv4;
    }
    const std::string body = fields.dump();
    auto http = post("/v1/enroll", body, token);
    if (!http) {
        return http.error();
    }
    return certificate_reply("enrollment", *http);
}

Outcome<ServiceReply> EnrollClient::renew(const std::string& csr) {
    const std::string body = json{{"csr", csr}}.dump();
    auto http = post("/v1/renew", body, "");
    if (!http) {
        return http.error();
    }
    return certificate_reply("renewal", *http);
}

Outcome<std::size_t> EnrollClient::confirm() {
    auto http = post("/v1/confirm", "{}", "");
    if (!http) {
        return http.error();
    }
    if (http->status != 200) {
        return Failure{status_failure("confirm", http->status, http->body)};
    }
    const json j = json::parse(http->body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("retired") ||
        !j["retired"].is_number_unsigned()) {
        return Failure{"the confirm reply is not the expected JSON (no \"retired\" number)"};
    }
    return j["retired"].get<std::size_t>();
}

} // namespace enftun::keygen
