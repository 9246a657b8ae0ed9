#include "common/event_loop.h"

#include <cstdlib>
#include <string_view>

#include "common/epoll_loop.h"
#include "common/log.h"
#include "common/uring.h"

namespace netd::loop {

Handler::Handler(EventLoop& loop) : loop_(loop), id_(loop.add_handler(*this)) {}
Handler::~Handler() { loop_.remove_handler(id_); }

uint8_t EventLoop::add_handler(Handler& h) {
  // Ids are never reused: a completion still in flight for a handler that
  // left must not reach a newcomer. A data plane has a handful of parts.
  if (handlers_.size() > 0xff) {
    LOG_ERROR("event loop: more than 255 handlers");
    std::abort();
  }
  handlers_.push_back(&h);
  return static_cast<uint8_t>(handlers_.size() - 1);
}

void EventLoop::remove_handler(uint8_t id) {
  if (id < handlers_.size()) handlers_[id] = nullptr;
}

const char* loop_op_name(LoopOp op) {
  switch (op) {
    case LoopOp::Poll: return "poll";
    case LoopOp::Read: return "read";
    case LoopOp::Recv: return "recv";
    case LoopOp::RecvMultishot: return "recv_multishot";
    case LoopOp::Send: return "send";
    case LoopOp::Connect: return "connect";
    case LoopOp::Accept: return "accept_multishot";
    case LoopOp::Splice: return "splice";
    case LoopOp::Cancel: return "cancel";
    case LoopOp::CancelAndClose: return "cancel_and_close";
  }
  return "?";
}

void EventLoop::undeclared(LoopOp op) const {
  LOG_ERROR("event loop: %s was not declared in LoopOptions::ops (its io_uring ring refuses it)", loop_op_name(op));
  std::abort();
}

Expected<LoopKind, std::string> loop_kind_from_env(const char* value) {
  const std::string_view v = value ? value : "";
  if (v.empty() || v == "auto") return LoopKind::Auto;
  if (v == "io_uring" || v == "uring") return LoopKind::Uring;
  if (v == "epoll") return LoopKind::Epoll;
  return unexpected(std::string(kLoopEnv) + "=" + std::string(v) + ": not an event loop (auto, io_uring or epoll)");
}

Expected<std::unique_ptr<EventLoop>, std::string> make_event_loop(const LoopOptions& o) {
  LoopKind kind = o.kind;
  if (kind == LoopKind::Auto) {
    auto chosen = loop_kind_from_env(std::getenv(kLoopEnv));
    if (!chosen) return unexpected(chosen.error());
    kind = *chosen;
    if (kind != LoopKind::Auto)
      LOG_INFO("event loop: %s, as %s asks", kind == LoopKind::Epoll ? "epoll" : "io_uring", kLoopEnv);
  }
  if (kind != LoopKind::Epoll) {
    auto r = UringLoop::create(o.entries, o.ops, o.runs_on_another_thread);
    if (r) return std::unique_ptr<EventLoop>(std::move(*r));
    if (kind == LoopKind::Uring) return unexpected(r.error());
    // Refused (kernel.io_uring_disabled, a seccomp profile) or too old: the
    // engines do not care which loop carries their I/O.
    LOG_WARN("%s; using epoll instead", r.error().c_str());
  }
  auto e = EpollLoop::create(o.ops);
  if (!e) return unexpected(e.error());
  return std::unique_ptr<EventLoop>(std::move(*e));
}

}  // namespace netd::loop
