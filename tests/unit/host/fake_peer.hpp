// Test helpers: a scripted NVMe/TCP controller on the other end of a
// socketpair (reads and writes PDUs with the wire codecs), and a recorder of
// what a queue pair reports upward.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "nvmefs/transport/queue_pair.hpp"
#include "nvmefs/wire/crc32c.hpp"
#include "nvmefs/wire/tcp_pdu.hpp"

namespace test {

namespace tcp = nvmefs::wire::tcp;

struct Events : nvmefs::transport::QueueEvents {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<nvmefs::wire::Cqe> cqes;
  bool broken = false;
  int err = 0;
  std::string why;

  void on_completion(const nvmefs::wire::Cqe& c) override {
    std::lock_guard lk(mu);
    cqes.push_back(c);
    cv.notify_all();
  }
  void on_broken(int e, const std::string& w) override {
    std::lock_guard lk(mu);
    broken = true;
    err = e;
    why = w;
    cv.notify_all();
  }
  bool wait_cqes(size_t n) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(5), [&] { return cqes.size() >= n; });
  }
  bool wait_broken() {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(5), [&] { return broken; });
  }
};

// The controller side of the socketpair.
struct Peer {
  int fd = -1;
  tcp::Digests digests;

  void write_all(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    while (n) {
      ssize_t r = ::send(fd, b, n, MSG_NOSIGNAL);
      if (r <= 0) return;
      b += r;
      n -= size_t(r);
    }
  }
  bool read_all(void* p, size_t n) {
    auto* b = static_cast<uint8_t*>(p);
    while (n) {
      ssize_t r = ::recv(fd, b, n, 0);
      if (r <= 0) return false;
      b += r;
      n -= size_t(r);
    }
    return true;
  }
  // Reads one host PDU: its header area and its data (digest checked if any).
  bool read_pdu(tcp::CommonHeader& ch, std::vector<uint8_t>& hdr, std::vector<uint8_t>& data) {
    hdr.assign(tcp::kMaxHeaderArea, 0);
    if (!read_all(hdr.data(), tcp::kCommonHeaderLen)) return false;
    if (tcp::parse_common_header({hdr.data(), 8}, tcp::Receiver::Controller, digests, 1u << 26, ch) !=
        tcp::PduError::Ok)
      return false;
    size_t hal = tcp::header_area_len(ch);
    if (!read_all(hdr.data() + 8, hal - 8)) return false;
    hdr.resize(hal);
    size_t pad = tcp::data_offset(ch) > hal ? tcp::data_offset(ch) - hal : 0;
    std::vector<uint8_t> skip(pad);
    if (pad && !read_all(skip.data(), pad)) return false;
    data.assign(tcp::data_length(ch), 0);
    if (!data.empty() && !read_all(data.data(), data.size())) return false;
    if (tcp::has_data_digest(ch)) {
      uint8_t d[4];
      if (!read_all(d, 4) || nvmefs::wire::get_le32(d) != nvmefs::wire::crc32c(data.data(), data.size())) return false;
    }
    return true;
  }
  void send_resp(uint16_t cid, uint16_t status = 0) {
    nvmefs::wire::Cqe c;
    c.set_cid(cid);
    c.set_status(status);
    uint8_t b[tcp::kMaxHeaderArea];
    write_all(b, tcp::encode_capsule_resp(c, digests, b));
  }
  void send_c2h(uint16_t cid, uint32_t off, const std::vector<uint8_t>& d, uint8_t flags) {
    tcp::DataHeader h;
    h.cccid = cid;
    h.datao = off;
    h.datal = uint32_t(d.size());
    h.flags = flags;
    uint8_t b[tcp::kMaxHeaderArea];
    write_all(b, tcp::encode_c2h_data(h, digests, 0, b));
    write_all(d.data(), d.size());
    if (digests.data) {
      uint8_t dg[4];
      nvmefs::wire::put_le32(dg, nvmefs::wire::crc32c(d.data(), d.size()));
      write_all(dg, 4);
    }
  }
};

}  // namespace test
