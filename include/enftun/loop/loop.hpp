// RAII wrappers for the libuv loop and the handles enftun uses.
//
// Lifetime rules: libuv keeps a handle's address until its close callback has
// run, so every handle lives in its own heap block. A wrapper's destructor
// calls uv_close() and hands the block to the close callback, which frees it;
// the owner may go away at once. The loop is closed only after every handle's
// close callback has run (Loop::~Loop runs the loop until it is empty).
// Callbacks are set once, at construction, and run on the loop thread.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace enftun::loop {

class Loop {
public:
    Loop();
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    uv_loop_t* get() { return loop_.get(); }
    // Runs until stop() or until no active handles remain.
    void run();
    void stop();
    std::uint64_t now_ms() { return uv_now(loop_.get()); }

private:
    std::unique_ptr<uv_loop_t> loop_;
};

// Watches one fd for readability/writability (uv_poll_t). The fd is borrowed:
// it must stay open until the Poll is destroyed.
class Poll {
public:
    // status < 0 is a libuv error (e.g. UV_EBADF); events is UV_READABLE|UV_WRITABLE.
    using Callback = std::function<void(int status, int events)>;
    Poll(Loop& loop, int fd, Callback cb);
    ~Poll();
    Poll(const Poll&) = delete;
    Poll& operator=(const Poll&) = delete;

    // Sets the watched events; 0 stops watching. Cheap when unchanged.
    void watch(int events);
    int watching() const { return events_; }

private:
    static void on_poll(uv_poll_t* h, int status, int events) noexcept;
    uv_poll_t* handle_;
    Callback cb_;
    int events_ = 0;
};

class Timer {
public:
    using Callback = std::function<void()>;
    Timer(Loop& loop, Callback cb);
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    // (Re)arms a one-shot timer.
    void start(std::uint64_t timeout_ms);
    void stop();
    bool active() const;
    // Lets the loop end while this timer is armed (uv_unref): for watchdogs
    // that must not keep an otherwise finished loop running.
    void unref();

private:
    static void on_timer(uv_timer_t* h) noexcept;
    uv_timer_t* handle_;
    Callback cb_;
};

// Runs its callback once per loop iteration while started, and makes the
// loop poll without blocking meanwhile (uv_idle_t): the loop spins. For
// busy-polling (link/busy_poll.hpp); stop it as soon as it is not needed.
class Idle {
public:
    using Callback = std::function<void()>;
    Idle(Loop& loop, Callback cb);
    ~Idle();
    Idle(const Idle&) = delete;
    Idle& operator=(const Idle&) = delete;

    void start(); // no-op when started
    void stop();
    bool active() const;

private:
    static void on_idle(uv_idle_t* h) noexcept;
    uv_idle_t* handle_;
    Callback cb_;
};

// Monotonic time in nanoseconds (uv_hrtime), for windows finer than the
// loop's millisecond clock.
inline std::uint64_t hrtime_ns() {
    return uv_hrtime();
}

class Signal {
public:
    using Callback = std::function<void(int signum)>;
    Signal(Loop& loop, int signum, Callback cb);
    ~Signal();
    Signal(const Signal&) = delete;
    Signal& operator=(const Signal&) = delete;

private:
    static void on_signal(uv_signal_t* h, int signum) noexcept;
    uv_signal_t* handle_;
    Callback cb_;
};

// Watches a file or folder for changes (uv_fs_event_t: inotify on Linux).
// The callback gets the name of the entry that changed, for a folder (it
// may be null). Used by the client to notice a renewed identity.
class FsEvent {
public:
    using Callback = std::function<void(const char* name)>;
    FsEvent(Loop& loop, Callback cb);
    ~FsEvent();
    FsEvent(const FsEvent&) = delete;
    FsEvent& operator=(const FsEvent&) = delete;

    // Starts watching path. Returns 0, or a negative libuv error
    // (UV_ENOENT, UV_ENOSPC when out of inotify watches, ...).
    int start(const std::string& path);

private:
    static void on_event(uv_fs_event_t* h, const char* name, int events, int status) noexcept;
    uv_fs_event_t* handle_;
    Callback cb_;
};

} // namespace enftun::loop
