// MetricsFile: writes the daemon's OpenMetrics text to a file every few
// seconds, for node_exporter's textfile collector (`tun.metrics_file`,
// `router.metrics_file`), so no HTTP listener is needed. Each write is a
// temp file in the same folder and a rename: the collector never reads a
// half-written file. The file is removed when the MetricsFile is destroyed
// (a clean exit), so a stopped daemon leaves no figures that look live.
//
// Lifetime: the Loop must outlive it; its timer does not keep the loop
// running (unref).
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/util/result.hpp"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace enftun::control {

// Replaces the file at path by `content`, atomically: a temp file
// ".NAME.XXXXXX" in the same folder (mkstemp), mode `mode`, optionally
// fsync'ed, renamed over path.
// Errors: System with the errno of the failing call (the temp file is
// removed).
Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode,
                         bool durable);

class MetricsFile {
public:
    using Render = std::function<std::string()>;
    static constexpr std::uint64_t kDefaultIntervalMs = 5000;

    MetricsFile(loop::Loop& loop, std::string path, Render render,
                std::uint64_t interval_ms = kDefaultIntervalMs);
    ~MetricsFile();
    MetricsFile(const MetricsFile&) = delete;
    MetricsFile& operator=(const MetricsFile&) = delete;

    // Writes now, then every interval. A failed write is logged (rate
    // limited) and tried again at the next tick.
    void start();
    std::uint64_t writes() const { return writes_; }

private:
    void write_now();

    std::string path_;
    Render render_;
    std::uint64_t interval_ms_;
    loop::Timer timer_;
    std::uint64_t writes_ = 0;
};

} // namespace enftun::control
