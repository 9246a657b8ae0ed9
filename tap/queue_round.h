// One round of a tap queue's loop, the same for queue 0 (tap/dataplane.h)
// and the other queues of a multi-queue tap (tap/queue_worker.h).
//
// Theory of operation: wait for completions, for the earliest deadline of
// the Stack and of the queue's optional parts (queue 0's published ports and
// DNS forwarder), or not at all when work is left over (frames on the tap or
// a published UDP socket, actions a bounded apply left, completions a
// bounded dispatch left); then dispatch a bounded batch of completions, read
// the tap and the published UDP sockets once, run the timers that are due
// and carry out the Actions (tap/action_runner.h), all submitted with the
// next wait. What a queue does around its rounds (its stop condition, its
// counters) stays with its owner.
#pragma once

#include "common/event_loop.h"
#include "tap/action_runner.h"

namespace netd::tap {

class Stack;

// Runs one round. Returns 0, or the wait's error (a negative errno) that
// must end the loop; interrupted, timed out and busy waits are not errors.
int run_queue_round(loop::EventLoop& loop, Stack& stack, Actions& actions, ActionRunner& runner,
                    QueueParts parts);

}  // namespace netd::tap
