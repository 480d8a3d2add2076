#include "enftun/control/metrics_file.hpp"

#include "enftun/log/log.hpp"
#include "enftun/util/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace enftun::control {

namespace {

std::string temp_template(const std::string& path) {
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    // A leading dot and no ".prom" suffix: the textfile collector skips it.
    return dir + "." + name + ".XXXXXX";
}

Status write_all(int fd, std::string_view content) {
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return make_error(Errc::System, "write", errno);
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

} // namespace

Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode,
                         bool durable) {
    std::string tmpl = temp_template(path);
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
    if (!fd.valid()) {
        return make_error(Errc::System, "mkstemp", errno);
    }
    Status st = write_all(fd.get(), content);
    if (st && ::fchmod(fd.get(), mode) != 0) {
        st = make_error(Errc::System, "fchmod", errno);
    }
    if (st && durable && ::fsync(fd.get()) != 0) {
        st = make_error(Errc::System, "fsync", errno);
    }
    if (st && ::close(fd.release()) != 0) {
        st = make_error(Errc::System, "close", errno);
    }
    if (st && ::rename(name.data(), path.c_str()) != 0) {
        st = make_error(Errc::System, "rename", errno);
    }
    if (!st) {
        ::unlink(name.data());
    }
    return st;
}

MetricsFile::MetricsFile(loop::Loop& loop, std::string path, Render render,
                         std::uint64_t interval_ms)
    : path_(std::move(path)), render_(std::move(render)), interval_ms_(interval_ms),
      timer_(loop, [this] {
          write_now();
          timer_.start(interval_ms_);
      }) {}

MetricsFile::~MetricsFile() {
    if (writes_ > 0) {
        ::unlink(path_.c_str());
    }
}

void MetricsFile::start() {
    write_now();
    timer_.start(interval_ms_);
    timer_.unref();
}

void MetricsFile::write_now() {
    // Not fsync'ed: the figures are replaced every few seconds, and a file
    // torn by a power cut is replaced by the next write; an fsync per
    // interval would only wear a device's flash.
    Status st = write_file_atomic(path_, render_(), 0644, false);
    if (!st) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "metrics file %s: %s: %s", path_.c_str(),
                               st.error().what, std::strerror(st.error().sys));
        return;
    }
    ++writes_;
}

} // namespace enftun::control
