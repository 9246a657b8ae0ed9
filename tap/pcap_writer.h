// --pcap FILE: every frame crossing the tap, in both directions, written in
// the classic pcap format (LINKTYPE_ETHERNET) that tcpdump and tshark read.
// A debugging aid: writes are buffered stdio, flushed on exit and on SIGUSR1.
#pragma once

#include <cstdio>
#include <span>
#include <string>

#include "common/expected.h"

namespace netd::tap {

class PcapWriter {
 public:
  static Expected<PcapWriter, std::string> open(const std::string& path, uint32_t snaplen);
  PcapWriter(PcapWriter&& o) noexcept : f_(o.f_), snaplen_(o.snaplen_) { o.f_ = nullptr; }
  PcapWriter(const PcapWriter&) = delete;
  ~PcapWriter();
  // Appends one record stamped with the current wall-clock time.
  void write(std::span<const std::byte> frame);
  void flush();

 private:
  PcapWriter(FILE* f, uint32_t snaplen) : f_(f), snaplen_(snaplen) {}
  FILE* f_;
  uint32_t snaplen_;
};

}  // namespace netd::tap
