// enftun-keygen: puts this device on the network. Wiring only: the command
// line (args), the client config, the summary and prompt (terminal), then
// one of four flows:
//
//   enroll   new key -> login -> /v1/enroll -> check reply -> write files
//   renew    new key -> /v1/renew (mutual TLS, current identity) -> same,
//            then /v1/confirm with the new pair (a failure: a warning)
//   offline  new key -> sign with --ca-cert/--ca-key -> write files
//   csr-out  new key -> write the key and a CSR
//
// Every failure is one line on stderr and exit 1 (usage: exit 2), and
// nothing is written before the reply has passed every check. First of all,
// the identity's run lock is taken (run_lock.hpp: a second run at once
// fails), and a replacement of the key and certificate that a crash
// interrupted is completed (identity_repair.hpp).
#include "args.hpp"
#include "cert_profile.hpp"
#include "enroll_client.hpp"
#include "identity_files.hpp"
#include "identity_repair.hpp"
#include "key_material.hpp"
#include "reply_check.hpp"
#include "run_lock.hpp"
#include "terminal.hpp"
#include "test_pause.hpp"
#include "tpm_key.hpp"

#include "enftun/config/client_config.hpp"
#include "enftun/tls/identity.hpp"

#include <sys/prctl.h>
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace enftun::keygen;
using enftun::config::ClientConfig;

// Everything the flows share, gathered before any key is made.
struct Plan {
    const Options* options = nullptr;
    const ClientConfig* config = nullptr;
    Ownership owner;
    std::string server;
    std::vector<enftun::tls::X509Ptr> cas; // remote.ca_cert_file
    const KeySource* keys = nullptr;       // in software, or in the TPM (--tpm)
    enftun::tls::PkeyPtr current_key;      // renew with --tpm: the TPM-held key to log in with
};

std::string server_url(const Options& o, const ClientConfig& c) {
    if (!o.server.empty()) {
        return o.server;
    }
    if (c.enroll.url) {
        return *c.enroll.url;
    }
    return default_server_url(c.remote.hosts.front());
}

std::string files_line(const Plan& p) {
    const auto& id = p.config->identity;
    std::string files = id.key_file + (p.keys->in_tpm() ? " (TPM key blob, 0600)" : " (0600)");
    if (p.options->mode == Options::Mode::CsrOut) {
        files += ", " + p.options->csr_out;
    } else {
        files += ", " + id.cert_file + " (0644)";
        if (p.options->mode != Options::Mode::OfflineSign) {
            files += ", and " + p.config->remote.ca_cert_file + " if the service's CA changed";
        }
    }
    return files + "; owner " + p.owner.name;
}

// ", IPv4 auto" for the summary; "" without --ipv4.
std::string ipv4_note(const Options& o) {
    return o.ipv4 ? ", IPv4 " + o.ipv4->to_string() : "";
}

void print_summary(const Plan& p, const std::string& user) {
    const Options& o = *p.options;
    switch (o.mode) {
    case Options::Mode::Enroll:
        std::printf("server:  %s\nuser:    %s\nrequest: %s%s\n", p.server.c_str(), user.c_str(),
                    o.request.to_string().c_str(), ipv4_note(o).c_str());
        break;
    case Options::Mode::Renew:
        std::printf("server:  %s\nrequest: renew %s\n", p.server.c_str(),
                    p.config->identity.cert_file.c_str());
        break;
    case Options::Mode::OfflineSign:
        std::printf("CA:      %s\nrequest: %s%s for %ld days\n", o.ca_cert_file.c_str(),
                    o.request.to_string().c_str(), ipv4_note(o).c_str(), o.days);
        break;
    default:
        std::printf("request: %s (certificate request only)\n", o.request.to_string().c_str());
        break;
    }
    std::printf("writes:  %s\n", files_line(p).c_str());
    std::fflush(stdout);
}

Outcome<void> go_ahead(const Plan& p, const std::string& user) {
    print_summary(p, user);
    if (p.options->yes) {
        return {};
    }
    auto ok = confirm("Continue?");
    if (!ok) {
        return ok.error();
    }
    if (!*ok) {
        return Failure{"stopped: nothing was written"};
    }
    return {};
}

