// Unit tests for control/: request parsing and answering, the OpenMetrics
// writer, the status text helpers, the atomic file writer, and the control
// server on a real loop with real Unix sockets: an answer per request,
// "error: ..." for garbage and oversized lines, a silent peer closed,
// peers beyond the limit turned away, requests beyond the answer rate
// answered busy, a stale socket replaced, a live one
// or a non-socket left alone, mode 0660, the file removed at the end; and
// send_request (the CLI's end) against it from a second thread.
#include "enftun/control/control_client.hpp"
#include "enftun/control/control_server.hpp"
#include "enftun/control/metrics_file.hpp"
#include "enftun/control/openmetrics.hpp"
#include "enftun/control/request.hpp"
#include "enftun/control/status_text.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "loop_helpers.hpp"
#include "test.hpp"

using namespace enftun::control;
using enftun::Errc;
using enftun::UniqueFd;
using enftun::loop::Loop;
using enftun::loop::Poll;

namespace {

// ---- requests ----

void test_parse_request_accepts_the_requests(void**) {
    struct {
        const char* line;
        RequestKind kind;
    } cases[] = {
        {"status", RequestKind::StatusText},
        {"status json", RequestKind::StatusJson},
        {"  status   json ", RequestKind::StatusJson},
        {"status\r", RequestKind::StatusText},
        {"metrics", RequestKind::Metrics},
    };
    for (const auto& c : cases) {
        auto r = parse_request(c.line);
        assert_true(r.has_value());
        assert_int_equal(static_cast<int>(*r), static_cast<int>(c.kind));
    }
}

void test_parse_request_rejects_bad_lines(void**) {
    struct {
        std::string line;
        Errc code;
    } cases[] = {
        {"", Errc::Truncated},
        {"   ", Errc::Truncated},
        {"STATUS", Errc::Unsupported},
        {"status xml", Errc::Unsupported},
        {"metrics json", Errc::Unsupported},
        {"a b c d e f", Errc::Unsupported},
        {std::string("stat\0us", 7), Errc::Malformed},
        {"status\x01", Errc::Malformed},
        {"status \xc3\xa9", Errc::Malformed},
        {"status\tjson", Errc::Malformed},
        {std::string(kMaxRequestBytes, 's'), Errc::NoSpace},
    };
    for (const auto& c : cases) {
        auto r = parse_request(c.line);
        assert_false(r.has_value());
        assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(c.code));
    }
}

void test_answer_request_dispatches_and_never_echoes(void**) {
    StatusRenderers r{[] { return std::string("T\n"); }, [] { return std::string("{}\n"); },
                      nullptr};
    assert_string_equal(answer_request("status", r).c_str(), "T\n");
    assert_string_equal(answer_request("status json", r).c_str(), "{}\n");
    assert_string_equal(answer_request("metrics", r).c_str(), "error: not available\n");
    std::string bad = answer_request("<script>", r);
    assert_true(bad.starts_with("error: unknown request"));
    assert_null(std::strstr(bad.c_str(), "script"));
    assert_string_equal(error_line("x").c_str(), "error: x\n");
}

// ---- OpenMetrics ----

void test_openmetrics_counter_gauge_and_eof(void**) {
    OpenMetricsWriter w;
    w.family("enftun_tun_bytes", MetricType::Counter, "Bytes through the TUN.", "bytes");
    w.sample(std::uint64_t{12}, {{"direction", "rx"}});
    w.sample(std::uint64_t{34}, {{"direction", "tx"}});
    w.family("enftun_heartbeat_rtt_seconds", MetricType::Gauge, "Round trip.", "seconds");
    w.sample(0.0125);
    w.family("enftun_tunnel_up", MetricType::Gauge, "1 when up.");
    w.sample(std::uint64_t{1});
    std::string text = w.finish();
    const char* want = "# TYPE enftun_tun_bytes counter\n"
                       "# UNIT enftun_tun_bytes bytes\n"
                       "# HELP enftun_tun_bytes Bytes through the TUN.\n"
                       "enftun_tun_bytes_total{direction=\"rx\"} 12\n"
                       "enftun_tun_bytes_total{direction=\"tx\"} 34\n"
                       "# TYPE enftun_heartbeat_rtt_seconds gauge\n"
                       "# UNIT enftun_heartbeat_rtt_seconds seconds\n"
                       "# HELP enftun_heartbeat_rtt_seconds Round trip.\n"
                       "enftun_heartbeat_rtt_seconds 0.0125\n"
                       "# TYPE enftun_tunnel_up gauge\n"
                       "# HELP enftun_tunnel_up 1 when up.\n"
                       "enftun_tunnel_up 1\n"
                       "# EOF\n";
    assert_string_equal(text.c_str(), want);
}

