#include "enftun/router/churn_log.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace enftun::router {

void ChurnLog::start_over(std::uint64_t now_ms) {
    window_start_ = now_ms;
    started_ = true;
    churning_.clear();
    for (const auto& [name, c] : clients_) {
        if (c.suppressed > 0) {
            churning_.insert(name); // at most max_clients
        }
    }
    clients_.clear();
    repeats_used_ = 0;
    suppressed_ = 0;
    std::fill(std::begin(by_kind_), std::end(by_kind_), 0);
    untracked_ = 0;
}

bool ChurnLog::allow(const std::string& client, Kind kind, std::uint64_t now_ms) {
    // What was suppressed keeps its window until take() has summarised it.
    if (!started_ || (suppressed_ == 0 && now_ms - window_start_ >= opts_.interval_ms)) {
        start_over(now_ms);
    }
    auto it = clients_.find(client);
    if (it == clients_.end() && clients_.size() < opts_.max_clients) {
        clients_.emplace(client, Client{1, 0});
        return true; // the first line of a client in this interval
    }
    const unsigned share = churning_.contains(client) ? opts_.per_churning : opts_.per_client;
    if (it != clients_.end() && it->second.lines >= share) {
        // over its own share: suppressed below
    } else if (repeats_used_ < opts_.repeats) {
        ++repeats_used_;
        if (it != clients_.end()) {
            ++it->second.lines;
        }
        return true;
    }
    ++suppressed_;
    ++by_kind_[static_cast<int>(kind)];
    if (it != clients_.end()) {
        ++it->second.suppressed;
    } else {
        ++untracked_;
    }
    return false;
}

std::optional<std::string> ChurnLog::take(std::uint64_t now_ms) {
    if (suppressed_ == 0 || now_ms - window_start_ < opts_.interval_ms) {
        return std::nullopt;
    }
    std::vector<std::pair<std::string, std::uint64_t>> top;
    for (const auto& [name, c] : clients_) {
        if (c.suppressed > 0) {
            top.emplace_back(name, c.suppressed);
        }
    }
    const std::size_t clients = top.size();
    std::string line = "session lines suppressed in the last " +
                       std::to_string((now_ms - window_start_) / 1000) +
                       " s: " + std::to_string(suppressed_) + " (up " +
                       std::to_string(by_kind_[static_cast<int>(Kind::Up)]) + ", replaced " +
                       std::to_string(by_kind_[static_cast<int>(Kind::Replaced)]) + ", closed " +
                       std::to_string(by_kind_[static_cast<int>(Kind::Closed)]) + ") from " +
                       std::to_string(clients) + (clients == 1 ? " client" : " clients") +
                       (untracked_ > 0 ? " and untracked ones" : "") + "; most";
    const std::size_t n = std::min(opts_.top, top.size());
    std::partial_sort(top.begin(), top.begin() + static_cast<std::ptrdiff_t>(n), top.end(),
                      [](const auto& a, const auto& b) {
                          return a.second != b.second ? a.second > b.second : a.first < b.first;
                      });
    for (std::size_t i = 0; i < n; ++i) {
        line += (i == 0 ? " " : ", ") + top[i].first + " (" + std::to_string(top[i].second) + ")";
    }
    if (untracked_ > 0) {
        line +=
            (n == 0 ? " " : ", ") + std::string("untracked (") + std::to_string(untracked_) + ")";
    }
    start_over(now_ms);
    return line;
}

} // namespace enftun::router
