#include "args.hpp"

#include <getopt.h>

#include <charconv>
#include <cstdio>

namespace enftun::keygen {

namespace {

constexpr long kMaxDays = 36500;

enum LongOnly : int {
    kServer = 256,
    kUser,
    kPasswordFile,
    kOwner,
    kYes,
    kRenew,
    kCaCert,
    kCaKey,
    kDays,
    kCsrOut,
    kTpm,
    kIpv4,
    kVersion,
};

const option kOptions[] = {
    {"config", required_argument, nullptr, 'c'},
    {"server", required_argument, nullptr, kServer},
    {"user", required_argument, nullptr, kUser},
    {"password-file", required_argument, nullptr, kPasswordFile},
    {"owner", required_argument, nullptr, kOwner},
    {"yes", no_argument, nullptr, kYes},
    {"renew", no_argument, nullptr, kRenew},
    {"ca-cert", required_argument, nullptr, kCaCert},
    {"ca-key", required_argument, nullptr, kCaKey},
    {"days", required_argument, nullptr, kDays},
    {"csr-out", required_argument, nullptr, kCsrOut},
    {"tpm", no_argument, nullptr, kTpm},
    {"ipv4", required_argument, nullptr, kIpv4},
    {"version", no_argument, nullptr, kVersion},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

struct Seen {
    bool renew = false;
    bool days = false;
    bool network = false; // --server, --user or --password-file
    std::string network_option;
};

Outcome<long> parse_days(const char* text) {
    const std::string_view s(text);
    long v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 1 || v > kMaxDays) {
        return Failure{"--days must be a number of days from 1 to " + std::to_string(kMaxDays) +
                       " (got \"" + std::string(s) + "\")"};
    }
    return v;
}

// Which mode the options name, and whether they fit together.
Outcome<void> pick_mode(Options& o, const Seen& seen) {
    const bool offline = !o.ca_cert_file.empty() || !o.ca_key_file.empty();
    const int modes = int(seen.renew) + int(offline) + int(!o.csr_out.empty());
    if (modes > 1) {
        return Failure{"--renew, --ca-cert/--ca-key and --csr-out exclude each other"};
    }
    if (offline && (o.ca_cert_file.empty() || o.ca_key_file.empty())) {
        return Failure{"--ca-cert and --ca-key go together"};
    }
    if (seen.days && !offline) {
        return Failure{"--days needs --ca-cert and --ca-key"};
    }
    if ((offline || !o.csr_out.empty()) && seen.network) {
        return Failure{seen.network_option + " does not apply offline (--ca-cert, --csr-out)"};
    }
    if (seen.renew && (!o.user.empty() || !o.password_file.empty())) {
        return Failure{
            std::string("--renew authenticates with the current certificate: no --user or "
                        "--password-file")};
    }
    o.mode = seen.renew           ? Options::Mode::Renew
             : offline            ? Options::Mode::OfflineSign
             : !o.csr_out.empty() ? Options::Mode::CsrOut
                                  : Options::Mode::Enroll;
    return {};
}

Outcome<void> take_target(Options& o, int argc, char** argv) {
    const int left = argc - optind;
    if (o.mode == Options::Mode::Renew) {
        if (left != 0) {
            return Failure{std::string("--renew takes no address (it keeps the current one): ") +
                           argv[optind]};
        }
        return {};
    }
    if (left == 0) {
        return Failure{"missing ADDRESS, PREFIX/64 or auto"};
    }
    if (left > 1) {
        return Failure{std::string("unexpected argument: ") + argv[optind + 1]};
    }
    auto req = parse_address_request(argv[optind]);
    if (!req) {
        return req.error();
    }
    if (o.mode != Options::Mode::Enroll && req->kind != AddressRequest::Kind::Exact) {
        return Failure{"offline (--ca-cert, --csr-out) needs an exact address, not " +
                       req->to_string()};
    }
    o.request = std::move(*req);
    return {};
}

// --ipv4 where the mode can carry it: a renewal keeps the current one, a
// CSR carries no address the service reads, offline signing has no pool.
Outcome<void> check_ipv4(const Options& o) {
    if (!o.ipv4) {
        return {};
    }
    switch (o.mode) {
    case Options::Mode::Renew:
        return Failure{"--renew keeps the current certificate's IPv4 address: no --ipv4"};
    case Options::Mode::CsrOut:
        return Failure{"--csr-out writes an IPv6-only request: no --ipv4"};
    case Options::Mode::OfflineSign:
        if (o.ipv4->kind != Ipv4Request::Kind::Exact) {
            return Failure{"offline (--ca-cert) needs an exact --ipv4 address, not auto"};
        }
        return {};
    default:
        return {};
    }
}

} // namespace

Outcome<Options> parse_args(int argc, char** argv) {
    Options o;
    Seen seen;
    optind = 0; // glibc: restart getopt (tests parse several command lines)
    opterr = 0;
    int c = 0;
    while ((c = getopt_long(argc, argv, ":c:h", kOptions, nullptr)) != -1) {
        switch (c) {
        case 'c':
            o.config = optarg;
            break;
        case kServer:
        case kUser:
        case kPasswordFile:
            seen.network = true;
            seen.network_option = c == kServer ? "--server"
                                  : c == kUser ? "--user"
                                               : "--password-file";
            (c == kServer ? o.server : c == kUser ? o.user : o.password_file) = optarg;
            break;
        case kOwner:
            o.owner = optarg;
            break;
        case kYes:
            o.yes = true;
            break;
        case kRenew:
            seen.renew = true;
            break;
        case kCaCert:
            o.ca_cert_file = optarg;
            break;
        case kCaKey:
            o.ca_key_file = optarg;
            break;
        case kDays: {
            auto days = parse_days(optarg);
            if (!days) {
                return days.error();
            }
            o.days = *days;
            seen.days = true;
            break;
        }
        case kCsrOut:
            o.csr_out = optarg;
            break;
        case kTpm:
            o.tpm = true;
            break;
        case kIpv4: {
            auto ipv4 = parse_ipv4_request(optarg);
            if (!ipv4) {
                return Failure{"--ipv4: " + ipv4.error().message};
            }
            o.ipv4 = *ipv4;
            break;
        }
        case kVersion:
            o.mode = Options::Mode::Version;
            return o;
        case 'h':
            o.mode = Options::Mode::Help;
            return o;
        case ':':
            return Failure{std::string("option needs a value: ") + argv[optind - 1]};
        default:
            return Failure{std::string("unknown option: ") + argv[optind - 1]};
        }
    }
    if (o.config.empty()) {
        return Failure{"-c needs a file name"};
    }
    if (auto st = pick_mode(o, seen); !st) {
        return st.error();
    }
    if (!o.server.empty() && o.server.rfind("https://", 0) != 0) {
        return Failure{"--server must be an https:// URL (got \"" + o.server + "\")"};
    }
    if (auto st = take_target(o, argc, argv); !st) {
        return st.error();
    }
    if (auto st = check_ipv4(o); !st) {
        return st.error();
    }
    return o;
}

std::string default_server_url(const std::string& host) {
    const bool ipv6 = host.find(':') != std::string::npos;
    return "https://" + (ipv6 ? "[" + host + "]" : host) + ":8443";
}

void print_usage(std::FILE* out) {
    std::fprintf(
        out,
        "usage: enftun-keygen [-c FILE] [--server URL] [--user NAME] [--password-file F]\n"
        "                     [--owner USER] [--yes] [--tpm] [--ipv4 auto|ADDR]\n"
        "                     ADDRESS|PREFIX/64|auto\n"
        "       enftun-keygen --renew [-c FILE] [--server URL] [--owner USER] [--yes] [--tpm]\n"
        "       enftun-keygen --ca-cert F --ca-key F [-c FILE] [--days N] [--owner USER] [--yes]\n"
        "                     [--ipv4 ADDR] ADDRESS\n"
        "       enftun-keygen --csr-out F [-c FILE] [--owner USER] [--yes] ADDRESS\n"
        "       enftun-keygen --version | --help\n"
        "Makes a new key on this device and gets its certificate and address from the\n"
        "enrollment service (or signs it with a CA at hand, or writes a request only).\n"
        "options:\n"
        "  -c, --config FILE     client config (default %s): identity.key_file,\n"
        "                        identity.cert_file, remote.ca_cert_file, enroll.url\n"
        "  --server URL          enrollment service (default: enroll.url, else\n"
        "                        https://<first remote.hosts>:8443)\n"
        "  --user NAME           login at the service (default: asked)\n"
        "  --password-file F     read the password from F (default: asked, no echo)\n"
        "  --owner USER          owner of the files written (default: enftun if it\n"
        "                        exists, else root)\n"
        "  --yes                 do not ask for confirmation\n"
        "  --renew               new key and certificate for the same address, authenticated\n"
        "                        by the current certificate; once stored, the service is\n"
        "                        told (with the new one) to retire the old ones\n"
        "  --ca-cert F --ca-key F  sign offline with this CA; --days N validity (365)\n"
        "  --csr-out F           write the key and a certificate request to F only\n"
        "  --ipv4 auto|ADDR      also an IPv4 address in the certificate: the next free one\n"
        "                        of the service's ipv4_pool, or that one (offline: ADDR)\n"
        "  --tpm                 make the key inside the TPM of the config's identity.tpm\n"
        "                        and write only its blob (TSS2 PRIVATE KEY) to key_file\n",
        kDefaultConfig);
}

} // namespace enftun::keygen
