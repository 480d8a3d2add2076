#include "terminal.hpp"

#include "enftun/util/unique_fd.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>

namespace enftun::keygen {

namespace {

constexpr std::size_t kMaxLine = 4096;

Outcome<std::string> read_line(int fd) {
    std::string line;
    char ch = 0;
    while (line.size() < kMaxLine) {
        const ssize_t n = ::read(fd, &ch, 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (line.empty()) {
                return Failure{"no answer (end of input)"};
            }
            break;
        }
        if (ch == '\n') {
            break;
        }
        line += ch;
    }
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    return line;
}

Outcome<UniqueFd> open_tty(const char* instead) {
    UniqueFd fd(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) {
        return Failure{std::string("no terminal to ask on (") + std::strerror(errno) + "): use " +
                       instead};
    }
    return fd;
}

void say(int fd, const std::string& text) {
    [[maybe_unused]] const ssize_t n = ::write(fd, text.data(), text.size());
}

} // namespace

void wipe(std::string& secret) {
    if (!secret.empty()) {
        OPENSSL_cleanse(secret.data(), secret.size());
    }
    secret.clear();
}

Outcome<bool> confirm(const std::string& question) {
    auto tty = open_tty("--yes to go on without confirming");
    if (!tty) {
        return tty.error();
    }
    say(tty->get(), question + " [y/N] ");
    auto answer = read_line(tty->get());
    if (!answer) {
        return false;
    }
    return *answer == "y" || *answer == "Y" || *answer == "yes";
}

Outcome<std::string> ask(const std::string& prompt, bool echo) {
    auto tty = open_tty(echo ? "--user" : "--password-file");
    if (!tty) {
        return tty.error();
    }
    termios saved{};
    const bool is_tty = ::tcgetattr(tty->get(), &saved) == 0;
    if (!echo && is_tty) {
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(tty->get(), TCSAFLUSH, &quiet);
    }
    say(tty->get(), prompt);
    auto line = read_line(tty->get());
    if (!echo && is_tty) {
        ::tcsetattr(tty->get(), TCSAFLUSH, &saved);
        say(tty->get(), "\n");
    }
    if (line && line->empty()) {
        return Failure{"empty answer"};
    }
    return line;
}

Outcome<std::string> read_password_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return Failure{"password file " + path + ": " + std::strerror(errno)};
    }
    auto line = read_line(fd.get());
    if (!line || line->empty()) {
        return Failure{"password file " + path + " is empty"};
    }
    return line;
}

} // namespace enftun::keygen
