#include "rdma_cm_wait.hpp"

#include <netdb.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"

namespace nvmefs::transport::rdma {

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return int(std::max<long long>(left, 1));
}

CmEvent wait_cm_event(rdma_event_channel* ch, Clock::time_point deadline, const std::string& peer, const char* what) {
  for (;;) {
    rdma_cm_event* ev = nullptr;
    if (rdma_get_cm_event(ch, &ev) == 0) {
      CmEvent out;
      out.type = ev->event;
      out.status = ev->status;
      const auto& conn = ev->param.conn;
      if (conn.private_data && conn.private_data_len) {
        const auto* p = static_cast<const uint8_t*>(conn.private_data);
        out.private_data.assign(p, p + conn.private_data_len);
      }
      rdma_ack_cm_event(ev);
      return out;
    }
    if (errno != EAGAIN && errno != EINTR)
      throw Error(fmt::format("{}: {}: {}", peer, what, std::strerror(errno)), errno);
    if (Clock::now() >= deadline) throw Error(fmt::format("{}: {} timed out", peer, what), ETIMEDOUT);
    pollfd pfd{ch->fd, POLLIN, 0};
    ::poll(&pfd, 1, ms_left(deadline));
  }
}

namespace {
void expect(const CmEvent& ev, rdma_cm_event_type want, const std::string& peer, const char* what) {
  if (ev.type == want) return;
  throw Error(fmt::format("{}: {} failed: {} (status {})", peer, what, rdma_event_str(ev.type), ev.status),
              ev.status < 0 ? -ev.status : EHOSTUNREACH);
}
}  // namespace

void resolve(rdma_cm_id* id, const std::string& host, const std::string& port, Clock::time_point deadline,
             const std::string& peer) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int r = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); r != 0)
    throw Error(fmt::format("{}: cannot resolve address: {}", peer, gai_strerror(r)), EHOSTUNREACH);
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  if (rdma_resolve_addr(id, nullptr, res->ai_addr, ms_left(deadline)) != 0)
    throw Error(fmt::format("{}: address resolution: {}", peer, std::strerror(errno)), errno);
  expect(wait_cm_event(id->channel, deadline, peer, "address resolution"), RDMA_CM_EVENT_ADDR_RESOLVED, peer,
         "address resolution (no RDMA device for this address?)");
  if (rdma_resolve_route(id, ms_left(deadline)) != 0)
    throw Error(fmt::format("{}: route resolution: {}", peer, std::strerror(errno)), errno);
  expect(wait_cm_event(id->channel, deadline, peer, "route resolution"), RDMA_CM_EVENT_ROUTE_RESOLVED, peer,
         "route resolution");
}

}  // namespace nvmefs::transport::rdma
