// Unit tests for router/session_slicer: `status json` written in slices.
// Unchanged, the slices make format_status_json's text byte for byte; with
// sessions closed, replaced and added between slices the text is still one
// valid JSON object listing each address at most once, the closed ones
// left out once their turn comes, a replaced one as it is now, and none
// that came after the answer began.
#include "enftun/router/session_slicer.hpp"

#include "enftun/router/status_format.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>

#include "test.hpp"

using namespace enftun::router;
using enftun::proto::Ipv6Addr;

namespace {

Ipv6Addr addr(int i) {
    return *Ipv6Addr::parse("fd00:e::" + std::to_string(i));
}

SessionStatus session(int i, const std::string& peer_port = "40000") {
    SessionStatus s;
    s.address = "fd00:e::" + std::to_string(i);
    s.peer = "[fd00:100::" + std::to_string(i) + "]:" + peer_port;
    s.uptime_ms = 1000 * static_cast<std::uint64_t>(i);
    s.rx_bytes = 100 + static_cast<std::uint64_t>(i);
    s.tls_version = "TLSv1.3";
    s.tls_cipher = "TLS_AES_256_GCM_SHA384";
    s.protocol = 2;
    if (i % 4 == 0) {
        s.ipv4 = "198.18.0." + std::to_string(i);
    }
    return s;
}

// The router's sessions, by address, as a test changes them.
struct Sessions {
    std::map<std::string, SessionStatus> by_address;
    int lookups = 0;

    SessionSlicer::Lookup lookup() {
        return [this](const Ipv6Addr& a) -> std::optional<SessionStatus> {
            ++lookups;
            auto it = by_address.find(a.to_string());
            if (it == by_address.end()) {
                return std::nullopt;
            }
            return it->second;
        };
    }
};

RouterStatus totals(std::size_t sessions) {
    RouterStatus st;
    st.version = "9.9";
    st.sessions = sessions;
    st.accepted = 12;
    st.limits.max_sessions = {10000, 0};
    return st;
}

void test_unchanged_slices_make_the_whole_text(void**) {
    Sessions live;
    std::vector<Ipv6Addr> keys;
    RouterStatus whole = totals(12);
    for (int i = 1; i <= 10; ++i) {
        live.by_address[addr(i).to_string()] = session(i);
        keys.push_back(addr(i));
        whole.session_list.push_back(session(i));
    }
    whole.sessions_omitted = 2;
    SessionSlicer slicer(keys, 2, live.lookup(), 3);
    std::string text = format_status_json_head(totals(12));
    int calls = 0;
    std::string slice;
    bool more = true;
    while (more) {
        slice.clear();
        more = slicer.next(slice);
        ++calls;
        assert_true(live.lookups <= 3 * calls); // a slice looks up at most 3
        text += slice;
    }
    assert_int_equal(calls, 4); // 3 + 3 + 3 + 1 (and the end)
    assert_string_equal(text.c_str(), format_status_json(whole).c_str());
    auto j = nlohmann::json::parse(text);
    assert_int_equal(j["session_list"].size(), 10);
    assert_int_equal(j["sessions_omitted"].get<int>(), 2);
    assert_string_equal(j["session_list"][3]["ipv4"].get<std::string>().c_str(), "198.18.0.4");
    assert_int_equal(text.find('\n'), text.size() - 1); // one line
}

void test_sessions_changing_between_slices(void**) {
    Sessions live;
    std::vector<Ipv6Addr> keys;
    for (int i = 1; i <= 10; ++i) {
        live.by_address[addr(i).to_string()] = session(i);
        keys.push_back(addr(i));
    }
    SessionSlicer slicer(keys, 0, live.lookup(), 3);
    std::string text = format_status_json_head(totals(10));
    std::string slice;
    assert_true(slicer.next(slice)); // 1, 2, 3
    text += slice;
    live.by_address.erase(addr(1).to_string());                 // closed, already written
    live.by_address.erase(addr(5).to_string());                 // closed before its turn
    live.by_address[addr(7).to_string()] = session(7, "50000"); // replaced
    live.by_address[addr(11).to_string()] = session(11);        // new
    slice.clear();
    assert_true(slicer.next(slice)); // 4, 6
    text += slice;
    live.by_address.erase(addr(10).to_string()); // the last one closes
    bool more = true;
    while (more) {
        slice.clear();
        more = slicer.next(slice);
        text += slice;
    }
    auto j = nlohmann::json::parse(text); // throws on invalid JSON
    std::vector<std::string> listed;
    for (const auto& s : j["session_list"]) {
        listed.push_back(s["address"].get<std::string>());
    }
    const std::vector<std::string> want = {"fd00:e::1", "fd00:e::2", "fd00:e::3", "fd00:e::4",
                                           "fd00:e::6", "fd00:e::7", "fd00:e::8", "fd00:e::9"};
    assert_true(listed == want);
    assert_int_equal(std::set<std::string>(listed.begin(), listed.end()).size(), listed.size());
    assert_string_equal(j["session_list"][5]["peer"].get<std::string>().c_str(),
                        "[fd00:100::7]:50000");
    assert_int_equal(j["sessions"].get<int>(), 10); // as the answer began
    assert_int_equal(j["sessions_omitted"].get<int>(), 0);
}

void test_no_sessions(void**) {
    Sessions live;
    SessionSlicer slicer({}, 0, live.lookup());
    std::string text = format_status_json_head(totals(0));
    std::string slice;
    assert_false(slicer.next(slice));
    text += slice;
    auto j = nlohmann::json::parse(text);
    assert_true(j["session_list"].is_array());
    assert_int_equal(j["session_list"].size(), 0);
    // Every session gone before its turn: still an object, an empty list.
    Sessions gone;
    SessionSlicer empty({addr(1), addr(2)}, 3, gone.lookup(), 1);
    text = format_status_json_head(totals(5));
    bool more = true;
    while (more) {
        slice.clear();
        more = empty.next(slice);
        text += slice;
    }
    j = nlohmann::json::parse(text);
    assert_int_equal(j["session_list"].size(), 0);
    assert_int_equal(j["sessions_omitted"].get<int>(), 3);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unchanged_slices_make_the_whole_text),
        cmocka_unit_test(test_sessions_changing_between_slices),
        cmocka_unit_test(test_no_sessions),
    };
    return cmocka_run_group_tests_name("session_slicer", tests, nullptr, nullptr);
}
