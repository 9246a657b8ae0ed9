#include "tap/tap_port.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tap/vnet_header.h"

namespace netd::tap {

namespace {
constexpr size_t kVnetHdrLen = sizeof(VnetHeader);
}  // namespace

TapPort::TapPort(loop::EventLoop& loop, UniqueFd tap, bool vnet_hdr, Stack& stack, Actions& actions,
                 PcapWriter* pcap, std::function<void()> on_failure)
    : Handler(loop),
      fd_(std::move(tap)),
      vnet_hdr_(vnet_hdr),
      stack_(stack),
      actions_(actions),
      pcap_(pcap),
      on_failure_(std::move(on_failure)) {}

void TapPort::start() {
  int fl = ::fcntl(fd_.get(), F_GETFL);
  if (fl >= 0) ::fcntl(fd_.get(), F_SETFL, fl | O_NONBLOCK);
  arm();
}

void TapPort::arm() { loop().poll_multishot(tag(Op::Readable), fd_.get(), POLLIN); }

void TapPort::fail(const char* what, int err) {
  if (failed_) return;
  failed_ = true;
  backlog_ = false;
  LOG_ERROR("%s the tap failed: %s; stopping", what, std::strerror(err));
  if (on_failure_) on_failure_();
}

void TapPort::on_completion(Time, const loop::Completion& c) {
  if (c.res < 0) return fail("polling", -c.res);
  backlog_ = true;
  if (!c.more) arm();
}

void TapPort::drain(Time now) {
  backlog_ = false;
  for (int i = 0; i < kBatch; ++i) {
    ssize_t n = ::read(fd_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return fail("reading", errno);
    }
    on_frame(now, std::span<const std::byte>(buf_.data(), static_cast<size_t>(n)));
  }
  backlog_ = true;
}

void TapPort::on_frame(Time now, std::span<const std::byte> frame) {
  bool offloaded = false;
  if (vnet_hdr_) {
    if (frame.size() < kVnetHdrLen) {
      ++stack_.counters().drop_malformed;
      return;
    }
    VnetHeader h;
    std::memcpy(&h, frame.data(), kVnetHdrLen);
    // NEEDS_CSUM: the checksum is partial (left to "hardware");
    // DATA_VALID: already verified. Either way, not ours to check.
    offloaded = (h.flags & (kVnetNeedsCsum | kVnetDataValid)) != 0;
    frame = frame.subspan(kVnetHdrLen);
  }
  if (divert_ && divert_(frame, offloaded)) return;
  if (pcap_) pcap_->write(frame);
  stack_.on_frame(now, frame, actions_, offloaded);
}

void TapPort::write(Time now, const Frame& frame) {
  if (pcap_) pcap_->write(frame.tail.empty() ? std::span<const std::byte>(frame) : frame.flat());
  auto& c = stack_.counters();
  ++c.frames_out;
  c.bytes_out += frame.wire_size();
  // The virtio-net header is in native byte order, as tun uses it without
  // TUNSETVNETLE/BE.
  VnetHeader h{};
  iovec iov[3];
  int n_iov = 0;
  if (vnet_hdr_) {
    const TapOffload& off = frame.offload;
    if (off.csum_partial) {
      h.flags = kVnetNeedsCsum;
      h.csum_start = off.csum_start;
      h.csum_offset = off.csum_offset;
    }
    if (off.gso_size) {
      h.gso_type = off.gso_v6 ? kVnetGsoTcpv6 : kVnetGsoTcpv4;
      h.gso_size = off.gso_size;
      h.hdr_len = off.hdr_len;
    }
    iov[n_iov++] = {&h, kVnetHdrLen};
  }
  iov[n_iov++] = {const_cast<std::byte*>(frame.data()), frame.size()};
  if (!frame.tail.empty()) iov[n_iov++] = {const_cast<std::byte*>(frame.tail.data()), frame.tail.size()};
  if (::writev(fd_.get(), iov, n_iov) < 0) {
    ++c.tap_write_errors;
    uint64_t suppressed = 0;
    if (write_error_log_.allow(now, &suppressed))
      LOG_WARN("tap write failed: %s (%llu similar suppressed)", std::strerror(errno),
               static_cast<unsigned long long>(suppressed));
  }
}

}  // namespace netd::tap