void test_openmetrics_escapes_label_values_and_help(void**) {
    OpenMetricsWriter w;
    w.family("x", MetricType::Gauge, "a \\ b\nc");
    w.sample(1.0, {{"reason", "say \"hi\"\\\n"}, {"b", ""}});
    std::string text = w.finish();
    assert_non_null(std::strstr(text.c_str(), "# HELP x a \\\\ b\\nc\n"));
    assert_non_null(std::strstr(text.c_str(), "x{reason=\"say \\\"hi\\\"\\\\\\n\",b=\"\"} 1\n"));
}

void test_openmetrics_values_and_names(void**) {
    assert_string_equal(format_metric_value(1.5).c_str(), "1.5");
    assert_string_equal(format_metric_value(3.0).c_str(), "3");
    assert_string_equal(format_metric_value(1e-5).c_str(), "1e-05");
    assert_string_equal(format_metric_value(NAN).c_str(), "NaN");
    assert_string_equal(format_metric_value(INFINITY).c_str(), "+Inf");
    assert_string_equal(format_metric_value(-INFINITY).c_str(), "-Inf");
    assert_true(valid_metric_name("enftun:x_1"));
    assert_false(valid_metric_name("1x"));
    assert_false(valid_metric_name("a-b"));
    assert_false(valid_metric_name(""));
    assert_true(valid_label_name("_reason2"));
    assert_false(valid_label_name("a:b"));
}

// ---- status text ----

void test_status_text_helpers(void**) {
    assert_string_equal(human_duration(42).c_str(), "42s");
    assert_string_equal(human_duration(7 * 60 + 12).c_str(), "7m 12s");
    assert_string_equal(human_duration(2 * 3600 + 5 * 60 + 9).c_str(), "2h 5m");
    assert_string_equal(human_duration(3 * 86400 + 4 * 3600).c_str(), "3d 4h");
    assert_string_equal(human_duration(-5).c_str(), "0s");
    assert_string_equal(human_bytes(812).c_str(), "812 B");
    assert_string_equal(human_bytes(12595).c_str(), "12.3 KiB");
    assert_string_equal(human_bytes(4ull << 30).c_str(), "4.0 GiB");
    assert_string_equal(rfc3339_utc(0).c_str(), "");
    assert_string_equal(rfc3339_utc(1796568821).c_str(), "2026-12-06T14:53:41Z");
    TextTable t;
    t.row("state", "up");
    t.row("router", "r:443");
    assert_string_equal(t.render().c_str(), "state   up\nrouter  r:443\n");
    nlohmann::json j = {{"a", 1}, {"s", std::string("\xff")}};
    assert_string_equal(json_line(j).c_str(), "{\"a\":1,\"s\":\"\xef\xbf\xbd\"}\n");
}

// ---- files ----

struct Dir {
    std::filesystem::path path;
};

int dir_setup(void** state) {
    char tmpl[] = "/tmp/control_test.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
        return -1;
    }
    *state = new Dir{tmpl};
    return 0;
}

