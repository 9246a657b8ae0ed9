// SlotTable: objects named by a small index that is reused, plus a
// generation that is not.
//
// Theory of operation: a data plane names each object it submits operations
// for (a socket, a connection, a flow) by its slot index, which goes into
// the operation's loop::Tag with the slot's generation. Indexes are reused
// (released slots are taken again, the most recent first), so a table stays
// as large as the most objects ever open at once. Every release moves the
// slot's generation on, so a completion that arrives after its object was
// released (a multishot receive still armed, a cancelled operation) carries
// an old generation, find() answers nullptr, and the completion is dropped
// instead of reaching the slot's next occupant.
//
// Entries live in a deque: taking a slot never moves the others, so an
// address inside an entry stays valid while the kernel may still read it
// (a connect's sockaddr, which io_uring reads when the request is submitted,
// possibly after later actions of the same batch took more slots).
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

namespace netd {

template <class T>
class SlotTable {
 public:
  // Takes a free slot holding a fresh T; returns its index.
  uint32_t take() {
    uint32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
    } else {
      slots_.emplace_back();
      i = static_cast<uint32_t>(slots_.size() - 1);
    }
    slots_[i].taken = true;
    ++count_;
    return i;
  }
  // Ends the occupancy of slot `i`: its T is replaced by a fresh one (what
  // the old one owned is released now), its generation moves on, and `i`
  // may be taken again. Releasing a free slot does nothing.
  void release(uint32_t i) {
    Slot& s = slots_[i];
    if (!s.taken) return;
    s.value = T{};
    s.taken = false;
    ++s.generation;
    free_.push_back(i);
    --count_;
  }
  // The occupant of slot `i` if the slot is taken and has generation `g`,
  // else nullptr (an index never handed out, or an earlier occupant's).
  T* find(uint32_t i, uint16_t g) {
    if (i >= slots_.size() || !slots_[i].taken || slots_[i].generation != g) return nullptr;
    return &slots_[i].value;
  }
  // Slot `i`, which must exist (taken or not).
  T& operator[](uint32_t i) { return slots_[i].value; }
  const T& operator[](uint32_t i) const { return slots_[i].value; }
  uint16_t generation(uint32_t i) const { return slots_[i].generation; }
  bool taken(uint32_t i) const { return i < slots_.size() && slots_[i].taken; }
  // Slots ever made (an upper bound for indexes), and those taken now.
  uint32_t size() const { return static_cast<uint32_t>(slots_.size()); }
  uint32_t count() const { return count_; }
  // fn(index, T&) for every taken slot, in index order. fn may release the
  // slot it is given.
  template <class Fn>
  void for_each(Fn&& fn) {
    for (uint32_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].taken) fn(i, slots_[i].value);
  }
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (uint32_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].taken) fn(i, slots_[i].value);
  }

 private:
  struct Slot {
    T value{};
    uint16_t generation = 0;
    bool taken = false;
  };
  std::deque<Slot> slots_;
  std::vector<uint32_t> free_;
  uint32_t count_ = 0;
};

}  // namespace netd
