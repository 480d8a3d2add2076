#include "enftun/control/openmetrics.hpp"

#include <cassert>
#include <charconv>
#include <cmath>

namespace enftun::control {

namespace {

bool name_char(char c, bool first, bool colon) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (alpha || (colon && c == ':')) {
        return true;
    }
    return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view name, bool colon) {
    if (name.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (!name_char(name[i], i == 0, colon)) {
            return false;
        }
    }
    return true;
}

const char* type_name(MetricType type) {
    return type == MetricType::Counter ? "counter" : "gauge";
}

[[maybe_unused]] bool ends_with_unit(std::string_view name, std::string_view unit) {
    return name.size() > unit.size() + 1 && name.ends_with(unit) &&
           name[name.size() - unit.size() - 1] == '_';
}

} // namespace

bool valid_metric_name(std::string_view name) {
    return valid_name(name, true);
}

bool valid_label_name(std::string_view name) {
    return valid_name(name, false);
}

std::string escape_metric_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_metric_value(double value) {
    if (std::isnan(value)) {
        return "NaN";
    }
    if (std::isinf(value)) {
        return value > 0 ? "+Inf" : "-Inf";
    }
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    assert(ec == std::errc());
    return std::string(buf, end);
}

void OpenMetricsWriter::family(std::string_view name, MetricType type, std::string_view help,
                               std::string_view unit) {
    assert(valid_metric_name(name));
    assert(unit.empty() || ends_with_unit(name, unit));
    assert(type != MetricType::Counter || !name.ends_with("_total"));
    name_ = name;
    type_ = type;
    out_ += "# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type_name(type);
    out_ += '\n';
    if (!unit.empty()) {
        out_ += "# UNIT ";
        out_ += name;
        out_ += ' ';
        out_ += unit;
        out_ += '\n';
    }
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += escape_metric_text(help);
    out_ += '\n';
}

void OpenMetricsWriter::sample_name(std::initializer_list<Label> labels) {
    assert(!name_.empty());
    out_ += name_;
    if (type_ == MetricType::Counter) {
        out_ += "_total";
    }
    if (labels.size() == 0) {
        return;
    }
    out_ += '{';
    bool first = true;
    for (const Label& label : labels) {
        assert(valid_label_name(label.name));
        if (!first) {
            out_ += ',';
        }
        first = false;
        out_ += label.name;
        out_ += "=\"";
        out_ += escape_metric_text(label.value);
        out_ += '"';
    }
    out_ += '}';
}

void OpenMetricsWriter::sample(double value, std::initializer_list<Label> labels) {
    sample_name(labels);
    out_ += ' ';
    out_ += format_metric_value(value);
    out_ += '\n';
}

void OpenMetricsWriter::sample(std::uint64_t value, std::initializer_list<Label> labels) {
    sample_name(labels);
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
}

std::string OpenMetricsWriter::finish() {
    out_ += "# EOF\n";
    name_.clear();
    return std::move(out_);
}

} // namespace enftun::control
