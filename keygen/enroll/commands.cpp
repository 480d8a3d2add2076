#include "enroll/commands.hpp"

#include "common/atomic_file.hpp"
#include "common/ipv4.hpp"
#include "enroll/ca.hpp"
#include "enroll/password.hpp"
#include "enroll/registry.hpp"
#include "enroll/request.hpp"
#include "enroll/state.hpp"

#include <openssl/crypto.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>

namespace enftun::enroll {

namespace {

constexpr std::size_t kMaxPassword = 1024;

int fail(const std::string& message) {
    std::fprintf(stderr, "enftun-enroll: %s\n", message.c_str());
    return 1;
}

int usage_error(const std::string& message) {
    std::fprintf(stderr, "enftun-enroll: %s (see enftun-enroll --help)\n", message.c_str());
    return 2;
}

void wipe(std::string& s) {
    if (!s.empty()) {
        OPENSSL_cleanse(s.data(), s.size());
    }
    s.clear();
}

// One line from stdin; without echo when stdin is a terminal.
bool read_password_line(const char* prompt, std::string& out) {
    const bool tty = ::isatty(STDIN_FILENO) == 1;
    termios saved{};
    if (tty) {
        std::fprintf(stderr, "%s", prompt);
        ::tcgetattr(STDIN_FILENO, &saved);
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    const bool ok = static_cast<bool>(std::getline(std::cin, out));
    if (tty) {
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        std::fprintf(stderr, "\n");
    }
    return ok;
}

keygen::Outcome<std::string> read_password(const std::string& password_file) {
    std::string pw;
    if (!password_file.empty()) {
        auto text = keygen::read_file(password_file, kMaxPassword + 1);
        if (!text) {
            return text.error();
        }
        pw = std::move(*text);
        if (!pw.empty() && pw.back() == '\n') {
            pw.pop_back();
        }
    } else {
        if (!read_password_line("Password: ", pw)) {
            return keygen::Failure{"no password given"};
        }
        if (::isatty(STDIN_FILENO) == 1) {
            std::string again;
            const bool same = read_password_line("Again: ", again) && again == pw;
            wipe(again);
            if (!same) {
                wipe(pw);
                return keygen::Failure{"the passwords differ"};
            }
        }
    }
    if (pw.empty() || pw.size() > kMaxPassword) {
        wipe(pw);
        return keygen::Failure{"the password must be 1 to 1024 bytes"};
    }
    return pw;
}

int user_add(const EnrollConfig& cfg, const std::vector<std::string>& args) {
    std::string password_file;
    if (args.size() == 5 && args[3] == "--password-file") {
        password_file = args[4];
    } else if (args.size() != 3) {
        return usage_error("usage: user add NAME [--password-file FILE]");
    }
    const std::string& name = args[2];
    if (!is_valid_user_name(name)) {
        return usage_error("user name must be 1 to 64 of A-Z a-z 0-9 . _ - @ +");
    }
    auto password = read_password(password_file);
    if (!password) {
        return fail(password.error().message);
    }
    auto hash = hash_password(*password);
    wipe(*password);
    if (!hash) {
        return fail(hash.error().message);
    }
    // The users file shares the state's lock: two `user add`s at once must
    // not lose one of the two logins.
    auto lock = StateLock::acquire(cfg.state_file);
    if (!lock) {
        return fail(lock.error().message);
    }
    auto users = load_users(cfg.users_file);
    if (!users) {
        return fail(users.error().message);
    }
    const bool existed = users->count(name) != 0;
    (*users)[name] = *hash;
    if (auto saved = save_users(cfg.users_file, *users); !saved) {
        return fail(saved.error().message);
    }
    std::printf("%s user %s\n", existed ? "changed the password of" : "added", name.c_str());
    return 0;
}

int user_del(const EnrollConfig& cfg, const std::vector<std::string>& args) {
    if (args.size() != 3) {
        return usage_error("usage: user del NAME");
    }
    auto lock = StateLock::acquire(cfg.state_file);
    if (!lock) {
        return fail(lock.error().message);
    }
    auto users = load_users(cfg.users_file);
    if (!users) {
        return fail(users.error().message);
    }
    if (users->erase(args[2]) == 0) {
        return fail("no user " + args[2]);
    }
    if (auto saved = save_users(cfg.users_file, *users); !saved) {
        return fail(saved.error().message);
    }
    std::printf("deleted user %s\n", args[2].c_str());
    return 0;
}

std::string utc_date(std::int64_t t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

int list(const EnrollConfig& cfg, const std::vector<std::string>& args) {
    if (args.size() != 1) {
        return usage_error("usage: list");
    }
    auto state = load_state(cfg.state_file);
    if (!state) {
        return fail(state.error().message);
    }
    const std::int64_t now = std::time(nullptr);
    std::printf("%-39s %-15s %-20s %-32s %-20s %s\n", "ADDRESS", "IPV4", "USER", "SERIAL",
                "NOT_AFTER", "STATUS");
    for (const auto& e : state->entries) {
        const char* status = e.revoked ? "revoked" : e.not_after < now ? "expired" : "valid";
        const std::string ipv4 = e.ipv4 ? keygen::format_ipv4(*e.ipv4) : "-";
        std::printf("%-39s %-15s %-20s %-32s %-20s %s\n", e.address.to_string().c_str(),
                    ipv4.c_str(), e.user.c_str(), e.serial.c_str(), utc_date(e.not_after).c_str(),
                    status);
    }
    return 0;
}

// ADDRESS is a device's IPv6 address or the IPv4 address its certificates
// carry: either revokes the certificates bound to it.
int revoke(const EnrollConfig& cfg, const std::vector<std::string>& args) {
    if (args.size() != 2) {
        return usage_error("usage: revoke ADDRESS|IPV4");
    }
    const auto ipv6 = proto::Ipv6Addr::parse(args[1]);
    std::optional<proto::Ipv4Addr> ipv4;
    if (auto parsed = keygen::parse_ipv4_addr(args[1]); !ipv6 && parsed) {
        ipv4 = *parsed;
    }
    if (!ipv6 && !ipv4) {
        return usage_error(args[1] + " is not an IPv6 or IPv4 address");
    }
    auto ca = Ca::load(cfg.ca_cert_file, cfg.ca_key_file);
    if (!ca) {
        return fail(ca.error().message);
    }
    Registry registry(cfg, *ca);
    auto revoked = ipv6 ? registry.revoke(*ipv6) : registry.revoke(*ipv4);
    if (!revoked) {
        return fail(revoked.error().message);
    }
    const std::string name = ipv6 ? ipv6->to_string() : keygen::format_ipv4(*ipv4);
    std::printf("revoked %zu certificate(s) of %s; %s rewritten\n", *revoked, name.c_str(),
                cfg.crl_file.c_str());
    return 0;
}

} // namespace

int run_command(const EnrollConfig& cfg, const std::vector<std::string>& args) {
    const std::string& cmd = args.front();
    if (cmd == "user" && args.size() >= 2 && args[1] == "add") {
        return user_add(cfg, args);
    }
    if (cmd == "user" && args.size() >= 2 && args[1] == "del") {
        return user_del(cfg, args);
    }
    if (cmd == "list") {
        return list(cfg, args);
    }
    if (cmd == "revoke") {
        return revoke(cfg, args);
    }
    return usage_error("unknown command: " + cmd);
}

} // namespace enftun::enroll
