#include "enftun/loop/loop.hpp"

#include <cstdio>
#include <cstdlib>

namespace enftun::loop {

namespace {

// libuv handles are C "subclasses" of uv_handle_t; these casts are the
// documented way to move between them.
template <typename H>
uv_handle_t* as_handle(H* h) {
    return reinterpret_cast<uv_handle_t*>(h); // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
}

template <typename H>
void close_and_free(H* h) {
    uv_handle_t* base = as_handle(h);
    base->data = nullptr; // the owner is gone: no more callbacks reach it
    uv_close(base, [](uv_handle_t* closed) noexcept {
        std::unique_ptr<H> owned(reinterpret_cast<H*>(closed)); // NOLINT
    });
}

void check(int rc) {
    // Initialising a handle on a live loop only fails on programming errors.
    if (rc != 0) {
        std::abort();
    }
}

} // namespace

Loop::Loop() : loop_(std::make_unique<uv_loop_t>()) {
    check(uv_loop_init(loop_.get()));
}

Loop::~Loop() {
    // Let pending close callbacks run so their memory is freed. A stop()
    // made while the loop was not running leaves libuv's stop flag set, and
    // the first uv_run() returns at once, only clearing it: run again then.
    if (uv_run(loop_.get(), UV_RUN_DEFAULT) != 0) {
        uv_run(loop_.get(), UV_RUN_DEFAULT);
    }
    // A handle outliving its loop is a broken invariant in any build type.
    if (uv_loop_close(loop_.get()) != 0) {
        std::fputs("enftun: a libuv handle outlived its loop\n", stderr);
        std::abort();
    }
}

void Loop::run() {
    uv_run(loop_.get(), UV_RUN_DEFAULT);
}
void Loop::stop() {
    uv_stop(loop_.get());
}

Poll::Poll(Loop& loop, int fd, Callback cb)
    : handle_(std::make_unique<uv_poll_t>().release()), cb_(std::move(cb)) {
    check(uv_poll_init(loop.get(), handle_, fd));
    handle_->data = this;
}

Poll::~Poll() {
    uv_poll_stop(handle_);
    close_and_free(handle_);
}

void Poll::watch(int events) {
    if (events == events_) {
        return;
    }
    events_ = events;
    if (events == 0) {
        uv_poll_stop(handle_);
    } else {
        uv_poll_start(handle_, events, on_poll);
    }
}

void Poll::on_poll(uv_poll_t* h, int status, int events) noexcept {
    if (auto* self = static_cast<Poll*>(h->data)) {
        if (status < 0) {
            // libuv has stopped the handle (EPOLLERR is reported as
            // UV_EBADF): forget what we watched so watch() re-arms it.
            self->events_ = 0;
        }
        self->cb_(status, events);
    }
}

Timer::Timer(Loop& loop, Callback cb)
    : handle_(std::make_unique<uv_timer_t>().release()), cb_(std::move(cb)) {
    check(uv_timer_init(loop.get(), handle_));
    handle_->data = this;
}

Timer::~Timer() {
    uv_timer_stop(handle_);
    close_and_free(handle_);
}

void Timer::start(std::uint64_t timeout_ms) {
    uv_timer_start(handle_, on_timer, timeout_ms, 0);
}
void Timer::stop() {
    uv_timer_stop(handle_);
}
bool Timer::active() const {
    return uv_is_active(as_handle(handle_)) != 0;
}
void Timer::unref() {
    uv_unref(as_handle(handle_));
}

void Timer::on_timer(uv_timer_t* h) noexcept {
    if (auto* self = static_cast<Timer*>(h->data)) {
        self->cb_();
    }
}

Idle::Idle(Loop& loop, Callback cb)
    : handle_(std::make_unique<uv_idle_t>().release()), cb_(std::move(cb)) {
    check(uv_idle_init(loop.get(), handle_));
    handle_->data = this;
}

Idle::~Idle() {
    uv_idle_stop(handle_);
    close_and_free(handle_);
}

void Idle::start() {
    uv_idle_start(handle_, on_idle);
}
void Idle::stop() {
    uv_idle_stop(handle_);
}
bool Idle::active() const {
    return uv_is_active(as_handle(handle_)) != 0;
}

void Idle::on_idle(uv_idle_t* h) noexcept {
    if (auto* self = static_cast<Idle*>(h->data)) {
        self->cb_();
    }
}

Signal::Signal(Loop& loop, int signum, Callback cb)
    : handle_(std::make_unique<uv_signal_t>().release()), cb_(std::move(cb)) {
    check(uv_signal_init(loop.get(), handle_));
    handle_->data = this;
    check(uv_signal_start(handle_, on_signal, signum));
}

Signal::~Signal() {
    uv_signal_stop(handle_);
    close_and_free(handle_);
}

void Signal::on_signal(uv_signal_t* h, int signum) noexcept {
    if (auto* self = static_cast<Signal*>(h->data)) {
        self->cb_(signum);
    }
}

FsEvent::FsEvent(Loop& loop, Callback cb)
    : handle_(std::make_unique<uv_fs_event_t>().release()), cb_(std::move(cb)) {
    check(uv_fs_event_init(loop.get(), handle_));
    handle_->data = this;
}

FsEvent::~FsEvent() {
    uv_fs_event_stop(handle_);
    close_and_free(handle_);
}

int FsEvent::start(const std::string& path) {
    return uv_fs_event_start(handle_, on_event, path.c_str(), 0);
}

void FsEvent::on_event(uv_fs_event_t* h, const char* name, int, int status) noexcept {
    auto* self = static_cast<FsEvent*>(h->data);
    if (self != nullptr && status == 0) {
        self->cb_(name);
    }
}

} // namespace enftun::loop
