// OpenMetricsWriter: builds OpenMetrics text (the exposition format of
// Prometheus, https://prometheus.io/docs/specs/om/open_metrics_spec/), pure:
// no I/O. Both daemons render `metrics` requests and their metrics files
// with it.
//
//   # TYPE enftun_tun_bytes counter
//   # UNIT enftun_tun_bytes bytes
//   # HELP enftun_tun_bytes Bytes through the TUN device.
//   enftun_tun_bytes_total{direction="rx"} 1234
//   ...
//   # EOF
//
// Only the types gauge and counter are written: node_exporter's textfile
// collector reads the older Prometheus text format, which has no info or
// stateset type (and ignores the "# UNIT" and "# EOF" lines as comments).
// A counter family is named without "_total"; its samples get it.
//
// Names are the program's constants: a name or label name that is not
// valid is a programming error (assert). Label values and help text are
// escaped, so they may hold anything.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace enftun::control {

enum class MetricType { Gauge, Counter };

struct Label {
    std::string_view name;
    std::string_view value;
};

class OpenMetricsWriter {
public:
    // Starts a family. Each family is written once, its samples right after
    // it (OpenMetrics forbids interleaving). A unit ("seconds", "bytes")
    // must be the last part of the name (enftun_heartbeat_rtt_seconds).
    void family(std::string_view name, MetricType type, std::string_view help,
                std::string_view unit = {});
    // A sample of the current family.
    void sample(double value, std::initializer_list<Label> labels = {});
    void sample(std::uint64_t value, std::initializer_list<Label> labels = {});
    // The text so far and "# EOF".
    std::string finish();

private:
    void sample_name(std::initializer_list<Label> labels);

    std::string out_;
    std::string name_;
    MetricType type_ = MetricType::Gauge;
};

// OpenMetrics spelling of a number: the shortest text that reads back as
// the same double, "NaN", "+Inf" or "-Inf".
std::string format_metric_value(double value);

// [a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]*.
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

// Escapes backslash, double quote and newline (label values, help text).
std::string escape_metric_text(std::string_view text);

} // namespace enftun::control
