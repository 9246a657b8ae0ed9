#include "tap/queue_round.h"

#include <cerrno>
#include <optional>

#include "tap/dns_watcher.h"
#include "tap/host_sockets.h"
#include "tap/published_ports.h"
#include "tap/stack.h"
#include "tap/tap_port.h"

namespace netd::tap {

namespace {

// Completions handled per loop round: every completion may add a frame for
// the guest, and those are written only after the round, so an unbounded
// round (a full completion queue after the loop was descheduled in a
// flood) would hold thousands of frames at once.
constexpr unsigned kCompletionBatch = 256;

std::optional<Time> next_deadline(Time now, const Stack& stack, const QueueParts& parts) {
  std::optional<Time> best = stack.next_deadline();
  auto earlier = [&best](std::optional<Time> t) {
    if (t && (!best || *t < *best)) best = t;
  };
  if (parts.dns) earlier(parts.dns->next_deadline(now));
  if (parts.published) earlier(parts.published->next_deadline());
  return best;
}

}  // namespace

int run_queue_round(loop::EventLoop& loop, Stack& stack, Actions& actions, ActionRunner& runner,
                    QueueParts parts) {
  Time now = Clock::now();
  const std::optional<Time> deadline = next_deadline(now, stack, parts);
  std::optional<Duration> timeout;
  if (deadline) timeout = *deadline > now ? *deadline - now : Duration::zero();
  const bool published_backlog = parts.published && parts.published->backlog();
  if (parts.tap.backlog() || published_backlog || !actions.to_tap.empty() || !actions.to_host.empty() ||
      loop.has_ready())
    timeout = Duration::zero();
  const int rc = loop.wait(timeout);
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) return rc;
  now = Clock::now();
  loop.dispatch(now, kCompletionBatch);
  parts.sockets.end_of_batch();
  if (parts.tap.backlog()) parts.tap.drain(now);
  if (parts.published && parts.published->backlog()) parts.published->drain(now);
  if (deadline && now >= *deadline) {
    if (parts.published) parts.published->on_timer(now);
    stack.on_timer(now, actions);
    if (parts.dns) parts.dns->on_timer();
  }
  runner.apply(now, actions, parts);
  return 0;
}

}  // namespace netd::tap
