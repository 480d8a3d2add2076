#include "enftun/router/failure_summary.hpp"

#include <algorithm>

namespace enftun::router {

void FailureSummary::record(const std::string& source, const char* reason, std::uint64_t now_ms) {
    if (total_ == 0) {
        window_start_ = now_ms;
    }
    ++total_;
    auto r = std::find_if(by_reason_.begin(), by_reason_.end(),
                          [reason](const auto& e) { return e.first == reason; });
    if (r != by_reason_.end()) {
        ++r->second;
    } else if (by_reason_.size() < opts_.max_reasons) {
        by_reason_.emplace_back(reason, 1);
    } else {
        ++other_reasons_;
    }
    if (auto it = by_source_.find(source); it != by_source_.end()) {
        ++it->second;
    } else if (by_source_.size() < opts_.max_sources) {
        by_source_.emplace(source, 1);
    } else {
        ++others_;
    }
}

std::optional<std::string> FailureSummary::take(std::uint64_t now_ms) {
    if (total_ == 0 || now_ms - window_start_ < opts_.interval_ms) {
        return std::nullopt;
    }
    std::string line = std::to_string(total_) + " handshake" + (total_ == 1 ? "" : "s") +
                       " failed in the last " + std::to_string((now_ms - window_start_) / 1000) +
                       " s (";
    for (std::size_t i = 0; i < by_reason_.size(); ++i) {
        line +=
            (i == 0 ? "" : ", ") + by_reason_[i].first + " " + std::to_string(by_reason_[i].second);
    }
    if (other_reasons_ > 0) {
        line += ", other reasons " + std::to_string(other_reasons_);
    }
    line += "); top sources";
    std::vector<std::pair<std::string, std::uint64_t>> sources(by_source_.begin(),
                                                               by_source_.end());
    std::size_t n = std::min(opts_.top, sources.size());
    std::partial_sort(sources.begin(), sources.begin() + static_cast<std::ptrdiff_t>(n),
                      sources.end(), [](const auto& a, const auto& b) {
                          return a.second != b.second ? a.second > b.second : a.first < b.first;
                      });
    for (std::size_t i = 0; i < n; ++i) {
        line += (i == 0 ? " " : ", ") + sources[i].first + " (" +
                std::to_string(sources[i].second) + ")";
    }
    if (others_ > 0) {
        line += ", others (" + std::to_string(others_) + ")";
    }
    total_ = 0;
    others_ = 0;
    other_reasons_ = 0;
    by_source_.clear();
    by_reason_.clear();
    return line;
}

} // namespace enftun::router