Outcome<void> write_checked(const Plan& p, const SecretPem& key, CheckedReply& checked) {
    IdentityWrite w;
    w.key_file = p.config->identity.key_file;
    w.key = &key;
    w.cert_file = p.config->identity.cert_file;
    w.cert_pem = cert_to_pem(checked.certificate.get());
    if (checked.new_ca) {
        w.ca_file = p.config->remote.ca_cert_file;
        w.ca_pem = cert_to_pem(checked.new_ca.get());
    }
    if (auto st = write_identity(w, p.owner.owner); !st) {
        return st.error();
    }
    const std::string ipv4 = checked.ipv4 ? " (IPv4 " + format_ipv4(*checked.ipv4) + ")" : "";
    std::printf("address %s%s: wrote %s and %s%s (valid until %s)\n",
                checked.address.to_string().c_str(), ipv4.c_str(), w.key_file.c_str(),
                w.cert_file.c_str(), checked.new_ca ? (" and the new CA " + w.ca_file).c_str() : "",
                format_time(X509_get0_notAfter(checked.certificate.get())).c_str());
    return {};
}

// A TPM without a resource manager (swtpm; a bare /dev/tpm0) holds three
// objects: with a running enftun's key, the new key and the current one
// (and its parent while it loads) do not fit at once. Renewal with --tpm
// therefore keeps only the new key's public half once the CSR is signed
// and its blob taken, and only then loads the current key to log in with.
Outcome<void> swap_in_current_key(Plan& p, enftun::tls::PkeyPtr& key) {
    auto pub = public_key_of(key.get());
    if (!pub) {
        return pub.error();
    }
    key = std::move(*pub); // flushes the new key from the TPM
    auto current = p.keys->load_current(p.config->identity.key_file);
    if (!current) {
        return Failure{"--renew: the current key " + p.config->identity.key_file + ": " +
                       current.error().message};
    }
    p.current_key = std::move(*current);
    return {};
}

// After a renewal is stored: the new identity tells the service it is in
// use (POST /v1/confirm, mutual TLS with the new pair), and the service
// retires the older certificates of the address. A failure is a warning:
// the new pair is stored and works; the old certificate stays valid at the
// router until the next renewal (which confirms too) or its end. so: the
// renewal's options, its client identity replaced here.
void confirm_renewal(Plan& p, ServiceOptions so, const enftun::proto::Ipv6Addr& address) {
    so.client_cert_file = p.config->identity.cert_file;
    so.client_key_file = p.config->identity.key_file;
    so.client_key = nullptr;
    if (p.keys->in_tpm()) {
        p.current_key.reset(); // the old key leaves the TPM first (swap_in_current_key)
        auto current = p.keys->load_current(p.config->identity.key_file);
        if (!current) {
            std::fprintf(stderr,
                         "enftun-keygen: warning: the new certificate is stored, but the service "
                         "was not told it is in use (the new key: %s): the old certificate stays "
                         "valid until the next renewal or its end\n",
                         current.error().message.c_str());
            return;
        }
        p.current_key = std::move(*current);
        so.client_key = p.current_key.get();
    }
    EnrollClient client(so);
    auto retired = client.confirm();
    if (!retired) {
        std::fprintf(stderr,
                     "enftun-keygen: warning: the new certificate is stored, but the service was "
                     "not told it is in use (%s): the old certificate stays valid until the next "
                     "renewal or its end\n",
                     retired.error().message.c_str());
        return;
    }
    std::printf("retired: %zu older certificate(s) of %s at the service\n", *retired,
                address.to_string().c_str());
}

// The device's new key and what its key file will hold.
struct NewKey {
    enftun::tls::PkeyPtr key;
    SecretPem pem;
};

Outcome<NewKey> fresh_key(const Plan& p) {
    auto key = p.keys->make();
    if (!key) {
        return key.error();
    }
    auto pem = p.keys->pem(key->get());
    if (!pem) {
        return pem.error();
    }
    return NewKey{std::move(*key), std::move(*pem)};
}

// A renewal's key: the pending one of a renewal whose answer was lost
// (the service answers the same key with the same certificate; a fresh key
// it would refuse: the old certificate was superseded), else a fresh one,
// kept as pending before the request leaves. A pending key that does not
// load is an error, and kept: if the service recorded its renewal, only
// that key renews the device again (a fresh one gets 403 superseded), so
// replacing it on a passing failure (a busy TPM) would strand the device.
Outcome<NewKey> renewal_key(const Plan& p) {
    const std::string& key_file = p.config->identity.key_file;
    auto pending = read_pending_key(key_file);
    if (!pending) {
        return Failure{"--renew: " + pending.error().message};
    }
    if (*pending) {
        auto key = p.keys->load_made(pending_key_file(key_file));
        if (key) {
            std::printf("key:     %s, kept from a renewal whose answer did not arrive\n",
                        pending_key_file(key_file).c_str());
            return NewKey{std::move(*key), std::move(**pending)};
        }
        return Failure{"--renew: " + pending_key_file(key_file) +
                       " (the new key of a renewal whose answer did not arrive) does not load (" +
                       key.error().message +
                       "); it is kept: fix the cause and run again (if the file is lost for "
                       "good, remove it and enroll again)"};
    }
    auto made = fresh_key(p);
    if (!made) {
        return made;
    }
    if (auto kept = write_pending_key(key_file, made->pem, p.owner.owner); !kept) {
        return kept.error();
    }
    return made;
}