int dir_teardown(void** state) {
    auto* d = static_cast<Dir*>(*state);
    std::filesystem::remove_all(d->path);
    delete d;
    return 0;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void test_write_file_atomic_replaces_and_leaves_no_temp(void** state) {
    auto* d = static_cast<Dir*>(*state);
    std::string path = d->path / "enftun.prom";
    assert_true(write_file_atomic(path, "one\n", 0644, true).has_value());
    assert_true(write_file_atomic(path, "two\n", 0644, false).has_value());
    assert_string_equal(slurp(path).c_str(), "two\n");
    struct stat st {};
    assert_int_equal(::stat(path.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    int entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(d->path)) {
        ++entries;
    }
    assert_int_equal(entries, 1);
    auto bad = write_file_atomic((d->path / "no/such/dir/x.prom").string(), "x", 0644, false);
    assert_false(bad.has_value());
    assert_int_equal(bad.error().sys, ENOENT);
}

void test_metrics_file_writes_and_removes(void** state) {
    auto* d = static_cast<Dir*>(*state);
    std::string path = d->path / "m.prom";
    {
        Loop loop;
        int renders = 0;
        MetricsFile mf(
            loop, path, [&] { return "n " + std::to_string(++renders) + "\n"; }, 10);
        mf.start();
        assert_string_equal(slurp(path).c_str(), "n 1\n");
        test_loop::Watchdog dog(loop);
        enftun::loop::Timer stop(loop, [&] {
            if (renders >= 3) {
                loop.stop();
            } else {
                stop.start(5);
            }
        });
        stop.start(5);
        dog.run("three metrics writes");
        assert_true(mf.writes() >= 3);
        assert_string_equal(slurp(path).c_str(), ("n " + std::to_string(renders) + "\n").c_str());
    }
    assert_false(std::filesystem::exists(path));
}

// ---- the server ----

struct Fixture {
    Dir dir;
    std::unique_ptr<Loop> loop;
    std::unique_ptr<test_loop::Watchdog> dog;
    std::unique_ptr<ControlServer> server;
    std::string path;
    int handled = 0;
};

int server_setup(void** state) {
    char tmpl[] = "/tmp/control_test.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
        return -1;
    }
    auto* f = new Fixture;
    f->dir.path = tmpl;
    f->path = f->dir.path / "sub" / "enf0.sock";
    f->loop = std::make_unique<Loop>();
    f->dog = std::make_unique<test_loop::Watchdog>(*f->loop);
    *state = f;
    return 0;
}

int server_teardown(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    f->server.reset();
    f->dog.reset();
    f->loop.reset();
    std::filesystem::remove_all(f->dir.path);
    delete f;
    return 0;
}

void start_server(Fixture* f, ServerLimits limits = {}) {
    StatusRenderers r{[f] {
                          ++f->handled;
                          return std::string("state  up\n");
                      },
                      [] { return std::string(100000, 'j') + "\n"; },
                      [] { return std::string("# EOF\n"); }};
    auto s = ControlServer::create(
        *f->loop, f->path, [r](std::string_view line) { return answer_request(line, r); }, limits);
    assert_true(s.has_value());
    f->server = std::move(*s);
}

UniqueFd connect_to(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    int rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)); // NOLINT
    assert_int_equal(rc, 0);
    return fd;
}

// A peer of the test: sends `line` (as much as fits), then reads until the
// server closes.
struct Peer {
    UniqueFd fd;
    std::unique_ptr<Poll> poll;
    std::string got;
    bool eof = false;
};

std::unique_ptr<Peer> open_peer(Fixture* f, std::string_view line) {
    auto p = std::make_unique<Peer>();
    p->fd = connect_to(f->path);
    if (!line.empty()) {
        (void)::send(p->fd.get(), line.data(), line.size(), MSG_NOSIGNAL);
    }
    Peer* raw = p.get();
    // Reads all there is at each call: a server closing with our unread
    // bytes in its buffer resets the connection, and libuv reports that
    // once (status < 0) and stops the handle.
    p->poll = std::make_unique<Poll>(*f->loop, p->fd.get(), [f, raw](int status, int) {
        char buf[65536];
        for (;;) {
            ssize_t n = ::recv(raw->fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
            if (n > 0) {
                raw->got.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR) && status >= 0) {
                return;
            }
            break;
        }
        raw->eof = true;
        raw->poll->watch(0);
        f->dog->check_done();
    });
    p->poll->watch(UV_READABLE);
    return p;
}

