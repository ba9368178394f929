#include "nvmefs/common/uri.hpp"

#include "nvmefs/common/size_parse.hpp"

#include <cctype>
#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs {
namespace {

bool valid_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

}  // namespace

std::optional<NvmeUri> parse_nvme_uri(std::string_view uri, std::string& error) {
  NvmeUri out;
  auto sep = uri.find("://");
  if (sep == std::string_view::npos) {
    error = "'" + std::string(uri) + "' is not an NVMe URI (expected nvme+tcp://HOST[:PORT]/SUBSYSNQN)";
    return std::nullopt;
  }
  std::string_view scheme = uri.substr(0, sep);
  if (scheme == "nvme+tcp") out.tid.trtype = "tcp";
  else if (scheme == "nvme+rdma") out.tid.trtype = "rdma";
  else {
    error = "unsupported URI scheme '" + std::string(scheme) + "' (use nvme+tcp:// or nvme+rdma://)";
    return std::nullopt;
  }
  std::string_view rest = uri.substr(sep + 3);
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);

  std::string_view host, port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated IPv6 address in '" + std::string(uri) + "'";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "unexpected text after IPv6 address in '" + std::string(uri) + "'";
        return std::nullopt;
      }
      port = after.substr(1);
    }
    for (char c : host)
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) {
        error = "invalid IPv6 address '" + std::string(host) + "'";
        return std::nullopt;
      }
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    for (char c : host)
      if (!valid_host_char(c)) {
        error = "invalid host name '" + std::string(host) + "' in '" + std::string(uri) + "'";
        return std::nullopt;
      }
  }
  if (host.empty()) {
    error = "missing host in '" + std::string(uri) + "' (expected nvme+tcp://HOST[:PORT]/SUBSYSNQN)";
    return std::nullopt;
  }
  if (authority.back() == ':' || (!port.empty() && (!parse_uint(port) || *parse_uint(port) == 0 ||
                                                     *parse_uint(port) > 65535))) {
    error = "invalid port '" + std::string(port) + "' in '" + std::string(uri) + "'";
    return std::nullopt;
  }
  out.tid.traddr = std::string(host);

  // path: SUBSYSNQN[/NSID]. An NQN never contains '/', so the last segment
  // is an NSID only if it is all digits and follows an NQN.
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::string_view nqn = path;
  auto nslash = path.find('/');
  if (nslash != std::string_view::npos) {
    nqn = path.substr(0, nslash);
    std::string_view ns = path.substr(nslash + 1);
    auto n = parse_uint(ns);
    if (!n || *n == 0 || *n > 0xFFFFFFFEu) {
      error = "invalid namespace ID '" + std::string(ns) + "' in '" + std::string(uri) + "'";
      return std::nullopt;
    }
    out.nsid = uint32_t(*n);
  }
  if (!nqn.empty()) {
    if (nqn.size() > 223) {  // NVMe Base §4.5: NQN is at most 223 bytes
      error = "subsystem NQN longer than 223 bytes";
      return std::nullopt;
    }
    if (nqn.substr(0, 4) != "nqn.") {
      error = "subsystem NQN '" + std::string(nqn) + "' does not start with 'nqn.'";
      return std::nullopt;
    }
  }
  out.tid.subnqn = nqn.empty() ? std::string(wire::kDiscoveryNqn) : std::string(nqn);
  out.discovery = out.tid.subnqn == wire::kDiscoveryNqn;
  // NVMe/TCP discovery listens on 8009 (IANA); NVMe/RDMA uses 4420 for both.
  bool tcp_discovery = out.discovery && out.tid.trtype == "tcp";
  out.tid.trsvcid = !port.empty() ? std::string(port)
                                  : std::string(tcp_discovery ? host::kDefaultDiscoveryPort : host::kDefaultIoPort);
  return out;
}

std::string format_nvme_uri(const host::TransportId& tid) {
  std::string host = tid.traddr.find(':') != std::string::npos ? "[" + tid.traddr + "]" : tid.traddr;
  std::string s = "nvme+" + tid.trtype + "://" + host;
  if (!tid.trsvcid.empty()) s += ":" + tid.trsvcid;
  if (!tid.subnqn.empty() && tid.subnqn != wire::kDiscoveryNqn) s += "/" + tid.subnqn;
  return s;
}

}  // namespace nvmefs