// Login (enroll) or mutual TLS (renew), the request, the reply's checks.
Outcome<void> run_online(Plan& p, const AddressRequest& request, const Ipv4Request* ipv4,
                         std::string user, std::string password) {
    const bool renew = p.options->mode == Options::Mode::Renew;
    auto made = renew ? renewal_key(p) : fresh_key(p);
    if (!made) {
        wipe(password);
        return made.error();
    }
    auto* key = &made->key;
    auto csr = make_csr_pem(key->get(), "enftun device");
    if (!csr) {
        wipe(password);
        return csr.error();
    }
    const SecretPem* pem = &made->pem;
    ServiceOptions so{p.server, p.config->remote.ca_cert_file, "", ""};
    if (renew && p.keys->in_tpm()) {
        if (auto st = swap_in_current_key(p, *key); !st) {
            return st;
        }
    }
    if (renew) {
        so.client_cert_file = p.config->identity.cert_file;
        so.client_key_file = p.config->identity.key_file;
        so.client_key = p.current_key.get(); // null: a key file libcurl reads
    }
    EnrollClient client(so);
    Outcome<ServiceReply> reply = Failure{};
    if (renew) {
        reply = client.renew(*csr);
    } else {
        auto token = client.login(user, password);
        wipe(password);
        if (!token) {
            return token.error();
        }
        reply = client.enroll(*token, *csr, request.to_string(), ipv4 ? ipv4->to_string() : "");
        wipe(*token);
    }
    if (!reply) {
        return reply.error();
    }
    const ReplyContext ctx{&request, key->get(), &p.cas, &reply->server_chain, ipv4};
    auto checked = check_reply(ctx, reply->reply);
    if (!checked) {
        return Failure{"refused the service's reply: " + checked.error().message};
    }
    test_pause("answer");
    // The pending key, if any, becomes the key file (write_identity).
    if (auto st = write_checked(p, *pem, *checked); !st || !renew) {
        return st;
    }
    test_pause("confirm");
    confirm_renewal(p, so, checked->address);
    return {};
}

Outcome<void> run_enroll(Plan& p) {
    std::string user = p.options->user;
    if (user.empty()) {
        auto asked = ask("user: ", true);
        if (!asked) {
            return Failure{"user: " + asked.error().message};
        }
        user = *asked;
    }
    // A password file is read before the prompt, so a bad one fails first.
    const bool from_file = !p.options->password_file.empty();
    auto password =
        from_file ? read_password_file(p.options->password_file) : Outcome<std::string>("");
    if (!password) {
        return Failure{"password: " + password.error().message};
    }
    if (auto st = go_ahead(p, user); !st) {
        wipe(*password);
        return st;
    }
    if (!from_file) {
        password = ask("password for " + user + ": ", false);
        if (!password) {
            return Failure{"password: " + password.error().message};
        }
    }
    const Ipv4Request* ipv4 = p.options->ipv4 ? &*p.options->ipv4 : nullptr;
    return run_online(p, p.options->request, ipv4, user, std::move(*password));
}

Outcome<void> run_renew(Plan& p) {
    const auto& id = p.config->identity;
    auto cert = load_cert_file(id.cert_file);
    auto addr = cert ? device_address(cert->get()) : Outcome<enftun::proto::Ipv6Addr>(cert.error());
    const auto ipv4s = cert ? san_ipv4s(cert->get()) : std::vector<enftun::proto::Ipv4Addr>{};
    if (addr && ipv4s.size() > 1) {
        addr = Failure{"more than one IPv4 address"};
    }
    if (!addr) {
        return Failure{"--renew: " + id.cert_file + " is not a device certificate (" +
                       addr.error().message + ")"};
    }
    // The renewed certificate must name the same addresses, IPv4 included.
    const AddressRequest same{AddressRequest::Kind::Exact, *addr};
    const std::optional<Ipv4Request> same_ipv4 =
        ipv4s.empty() ? std::nullopt
                      : std::optional(Ipv4Request{Ipv4Request::Kind::Exact, ipv4s.front()});
    if (auto st = go_ahead(p, ""); !st) {
        return st;
    }
    return run_online(p, same, same_ipv4 ? &*same_ipv4 : nullptr, "", "");
}