using Peers = std::vector<std::unique_ptr<Peer>>;

// n peers, each sending line.
Peers open_peers(Fixture* f, int n, std::string_view line) {
    Peers peers;
    for (int i = 0; i < n; ++i) {
        peers.push_back(open_peer(f, line));
    }
    return peers;
}

// Whether the server has closed every one of them.
bool all_closed(const Peers& peers) {
    return std::all_of(peers.begin(), peers.end(), [](const auto& p) { return p->eof; });
}

// How many of them were answered busy (over the answer budget).
int count_busy(const Peers& peers) {
    return static_cast<int>(std::count_if(peers.begin(), peers.end(), [](const auto& p) {
        return p->got.starts_with("error: busy: ");
    }));
}

void test_server_answers_and_closes(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    start_server(f);
    struct stat st {};
    assert_int_equal(::stat(f->path.c_str(), &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);
    auto a = open_peer(f, "status\n");
    auto b = open_peer(f, "status json\n");
    auto c = open_peer(f, "bogus \x01\n");
    f->dog->run_until([&] { return a->eof && b->eof && c->eof; }, "three answers");
    assert_string_equal(a->got.c_str(), "state  up\n");
    assert_int_equal(b->got.size(), 100001); // more than a socket buffer: written on POLLOUT
    assert_true(c->got.starts_with("error: request is not printable text"));
    assert_int_equal(f->server->counters().answered, 3);
    assert_int_equal(f->server->counters().bad, 1);
    // Bytes: every byte of the three answers, the one written on POLLOUT too.
    assert_int_equal(f->server->counters().bytes, a->got.size() + b->got.size() + c->got.size());
    f->dog->run_until([&] { return f->server->open_connections() == 0; }, "all closed");
}

void test_server_bounds_size_time_and_count(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    start_server(
        f, ServerLimits{.max_request = 256, .request_ms = 50, .reply_ms = 5000, .max_clients = 2});
    auto huge = open_peer(f, std::string(4096, 'x'));
    auto slow = open_peer(f, "");
    auto extra = open_peer(f, "status\n"); // the third while two are open
    f->dog->run_until([&] { return huge->eof && slow->eof && extra->eof; }, "three closes");
    assert_true(huge->got.starts_with("error: request too long"));
    assert_string_equal(slow->got.c_str(), "error: timeout\n");
    assert_string_equal(extra->got.c_str(), "error: busy\n");
    assert_int_equal(f->server->counters().turned_away, 1);
    assert_int_equal(f->server->counters().timed_out, 1);
    assert_int_equal(f->handled, 0);
    // Still answers afterwards.
    auto ok = open_peer(f, "status\n");
    f->dog->run_until([&] { return ok->eof; }, "an answer after the abuse");
    assert_string_equal(ok->got.c_str(), "state  up\n");
}

// Over its AnswerBudget the server answers "error: busy: ..." without
// calling the handler, counts it, and answers in full again once the
// bucket refilled.
void test_server_bounds_rate(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    ServerLimits limits;
    limits.answers_per_s = 1;
    limits.answer_burst = 3;
    start_server(f, limits);
    const std::uint64_t t0 = f->loop->now_ms();
    const Peers peers = open_peers(f, 6, "status\n");
    f->dog->run_until([&] { return all_closed(peers); }, "six answers");
    const std::uint64_t elapsed_s = (f->loop->now_ms() - t0) / 1000;
    int full = 0;
    int busy = 0;
    for (const auto& p : peers) {
        if (p->got == "state  up\n") {
            ++full;
        } else if (p->got == "error: busy: at most 1 answers a second, try again\n") {
            ++busy;
        }
    }
    assert_int_equal(full + busy, 6);
    // The burst, and one more for each second the six took (none, unless
    // the machine is very slow).
    assert_true(full >= 3);
    assert_true(static_cast<std::uint64_t>(full) <= 3 + elapsed_s);
    assert_int_equal(f->handled, full);
    assert_int_equal(f->server->counters().limited, static_cast<std::uint64_t>(busy));
    assert_int_equal(f->server->counters().bad, 0);
    assert_int_equal(f->server->counters().answered, 6);
    std::uint64_t bytes = 0;
    for (const auto& p : peers) {
        bytes += p->got.size();
    }
    assert_int_equal(f->server->counters().bytes, bytes); // the busy lines too
    // A second later the bucket holds a token again.
    std::unique_ptr<Peer> later;
    enftun::loop::Timer wait(*f->loop, [&] { later = open_peer(f, "status\n"); });
    wait.start(1000);
    f->dog->run_until([&] { return later && later->eof; }, "an answer a second later");
    assert_string_equal(later->got.c_str(), "state  up\n");
}

// A long answer costs a token per 64 KiB: the 100,001-byte JSON of the
// fixture takes two of a bucket of three, so of two requests after it one
// is answered in full and one is busy.
void test_server_charges_long_answers(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    ServerLimits limits;
    limits.answers_per_s = 1;
    limits.answer_burst = 3;
    start_server(f, limits);
    const std::uint64_t t0 = f->loop->now_ms();
    auto json = open_peer(f, "status json\n");
    f->dog->run_until([&] { return json->eof; }, "the long answer");
    assert_int_equal(json->got.size(), 100001);
    auto a = open_peer(f, "status\n");
    auto b = open_peer(f, "status\n");
    f->dog->run_until([&] { return a->eof && b->eof; }, "two answers");
    // Unless a second passed since the first (a very slow machine): the
    // bucket had three, the JSON took two.
    if (f->loop->now_ms() - t0 < 1000) {
        assert_int_equal((a->got == "state  up\n") + (b->got == "state  up\n"), 1);
        assert_true(a->got.starts_with("error: busy: ") || b->got.starts_with("error: busy: "));
        assert_int_equal(f->server->counters().limited, 1);
    }
}

// A sliced answer (answer.hpp): each slice is asked for once the last is
// written, at most one per loop turn (a uv_check_t counts the turns), all
// reach the peer in order, and the slices are charged to the budget as the
// answer grows: 50 x 10,000 bytes cost 7 tokens more, so of a bucket of 10
// two are left for the three requests after it.
struct TurnCounter {
    uv_check_t check{};
    std::uint64_t turns = 0;
};

void test_server_writes_sliced_answers_one_per_turn(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    auto* turns = new TurnCounter; // freed in the close callback
    uv_check_init(f->loop->get(), &turns->check);
    turns->check.data = turns;
    uv_check_start(&turns->check,
                   [](uv_check_t* h) { ++static_cast<TurnCounter*>(h->data)->turns; });
    std::vector<std::uint64_t> asked_at; // the turn of each slice
    constexpr int kSlices = 50;
    ServerLimits limits;
    limits.answers_per_s = 1;
    limits.answer_burst = 10;
    auto s = ControlServer::create(
        *f->loop, f->path,
        [&](std::string_view line) -> Answer {
            if (line != "sliced") {
                return std::string("short\n");
            }
            return Answer("first\n", [&, i = 0](std::string& out) mutable {
                asked_at.push_back(turns->turns);
                out.assign(9999, static_cast<char>('a' + i % 26));
                out += '\n';
                return ++i < kSlices;
            });
        },
        limits);
    assert_true(s.has_value());
    f->server = std::move(*s);
    const std::uint64_t t0 = f->loop->now_ms();
    auto big = open_peer(f, "sliced\n");
    f->dog->run_until([&] { return big->eof; }, "the sliced answer");
    assert_int_equal(big->got.size(), 6 + kSlices * 10000);
    assert_true(big->got.starts_with("first\n"));
    for (int i = 0; i < kSlices; ++i) {
        assert_int_equal(big->got[6 + static_cast<std::size_t>(i) * 10000],
                         static_cast<char>('a' + i % 26));
    }
    assert_int_equal(asked_at.size(), kSlices);
    for (std::size_t i = 1; i < asked_at.size(); ++i) {
        assert_true(asked_at[i] > asked_at[i - 1]); // never two in one turn
    }
    assert_int_equal(f->server->counters().bytes, big->got.size());
    const Peers after = open_peers(f, 3, "short\n");
    f->dog->run_until([&] { return all_closed(after); }, "three short answers");
    const int busy = count_busy(after);
    assert_int_equal(f->server->counters().limited, static_cast<std::uint64_t>(busy));
    // Unless a second passed (a very slow machine): 10 - 1 - 7 = 2 tokens.
    if (f->loop->now_ms() - t0 < 1000) {
        assert_int_equal(busy, 1);
    }
    uv_check_stop(&turns->check);
    uv_close(reinterpret_cast<uv_handle_t*>(&turns->check), // NOLINT: libuv's C "subclass"
             [](uv_handle_t* h) { delete static_cast<TurnCounter*>(h->data); });
}

// A sliced answer's size_hint is charged when it starts: a request that
// comes while its slices are being written finds the bucket as the whole
// answer would have left it (10 - 1 - 9 = 0 tokens: busy), not full.
void test_server_charges_a_sliced_answer_up_front(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    ServerLimits limits;
    limits.answers_per_s = 1;
    limits.answer_burst = 10;
    std::unique_ptr<Peer> during;
    auto s = ControlServer::create(
        *f->loop, f->path,
        [&](std::string_view line) -> Answer {
            if (line != "sliced") {
                return std::string("short\n");
            }
            Answer a("first\n", [&, i = 0](std::string& out) mutable {
                if (i == 0) {
                    during = open_peer(f, "short\n");
                }
                out.assign(9999, 'x');
                out += '\n';
                return ++i < 50;
            });
            a.size_hint = 9 * AnswerBudget::kBytesPerToken;
            return a;
        },
        limits);
    assert_true(s.has_value());
    f->server = std::move(*s);
    const std::uint64_t t0 = f->loop->now_ms();
    auto big = open_peer(f, "sliced\n");
    f->dog->run_until([&] { return big->eof && during && during->eof; }, "both answers");
    assert_int_equal(big->got.size(), 6 + 50 * 10000);
    if (f->loop->now_ms() - t0 < 1000) { // unless a very slow machine refilled one
        assert_true(during->got.starts_with("error: busy: "));
    }
}

// A slice source that throws ends that answer (what was written stays, the
// connection closes); the server lives and answers the next request.
void test_server_cuts_a_failing_sliced_answer(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    auto s = ControlServer::create(*f->loop, f->path, [](std::string_view line) -> Answer {
        if (line != "sliced") {
            return std::string("short\n");
        }
        return Answer("first\n", [](std::string&) -> bool { throw std::runtime_error("boom"); });
    });
    assert_true(s.has_value());
    f->server = std::move(*s);
    auto cut = open_peer(f, "sliced\n");
    f->dog->run_until([&] { return cut->eof; }, "the cut answer");
    assert_string_equal(cut->got.c_str(), "first\n");
    auto next = open_peer(f, "short\n");
    f->dog->run_until([&] { return next->eof; }, "the next answer");
    assert_string_equal(next->got.c_str(), "short\n");
}

// With the bucket empty the server accepts nothing: new peers wait in the
// kernel's backlog, costing no busy answer, until a token is back.
void test_server_leaves_peers_in_the_backlog_while_empty(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    ServerLimits limits;
    limits.answers_per_s = 2; // a token every 500 ms
    limits.answer_burst = 1;
    start_server(f, limits);
    auto first = open_peer(f, "status\n");
    f->dog->run_until([&] { return first->eof; }, "the one answer of the bucket");
    assert_string_equal(first->got.c_str(), "state  up\n");
    const Peers waiting = open_peers(f, 3, "status\n");
    // 20 ms on: before the refill (500 ms after the first answer); were both
    // timers late, libuv would run this one first, and accepts come after
    // timers in a loop turn.
    bool looked = false;
    enftun::loop::Timer look(*f->loop, [&] {
        looked = true;
        assert_int_equal(f->server->open_connections(), 0);
        for (const auto& p : waiting) {
            assert_true(p->got.empty());
        }
        assert_int_equal(f->server->counters().limited, 0);
    });
    look.start(20);
    f->dog->run_until([&] { return looked && all_closed(waiting); },
                      "the three answered after refills");
    int full = 0;
    for (const auto& p : waiting) {
        full += p->got == "state  up\n" ? 1 : 0;
        assert_true(p->got == "state  up\n" || p->got.starts_with("error: busy: "));
    }
    assert_true(full >= 1);
    assert_int_equal(f->server->counters().limited, static_cast<std::uint64_t>(3 - full));
}

void test_server_request_without_newline_at_eof(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    start_server(f);
    auto p = open_peer(f, "metrics");
    ::shutdown(p->fd.get(), SHUT_WR);
    f->dog->run_until([&] { return p->eof; }, "an answer to a half-closed request");
    assert_string_equal(p->got.c_str(), "# EOF\n");
}

void test_server_socket_file_lifecycle(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    start_server(f);
    // A second server on the same path: the first answers there, so no.
    auto second = ControlServer::create(*f->loop, f->path, [](std::string_view) { return ""; });
    assert_false(second.has_value());
    assert_int_equal(second.error().sys, EADDRINUSE);
    // The first's end removes the file; a stale socket left by a crash
    // (bound, never removed) is replaced.
    f->server.reset();
    assert_false(std::filesystem::exists(f->path));
    {
        UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, f->path.data(), f->path.size());
        assert_int_equal(::bind(stale.get(), reinterpret_cast<const sockaddr*>(&addr), // NOLINT
                                sizeof(addr)),
                         0);
    }
    assert_true(std::filesystem::exists(f->path));
    start_server(f);
    f->server.reset();
    // A datagram socket (a NOTIFY_SOCKET, say): not ours to remove.
    {
        UniqueFd dgram(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, f->path.data(), f->path.size());
        assert_int_equal(::bind(dgram.get(), reinterpret_cast<const sockaddr*>(&addr), // NOLINT
                                sizeof(addr)),
                         0);
        auto over_dgram =
            ControlServer::create(*f->loop, f->path, [](std::string_view) { return ""; });
        assert_false(over_dgram.has_value());
        assert_int_equal(over_dgram.error().sys, EADDRINUSE);
        assert_true(std::filesystem::exists(f->path));
        ::unlink(f->path.c_str());
    }
    // Not a socket: left alone.
    std::ofstream(f->path) << "precious\n";
    auto over_file = ControlServer::create(*f->loop, f->path, [](std::string_view) { return ""; });
    assert_false(over_file.has_value());
    assert_int_equal(over_file.error().sys, EEXIST);
    assert_string_equal(slurp(f->path).c_str(), "precious\n");
    auto relative = ControlServer::create(*f->loop, "x.sock", [](std::string_view) { return ""; });
    assert_false(relative.has_value());
    assert_int_equal(static_cast<int>(relative.error().code), static_cast<int>(Errc::Config));
}

