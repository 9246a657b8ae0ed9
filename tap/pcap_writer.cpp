#include "tap/pcap_writer.h"

#include <cerrno>
#include <cstring>
#include <ctime>

namespace netd::tap {
namespace {
// Fields are written in host byte order; readers detect it from the magic.
struct FileHeader {
  uint32_t magic = 0xa1b2c3d4;  // microsecond timestamps
  uint16_t major = 2, minor = 4;
  int32_t thiszone = 0;
  uint32_t sigfigs = 0;
  uint32_t snaplen;
  uint32_t linktype = 1;  // LINKTYPE_ETHERNET
};
struct RecordHeader {
  uint32_t ts_sec, ts_usec, incl_len, orig_len;
};
}  // namespace

Expected<PcapWriter, std::string> PcapWriter::open(const std::string& path, uint32_t snaplen) {
  FILE* f = std::fopen(path.c_str(), "wbe");
  if (!f) return unexpected("cannot open pcap file " + path + ": " + std::strerror(errno));
  FileHeader h;
  h.snaplen = snaplen;
  if (std::fwrite(&h, sizeof h, 1, f) != 1) {
    std::fclose(f);
    return unexpected("cannot write pcap file " + path);
  }
  return PcapWriter(f, snaplen);
}

PcapWriter::~PcapWriter() {
  if (f_) std::fclose(f_);
}

void PcapWriter::write(std::span<const std::byte> frame) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  uint32_t incl = frame.size() > snaplen_ ? snaplen_ : static_cast<uint32_t>(frame.size());
  RecordHeader r{static_cast<uint32_t>(ts.tv_sec), static_cast<uint32_t>(ts.tv_nsec / 1000), incl,
                 static_cast<uint32_t>(frame.size())};
  std::fwrite(&r, sizeof r, 1, f_);
  std::fwrite(frame.data(), 1, incl, f_);
}

void PcapWriter::flush() { std::fflush(f_); }

}  // namespace netd::tap