Outcome<void> run_offline(Plan& p) {
    const Options& o = *p.options;
    auto ca = load_certs_file(o.ca_cert_file);
    if (!ca) {
        return Failure{"--ca-cert: " + ca.error().message};
    }
    auto ca_key = load_key_file(o.ca_key_file);
    if (!ca_key) {
        return Failure{"--ca-key: " + ca_key.error().message};
    }
    if (auto st = go_ahead(p, ""); !st) {
        return st;
    }
    auto key = p.keys->make();
    if (!key) {
        return key.error();
    }
    const auto ipv4 = o.ipv4 ? std::optional(o.ipv4->addr) : std::nullopt;
    auto cert =
        sign_device_cert(key->get(), (*ca)[0].get(), ca_key->get(), o.request.addr, ipv4, o.days);
    if (!cert) {
        return cert.error();
    }
    // The same checks as a service's reply: a CA that the config does not
    // trust would give a certificate the router refuses.
    std::vector<enftun::tls::X509Ptr> none;
    const Ipv4Request* asked_ipv4 = o.ipv4 ? &*o.ipv4 : nullptr;
    const ReplyContext ctx{&o.request, key->get(), &p.cas, &none, asked_ipv4};
    const Reply as_reply{o.request.to_string(), cert_to_pem(cert->get()),
                         cert_to_pem((*ca)[0].get()), o.ipv4 ? o.ipv4->to_string() : ""};
    auto checked = check_reply(ctx, as_reply);
    if (!checked) {
        return Failure{"--ca-cert: " + checked.error().message};
    }
    auto pem = p.keys->pem(key->get());
    if (!pem) {
        return pem.error();
    }
    return write_checked(p, *pem, *checked);
}

Outcome<void> run_csr_out(Plan& p) {
    if (auto st = go_ahead(p, ""); !st) {
        return st;
    }
    auto key = p.keys->make();
    if (!key) {
        return key.error();
    }
    auto csr = make_csr_pem(key->get(), p.options->request.to_string());
    if (!csr) {
        return csr.error();
    }
    auto pem = p.keys->pem(key->get());
    if (!pem) {
        return pem.error();
    }
    IdentityWrite w;
    w.key_file = p.config->identity.key_file;
    w.key = &*pem;
    w.csr_file = p.options->csr_out;
    w.csr_pem = *csr;
    if (auto st = write_identity(w, p.owner.owner); !st) {
        return st.error();
    }
    std::printf("wrote %s and the request %s for %s\n", w.key_file.c_str(), w.csr_file.c_str(),
                p.options->request.to_string().c_str());
    return {};
}

Outcome<void> run(const Options& o) {
    auto config = enftun::config::load_client_config(o.config);
    if (!config) {
        return Failure{config.error().message};
    }
    Plan p;
    p.options = &o;
    p.config = &*config;
    auto owner = resolve_owner(o.owner);
    if (!owner) {
        return owner.error();
    }
    p.owner = std::move(*owner);
    p.server = server_url(o, *config);
    auto cas = load_certs_file(config->remote.ca_cert_file);
    if (!cas) {
        return Failure{"remote.ca_cert_file: " + cas.error().message};
    }
    p.cas = std::move(*cas);
    auto keys = KeySource::create(o.tpm, config->identity);
    if (!keys) {
        return keys.error();
    }
    p.keys = &*keys;
    // One run at a time per identity, held until we return (run_lock.hpp).
    auto lock = lock_identity(config->identity.key_file);
    if (!lock) {
        return lock.error();
    }
    // A replacement of the key and certificate that a crash interrupted is
    // completed first (identity_repair.hpp), whatever this run then does.
    auto repaired = repair_identity(config->identity.key_file, config->identity.cert_file, *keys);
    if (!repaired) {
        return repaired.error();
    }
    if (!repaired->done.empty()) {
        std::printf("repair:  %s\n", repaired->done.c_str());
    }
    switch (o.mode) {
    case Options::Mode::Enroll:
        return run_enroll(p);
    case Options::Mode::Renew:
        return run_renew(p);
    case Options::Mode::OfflineSign:
        return run_offline(p);
    default:
        return run_csr_out(p);
    }
}

} // namespace

int main(int argc, char** argv) {
    // No core dump, no ptrace by others: this process holds a private key
    // and a password.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    ::umask(077);
    auto options = parse_args(argc, argv);
    if (!options) {
        std::fprintf(stderr, "enftun-keygen: %s (see enftun-keygen --help)\n",
                     options.error().message.c_str());
        return 2;
    }
    if (options->mode == Options::Mode::Help) {
        print_usage(stdout);
        return 0;
    }
    if (options->mode == Options::Mode::Version) {
        std::printf("enftun-keygen %s\n", ENFTUN_VERSION);
        return 0;
    }
    if (auto st = run(*options); !st) {
        std::fprintf(stderr, "enftun-keygen: %s\n", st.error().message.c_str());
        return 1;
    }
    return 0;
}