// In a folder others may change entries in, another user could take the
// socket's place and answer `status` in the daemon's name: refused, unless
// the folder is sticky (/tmp). The socket is made 0660 as it is bound.
void test_server_refuses_a_folder_others_may_change(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    const std::string sub = (f->dir.path / "sub").string();
    assert_int_equal(::mkdir(sub.c_str(), 0755), 0);
    auto create = [f] {
        return ControlServer::create(*f->loop, f->path, [](std::string_view) { return ""; });
    };
    for (mode_t mode : {0777, 0775, 0757}) {
        assert_int_equal(::chmod(sub.c_str(), mode), 0);
        auto refused = create();
        assert_false(refused.has_value());
        assert_int_equal(refused.error().sys, EPERM);
        assert_string_equal(refused.error().what, "the socket's folder is writable by others");
        assert_false(std::filesystem::exists(f->path));
    }
    assert_int_equal(::chmod(sub.c_str(), 01777), 0);
    auto sticky = create();
    assert_true(sticky.has_value());
    struct stat st {};
    assert_int_equal(::lstat(f->path.c_str(), &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0660);
    sticky->reset();
    if (::geteuid() == 0) { // only root can give the folder away
        assert_int_equal(::chmod(sub.c_str(), 0755), 0);
        assert_int_equal(::chown(sub.c_str(), 65534, 65534), 0);
        auto theirs = create();
        assert_false(theirs.has_value());
        assert_string_equal(theirs.error().what, "the socket's folder belongs to another user");
        assert_false(std::filesystem::exists(f->path));
    }
}

// `status` against a listener whose backlog is full (a daemon pausing its
// accepts under a flood of connects, or one that never accepts): an error
// once timeout_ms has passed, where connect() used to wait for good.
void test_send_request_bounded_when_backlog_full(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    const std::string path = (f->dir.path / "full.sock").string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    const auto* sa = reinterpret_cast<const sockaddr*>(&addr); // NOLINT: the sockets API
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    assert_int_equal(::bind(listener.get(), sa, sizeof(addr)), 0);
    assert_int_equal(::listen(listener.get(), 0), 0);
    std::vector<UniqueFd> queued; // never accepted: they fill the backlog
    for (int i = 0; i < 64; ++i) {
        UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (::connect(c.get(), sa, sizeof(addr)) != 0) {
            assert_int_equal(errno, EAGAIN);
            break;
        }
        queued.push_back(std::move(c));
    }
    assert_true(!queued.empty() && queued.size() < 64);
    auto answer = send_request(path, "status", 200);
    assert_false(answer.has_value());
    assert_int_equal(static_cast<int>(answer.error().code), static_cast<int>(Errc::Timeout));
    assert_string_equal(answer.error().what, "connect");
}

void test_send_request_from_another_thread(void** state) {
    auto* f = static_cast<Fixture*>(*state);
    start_server(f);
    std::atomic<bool> done{false};
    std::string answer, json;
    int missing_errno = 0;
    std::thread client([&] {
        auto a = send_request(f->path, "status");
        answer = a ? *a : "failed";
        auto j = send_request(f->path, "status json");
        json = j ? *j : "failed";
        auto m = send_request(f->dir.path / "none.sock", "status");
        missing_errno = m ? 0 : m.error().sys;
        done = true;
    });
    // The client thread cannot touch the loop: a timer looks at its flag.
    enftun::loop::Timer check(*f->loop, [&] {
        if (done) {
            f->loop->stop();
        } else {
            check.start(5);
        }
    });
    check.start(5);
    f->dog->run("the client thread");
    client.join();
    assert_string_equal(answer.c_str(), "state  up\n");
    assert_int_equal(json.size(), 100001);
    assert_int_equal(missing_errno, ENOENT);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_request_accepts_the_requests),
        cmocka_unit_test(test_parse_request_rejects_bad_lines),
        cmocka_unit_test(test_answer_request_dispatches_and_never_echoes),
        cmocka_unit_test(test_openmetrics_counter_gauge_and_eof),
        cmocka_unit_test(test_openmetrics_escapes_label_values_and_help),
        cmocka_unit_test(test_openmetrics_values_and_names),
        cmocka_unit_test(test_status_text_helpers),
        cmocka_unit_test_setup_teardown(test_write_file_atomic_replaces_and_leaves_no_temp,
                                        dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_metrics_file_writes_and_removes, dir_setup,
                                        dir_teardown),
        cmocka_unit_test_setup_teardown(test_server_writes_sliced_answers_one_per_turn,
                                        server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_server_charges_a_sliced_answer_up_front, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_server_cuts_a_failing_sliced_answer, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_server_answers_and_closes, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_server_bounds_size_time_and_count, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_server_bounds_rate, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_server_charges_long_answers, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_server_leaves_peers_in_the_backlog_while_empty,
                                        server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_server_request_without_newline_at_eof, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_server_socket_file_lifecycle, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_server_refuses_a_folder_others_may_change,
                                        server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_send_request_bounded_when_backlog_full, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_send_request_from_another_thread, server_setup,
                                        server_teardown),
    };
    return cmocka_run_group_tests_name("control", tests, nullptr, nullptr);
}
