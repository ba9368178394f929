// Writes the seed corpora of the fuzz targets into ROOT/<target>/:
// fuzz_tcp_pdu: one valid PDU of every type for the side that receives it,
// with and without digests, PDA 0 and non-zero, each prefixed by the
// configuration byte (fuzz_config.hpp); fuzz_discovery_log: a two-entry log;
// fuzz_uri: a few URIs and sizes.
// Usage: make_fuzz_corpus ROOT   (ROOT = tests/fuzz/corpus)
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_config.hpp"
#include "nvmefs/wire/discovery_log.hpp"
#include "pdu_receive.hpp"

using namespace nvmefs::wire;
using namespace nvmefs::wire::tcp;

namespace {

void write_file(const std::string& path, std::span<const uint8_t> bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
}

void write_pdu_seeds(const std::string& dir) {
  int count = 0;
  auto write = [&](Receiver who, Digests d, uint8_t pda, std::span<const uint8_t> area,
                   std::span<const uint8_t> data = {}) {
    auto pdu = testing::whole_pdu(area, data);
    pdu.insert(pdu.begin(), fuzzing::encode_config(who, d, pda));
    write_file(dir + "/seed-" + std::to_string(count++), pdu);
  };
  std::array<uint8_t, kMaxHeaderArea> a;
  std::vector<uint8_t> data(64, 0xA5);
  auto H = Receiver::Host;
  auto C = Receiver::Controller;
  write(C, {}, 0, std::span(a).first(encode_icreq(IcReq{.pfv = 0, .hpda = 0, .digests = {true, true}, .maxr2t = 0}, a)));
  write(H, {}, 0, std::span(a).first(encode_icresp(IcResp{.pfv = 0, .cpda = 0, .digests = {}, .maxh2cdata = 131072}, a)));
  write(H, {}, 0, std::span(a).first(encode_term_req(PduType::C2HTermReq,
                                                     TermReq{.fes = TermFes::InvalidHeaderField, .fei = 2,
                                                             .pdu_header = std::span(data).first(24)},
                                                     a)));
  for (Digests d : {Digests{false, false}, Digests{true, true}}) {
    for (uint8_t pda : {uint8_t(0), uint8_t(2)}) {
      write(C, d, pda, std::span(a).first(encode_capsule_cmd(cmd::read(1, 8, 8), 0, d, pda, a)));
      write(C, d, pda, std::span(a).first(encode_capsule_cmd(cmd::write(1, 8, 1), 64, d, pda, a)), data);
      write(H, d, pda, std::span(a).first(encode_capsule_resp(Cqe{}, d, a)));
      write(C, d, pda,
            std::span(a).first(encode_h2c_data(DataHeader{.cccid = 1, .ttag = 1, .datao = 0, .datal = 64,
                                                          .flags = kFlagLastPdu},
                                               d, pda, a)),
            data);
      write(H, d, pda,
            std::span(a).first(encode_c2h_data(DataHeader{.cccid = 1, .ttag = 0, .datao = 0, .datal = 64,
                                                          .flags = kFlagLastPdu | kFlagSuccess},
                                               d, pda, a)),
            data);
      write(H, d, pda, std::span(a).first(encode_r2t(R2t{.cccid = 1, .ttag = 1, .r2to = 0, .r2tl = 4096}, d, a)));
    }
  }
}

void write_discovery_seed(const std::string& dir) {
  std::vector<uint8_t> log(kDiscoveryLogHeaderLen + 2 * kDiscoveryLogEntryLen, 0);
  put_le64(&log[0], 5);  // genctr
  put_le64(&log[8], 2);  // numrec
  for (int i = 0; i < 2; ++i) {
    auto* e = reinterpret_cast<nvmf_disc_log_entry*>(&log[kDiscoveryLogHeaderLen + i * kDiscoveryLogEntryLen]);
    e->trtype = NVMF_TRTYPE_TCP;
    e->adrfam = NVMF_ADDR_FAMILY_IP4;
    e->subtype = i == 0 ? NVME_NQN_CURR : NVME_NQN_NVME;
    std::memcpy(e->trsvcid, i == 0 ? "8009" : "4420", 4);
    const char* nqn = i == 0 ? kDiscoveryNqn : "nqn.2024-01.io.example:disk";
    std::memcpy(e->subnqn, nqn, std::strlen(nqn));
    std::memcpy(e->traddr, "10.0.2.15", 9);
  }
  write_file(dir + "/seed-0", log);
}

void write_uri_seeds(const std::string& dir) {
  const char* seeds[] = {
      "nvme+tcp://192.168.1.10/nqn.2024-01.io.example:disk1",
      "nvme+tcp://[fe80::1]:4420/nqn.2024-01.io.example:a/7",
      "nvme+rdma://storage.example.com:8009",
      "64MiB",
      "-1",
  };
  int count = 0;
  for (const char* s : seeds)
    write_file(dir + "/seed-" + std::to_string(count++),
               std::span(reinterpret_cast<const uint8_t*>(s), std::strlen(s)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
    return 2;
  }
  std::string root = argv[1];
  write_pdu_seeds(root + "/fuzz_tcp_pdu");
  write_discovery_seed(root + "/fuzz_discovery_log");
  write_uri_seeds(root + "/fuzz_uri");
  return 0;
}
