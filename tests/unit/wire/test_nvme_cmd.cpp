#include <doctest/doctest.h>

#include "nvmefs/wire/nvme_cmd.hpp"

using namespace nvmefs::wire;

TEST_CASE("cmd: connect") {
  Sqe s = cmd::connect(3, 127, 5000, true);
  CHECK(s.opcode() == 0x7F);
  CHECK(s.flags() == kPsdtSgl);
  CHECK(s.fctype() == 0x01);
  CHECK((s.cdw(10) & 0xFFFF) == 0);        // RECFMT
  CHECK((s.cdw(10) >> 16) == 3);           // QID
  CHECK((s.cdw(11) & 0xFFFF) == 127);      // SQSIZE
  CHECK(((s.cdw(11) >> 16) & 0xFF) == 0x04);  // CATTR: SQ flow control disabled
  CHECK(s.cdw(12) == 5000);                // KATO
  CHECK(cmd::connect(0, 31, 0, false).cdw(11) == 31);
}

TEST_CASE("cmd: property get / set") {
  Sqe g = cmd::property_get(kPropCap, true);
  CHECK(g.opcode() == 0x7F);
  CHECK(g.fctype() == 0x04);
  CHECK(g.cdw(10) == 1);
  CHECK(g.cdw(11) == kPropCap);
  CHECK(cmd::property_get(kPropCsts, false).cdw(10) == 0);

  Sqe s = cmd::property_set(kPropCc, 0x0046'0001ull, false);
  CHECK(s.fctype() == 0x00);
  CHECK(s.cdw(10) == 0);
  CHECK(s.cdw(11) == kPropCc);
  CHECK(s.cdw(12) == 0x0046'0001u);
  CHECK(s.cdw(13) == 0);
  Sqe s8 = cmd::property_set(0x40, 0x1122334455667788ull, true);
  CHECK(s8.cdw(10) == 1);
  CHECK(s8.cdw(12) == 0x55667788u);
  CHECK(s8.cdw(13) == 0x11223344u);
}

TEST_CASE("cmd: identify") {
  Sqe s = cmd::identify(NVME_IDENTIFY_CNS_CSI_NS, 7, 0x1234, NVME_CSI_ZNS);
  CHECK(s.opcode() == 0x06);
  CHECK(s.nsid() == 7);
  CHECK((s.cdw(10) & 0xFF) == NVME_IDENTIFY_CNS_CSI_NS);
  CHECK((s.cdw(10) >> 16) == 0x1234);
  CHECK((s.cdw(11) >> 24) == NVME_CSI_ZNS);
  CHECK((s.cdw(11) & 0x00FFFFFF) == 0);
  CHECK(s.flags() == kPsdtSgl);
}

TEST_CASE("cmd: get log page splits NUMD and offset") {
  // 1 MiB + 4 bytes: NUMD = 0x40000 (0-based) so NUMDU is non-zero.
  Sqe s = cmd::get_log_page(0x70, 0, (1u << 20) + 4, 0x1'0000'2000ull, 0x5, true);
  CHECK(s.opcode() == 0x02);
  CHECK((s.cdw(10) & 0xFF) == 0x70);
  CHECK(((s.cdw(10) >> 8) & 0x7F) == 0x5);
  CHECK(((s.cdw(10) >> 15) & 1) == 1);
  uint32_t numd = (s.cdw(10) >> 16) | ((s.cdw(11) & 0xFFFF) << 16);
  CHECK(numd == ((1u << 20) + 4) / 4 - 1);
  CHECK(s.cdw(12) == 0x2000);
  CHECK(s.cdw(13) == 0x1);
  Sqe small = cmd::get_log_page(0x02, 0xFFFFFFFF, 512, 0);
  CHECK((small.cdw(10) >> 16) == 127);
  CHECK(small.cdw(11) == 0);
  CHECK(((small.cdw(10) >> 15) & 1) == 0);
  CHECK(small.nsid() == 0xFFFFFFFF);
}

TEST_CASE("cmd: features, keep alive, AER") {
  Sqe s = cmd::set_features(NVME_FEAT_FID_NUM_QUEUES, 0x0003'0003, 9);
  CHECK(s.opcode() == 0x09);
  CHECK(s.cdw(10) == NVME_FEAT_FID_NUM_QUEUES);
  CHECK(s.cdw(11) == 0x0003'0003u);
  CHECK(s.cdw(12) == 9);
  Sqe g = cmd::get_features(NVME_FEAT_FID_ASYNC_EVENT, 2);
  CHECK(g.opcode() == 0x0A);
  CHECK(g.cdw(10) == NVME_FEAT_FID_ASYNC_EVENT);
  CHECK(g.cdw(11) == 2);
  CHECK(cmd::keep_alive().opcode() == 0x18);
  CHECK(cmd::async_event_request().opcode() == 0x0C);
}

TEST_CASE("cmd: read / write / flush") {
  Sqe r = cmd::read(1, 0x1'2345'6789ull, 8, false);
  CHECK(r.opcode() == 0x02);
  CHECK(r.nsid() == 1);
  CHECK(r.cdw(10) == 0x2345'6789u);
  CHECK(r.cdw(11) == 0x1u);
  CHECK(r.cdw(12) == 7);  // NLB is 0-based
  CHECK(r.flags() == kPsdtSgl);
  Sqe w = cmd::write(2, 100, 65536, true);
  CHECK(w.opcode() == 0x01);
  CHECK((w.cdw(12) & 0xFFFF) == 0xFFFF);
  CHECK(((w.cdw(12) >> 30) & 1) == 1);
  Sqe f = cmd::flush(5);
  CHECK(f.opcode() == 0x00);
  CHECK(f.nsid() == 5);
}

TEST_CASE("cmd: write zeroes and dataset management") {
  Sqe z = cmd::write_zeroes(1, 64, 16, true);
  CHECK(z.opcode() == 0x08);
  CHECK(z.cdw(10) == 64);
  CHECK((z.cdw(12) & 0xFFFF) == 15);
  CHECK(((z.cdw(12) >> 25) & 1) == 1);
  CHECK(((cmd::write_zeroes(1, 0, 1, false).cdw(12) >> 25) & 1) == 0);
  Sqe d = cmd::dataset_management_deallocate(3, 256);
  CHECK(d.opcode() == 0x09);
  CHECK(d.nsid() == 3);
  CHECK((d.cdw(10) & 0xFF) == 255);
  CHECK(d.cdw(11) == 0x4);
}

TEST_CASE("cmd: builders leave CID and SGL to the caller") {
  Sqe s = cmd::read(1, 0, 1);
  CHECK(s.cid() == 0);
  CHECK(s.sgl_addr() == 0);
  CHECK(s.sgl_length() == 0);
  s.set_cid(0xBEEF);
  s.set_sgl(0, 4096, kSglTransportDataBlock);
  CHECK(s.cid() == 0xBEEF);
  CHECK(s.sgl_length() == 4096);
  CHECK(s.sgl_type() == 0x5A);
}

TEST_CASE("cqe: status decoding") {
  Cqe c;
  c.set_status(status::kDnrBit | status::kConnectInvalidHost);
  CHECK((get_le16(c.b + 14) & 1) == 0);  // phase tag untouched
  CHECK(c.dnr());
  CHECK(c.sct() == 1);
  CHECK(c.sc() == 0x84);
  CHECK(status_name(c.status()) == "connect: invalid host");
}

TEST_CASE("status names") {
  CHECK(status_name(status::kSuccess) == "success");
  CHECK(status_name(status::kInvalidField) == "invalid field in command");
  CHECK(status_name(status::kLbaOutOfRange) == "LBA out of range");
  CHECK(status_name(status::kInvalidLogPage) == "invalid log page");
  CHECK(status_name(status::kConnectIncompatibleFormat) == "connect: incompatible format");
  CHECK(status_name(status::kConnectRestartDiscovery) == "connect: restart discovery");
  CHECK(status_name(status::kAuthRequired) == "authentication required");
  CHECK(status_name(status::kUnrecoveredReadError) == "unrecovered read error");
  CHECK(status_name(status::kAsymmetricAccessTransition) == "asymmetric access transition");
  CHECK(status_name(0x0302 | status::kDnrBit | 0x2000) == "asymmetric access inaccessible");  // DNR, MORE ignored
  CHECK(status_name(0x00FF) == "unknown generic status");
  CHECK(status_name(0x07C0) == "vendor specific status");
}
