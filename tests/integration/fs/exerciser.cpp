// fsx-style concurrent exerciser for one file (an nvmefs namespace file).
//
//   exerciser FILE [--seed N] [--threads N] [--ops N] [--max-len SIZE]
//                  [--shared SIZE] [--stripe N] [--dump MODEL]
//   exerciser FILE --verify-file MODEL
//
// Layout: the first --shared bytes are shared by all threads, striped: byte b
// belongs to thread (b / stripe) % threads, so neighbouring stripes of
// different threads share LBAs and cache blocks (concurrent read-modify-
// write). The rest of the file is split into one private region per thread
// (boundaries deliberately not LBA-aligned). Each thread only ever changes
// its own bytes, so the model (one byte array, the file's expected contents)
// needs no lock: every thread checks the bytes it owns after each read.
//
// Operations (random, 1 B .. --max-len, aligned or not): pread, pwrite,
// O_DSYNC pwrite, fallocate PUNCH_HOLE|KEEP_SIZE and ZERO_RANGE (expected to
// read back as zeros), fsync, fdatasync; in the shared region small writes,
// zeroings and reads of one's own stripes; the last thread also writes and
// reads across EOF (expects short transfers). At the end the whole file is
// compared with the model; --dump writes the model to a file, and
// --verify-file compares FILE with such a dump (after a remount).
//
// On a mismatch: the seed, the thread, the operation, the first differing
// offset and the thread's last operations; exit 1. Exit 2: bad usage or I/O
// error.
#include <algorithm>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string file;
  uint64_t seed = 0;
  unsigned threads = 4;
  unsigned ops = 1000;  // per thread
  uint64_t max_len = 1 << 20;
  uint64_t shared = (4 << 20) + 1234;
  uint64_t stripe = 777;
  std::string dump;
  std::string verify_file;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "exerciser: %s\n", msg.c_str());
  std::exit(2);
}

[[noreturn]] void io_error(const std::string& what) {
  std::fprintf(stderr, "exerciser: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(2);
}

uint64_t parse_size(const std::string& s) {
  char* end = nullptr;
  errno = 0;
  uint64_t v = std::strtoull(s.c_str(), &end, 0);
  if (errno || end == s.c_str()) usage_error("invalid number '" + s + "'");
  switch (*end) {
    case 'K': v <<= 10; ++end; break;
    case 'M': v <<= 20; ++end; break;
    case 'G': v <<= 30; ++end; break;
    default: break;
  }
  if (*end) usage_error("invalid number '" + s + "'");
  return v;
}

Options parse_options(int argc, char** argv) {
  Options o;
  o.seed = std::random_device{}();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--seed") o.seed = parse_size(value());
    else if (a == "--threads") o.threads = unsigned(parse_size(value()));
    else if (a == "--ops") o.ops = unsigned(parse_size(value()));
    else if (a == "--max-len") o.max_len = parse_size(value());
    else if (a == "--shared") o.shared = parse_size(value());
    else if (a == "--stripe") o.stripe = parse_size(value());
    else if (a == "--dump") o.dump = value();
    else if (a == "--verify-file") o.verify_file = value();
    else if (!a.empty() && a[0] != '-' && o.file.empty()) o.file = a;
    else usage_error("unknown argument '" + a + "'");
  }
  if (o.file.empty()) usage_error("usage: exerciser FILE [--seed N] [--threads N] [--ops N] [--dump MODEL] | FILE --verify-file MODEL");
  if (o.threads == 0 || o.threads > 64) usage_error("--threads must be 1..64");
  if (o.stripe == 0 || o.max_len == 0) usage_error("--stripe and --max-len must be positive");
  return o;
}

// Reads exactly len bytes at off (or up to EOF); returns the count.
uint64_t read_fully(int fd, uint8_t* buf, uint64_t len, uint64_t off) {
  uint64_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf + done, len - done, off_t(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_error("pread at " + std::to_string(off + done));
    if (n == 0) break;
    done += uint64_t(n);
  }
  return done;
}

uint64_t file_size(int fd) {
  struct stat st{};
  if (fstat(fd, &st) != 0) io_error("fstat");
  return uint64_t(st.st_size);
}

// Compares the file with `expected` in 1 MiB chunks; returns the first
// differing offset or -1.
int64_t compare_file(int fd, const uint8_t* expected, uint64_t size) {
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t off = 0; off < size; off += buf.size()) {
    uint64_t len = std::min<uint64_t>(buf.size(), size - off);
    if (read_fully(fd, buf.data(), len, off) != len) return int64_t(off);
    if (std::memcmp(buf.data(), expected + off, len) != 0)
      for (uint64_t i = 0; i < len; ++i)
        if (buf[i] != expected[off + i]) return int64_t(off + i);
  }
  return -1;
}

enum class Kind { kRead, kWrite, kDsyncWrite, kPunch, kZero, kFsync, kFdatasync,
                  kSharedWrite, kSharedZero, kSharedRead, kEofWrite, kEofRead };

const char* kind_name(Kind k) {
  static const char* const names[] = {"read", "write", "dsync-write", "punch-hole", "zero-range", "fsync",
                                      "fdatasync", "shared-write", "shared-zero", "shared-read", "eof-write",
                                      "eof-read"};
  return names[int(k)];
}

struct Op {
  unsigned index;
  Kind kind;
  uint64_t off, len;
  std::string text() const {
    return std::to_string(index) + ": " + kind_name(kind) + " off=" + std::to_string(off) +
           " len=" + std::to_string(len) + " end=" + std::to_string(off + len);
  }
};

class Exerciser;

// One thread: its own generator, fds, buffers and history.
class Worker {
 public:
  Worker(Exerciser& ex, unsigned id);
  void run();

 private:
  Op next_op(unsigned index);
  uint64_t random_len(uint64_t max);
  uint64_t random_in(uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_); }
  void execute(const Op& op);
  void do_write(const Op& op, int fd, uint64_t expect);
  void do_zero(const Op& op, int mode);
  void do_read(const Op& op, uint64_t expect);
  bool owns(uint64_t b) const;
  [[noreturn]] void mismatch(const Op& op, uint64_t at, uint8_t want, uint8_t got);
  [[noreturn]] void failed(const Op& op, const std::string& what);

  Exerciser& ex_;
  unsigned id_;
  std::mt19937_64 rng_;
  int fd_ = -1, dsync_fd_ = -1;
  uint64_t region_begin_, region_end_;
  std::vector<uint8_t> buf_;
  std::deque<Op> history_;
};

class Exerciser {
 public:
  explicit Exerciser(const Options& o) : opts(o) {
    int fd = open(o.file.c_str(), O_RDONLY);
    if (fd < 0) io_error("open " + o.file);
    size = file_size(fd);
    uint64_t min_size = o.shared + uint64_t(o.threads) * 2 * o.max_len;
    if (size < min_size) usage_error("file too small: need at least " + std::to_string(min_size) + " bytes");
    model.resize(size);
    if (read_fully(fd, model.data(), size, 0) != size) usage_error("short read of the initial contents");
    close(fd);
  }

  // Private region of thread i: [begin, end), the last one ends at EOF.
  uint64_t region_begin(unsigned i) const { return opts.shared + i * ((size - opts.shared) / opts.threads); }
  uint64_t region_end(unsigned i) const { return i + 1 == opts.threads ? size : region_begin(i + 1); }

  int run() {
    std::printf("exerciser: %s seed=%llu threads=%u ops=%u max_len=%llu size=%llu\n", opts.file.c_str(),
                (unsigned long long)opts.seed, opts.threads, opts.ops, (unsigned long long)opts.max_len,
                (unsigned long long)size);
    std::fflush(stdout);
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < opts.threads; ++i)
      threads.emplace_back([this, i] { Worker(*this, i).run(); });
    for (auto& t : threads) t.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    int fd = open(opts.file.c_str(), O_RDONLY);
    if (fd < 0) io_error("open " + opts.file);
    int64_t bad = compare_file(fd, model.data(), size);
    close(fd);
    if (bad >= 0) {
      std::fprintf(stderr, "exerciser: FAIL seed=%llu final whole-file compare: first difference at %lld\n",
                   (unsigned long long)opts.seed, (long long)bad);
      return 1;
    }
    if (!opts.dump.empty()) write_dump();
    std::printf("exerciser: ok, %u ops in %.1f s (%.0f MiB written), whole file matches the model\n",
                opts.ops * opts.threads, secs, double(bytes_written.load()) / (1 << 20));
    return 0;
  }

  const Options& opts;
  uint64_t size = 0;
  std::vector<uint8_t> model;  // bytes are written only by their owning thread
  std::atomic<uint64_t> bytes_written{0};

 private:
  void write_dump() {
    FILE* f = std::fopen(opts.dump.c_str(), "wb");
    if (!f || std::fwrite(model.data(), 1, size, f) != size || std::fclose(f) != 0) io_error("write " + opts.dump);
  }
};

Worker::Worker(Exerciser& ex, unsigned id)
    : ex_(ex), id_(id), rng_(ex.opts.seed * 0x9E3779B97F4A7C15ull + id), region_begin_(ex.region_begin(id)),
      region_end_(ex.region_end(id)), buf_(ex.opts.max_len) {
  fd_ = open(ex.opts.file.c_str(), O_RDWR);
  dsync_fd_ = open(ex.opts.file.c_str(), O_RDWR | O_DSYNC);
  if (fd_ < 0 || dsync_fd_ < 0) io_error("open " + ex.opts.file);
}

bool Worker::owns(uint64_t b) const {
  if (b >= ex_.opts.shared) return b >= region_begin_ && b < region_end_;
  return (b / ex_.opts.stripe) % ex_.opts.threads == id_;
}

// Log-uniform lengths (many small, some up to max); half of them LBA multiples.
uint64_t Worker::random_len(uint64_t max) {
  double bits = std::uniform_real_distribution<double>(0, std::log2(double(max)))(rng_);
  uint64_t len = std::max<uint64_t>(1, uint64_t(std::exp2(bits)));
  if (len >= 512 && rng_() % 2) len &= ~uint64_t(511);
  return std::min(len, max);
}

Op Worker::next_op(unsigned index) {
  const uint64_t region = region_end_ - region_begin_;
  const uint64_t stripe = ex_.opts.stripe, n = ex_.opts.threads;
  const bool last = id_ + 1 == n;
  unsigned pick = unsigned(rng_() % 100);
  Kind kind = pick < 28 ? Kind::kWrite : pick < 52 ? Kind::kRead : pick < 58 ? Kind::kDsyncWrite
            : pick < 64 ? Kind::kPunch : pick < 70 ? Kind::kZero : pick < 73 ? Kind::kFsync
            : pick < 76 ? Kind::kFdatasync : pick < 84 ? Kind::kSharedWrite : pick < 87 ? Kind::kSharedZero
            : pick < 95 ? Kind::kSharedRead : last ? (pick < 97 ? Kind::kEofWrite : Kind::kEofRead) : Kind::kRead;
  Op op{index, kind, 0, 0};
  switch (kind) {
    case Kind::kFsync:
    case Kind::kFdatasync:
      break;
    case Kind::kSharedWrite:
    case Kind::kSharedZero: {  // a piece of one of my stripes
      uint64_t stripes = ex_.opts.shared / stripe;
      uint64_t s = (random_in(0, stripes / n - 1) * n + id_);
      uint64_t a = random_in(0, stripe - 1), b = random_in(0, stripe - 1);
      op.off = s * stripe + std::min(a, b);
      op.len = std::max(a, b) - std::min(a, b) + 1;
      break;
    }
    case Kind::kSharedRead:  // any range of the shared region; only my stripes are checked
      op.len = random_len(std::min<uint64_t>({ex_.opts.shared, ex_.opts.max_len, 256 << 10}));  // fits buf_
      op.off = random_in(0, ex_.opts.shared - op.len);
      break;
    case Kind::kEofWrite:
    case Kind::kEofRead:  // crosses EOF: a short transfer of the part before it
      op.len = random_len(ex_.opts.max_len - 1) + 1;
      op.off = ex_.size - random_in(1, op.len - 1 + (op.len == 1));
      break;
    default: {
      op.len = random_len(std::min(ex_.opts.max_len, region));
      uint64_t off = random_in(region_begin_, region_end_ - op.len);
      if (rng_() % 2) off = std::max(region_begin_, (off + 511) & ~uint64_t(511));          // LBA-aligned
      if (rng_() % 8 == 0) off = std::max(region_begin_, (off + 65535) & ~uint64_t(65535));  // cache-block aligned
      op.off = std::min(off, region_end_ - op.len);
    }
  }
  return op;
}

void Worker::run() {
  for (unsigned i = 0; i < ex_.opts.ops; ++i) {
    Op op = next_op(i);
    history_.push_back(op);
    if (history_.size() > 12) history_.pop_front();
    execute(op);
  }
  close(fd_);
  close(dsync_fd_);
}

void Worker::execute(const Op& op) {
  switch (op.kind) {
    case Kind::kWrite:
    case Kind::kSharedWrite: do_write(op, fd_, op.len); break;
    case Kind::kDsyncWrite: do_write(op, dsync_fd_, op.len); break;
    case Kind::kEofWrite: do_write(op, fd_, ex_.size - op.off); break;
    case Kind::kPunch: do_zero(op, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE); break;
    case Kind::kZero:
    case Kind::kSharedZero: do_zero(op, (rng_() % 2) ? FALLOC_FL_ZERO_RANGE : FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE); break;
    case Kind::kFsync: if (fsync(fd_) != 0) failed(op, std::string("fsync: ") + std::strerror(errno)); break;
    case Kind::kFdatasync: if (fdatasync(fd_) != 0) failed(op, std::string("fdatasync: ") + std::strerror(errno)); break;
    case Kind::kRead:
    case Kind::kSharedRead: do_read(op, op.len); break;
    case Kind::kEofRead: do_read(op, ex_.size - op.off); break;
  }
}

// Random bytes (never all zeros, so a lost write is visible), then pwrite;
// the model is updated once the write returned.
void Worker::do_write(const Op& op, int fd, uint64_t expect) {
  for (uint64_t i = 0; i < op.len; i += 8) {
    uint64_t r = rng_() | 0x0101010101010101ull;
    std::memcpy(buf_.data() + i, &r, std::min<uint64_t>(8, op.len - i));
  }
  ssize_t n = pwrite(fd, buf_.data(), op.len, off_t(op.off));
  if (n < 0) failed(op, std::string("pwrite: ") + std::strerror(errno));
  if (uint64_t(n) != expect)
    failed(op, "pwrite returned " + std::to_string(n) + ", expected " + std::to_string(expect));
  std::memcpy(ex_.model.data() + op.off, buf_.data(), expect);
  ex_.bytes_written += expect;
}

void Worker::do_zero(const Op& op, int mode) {
  if (fallocate(fd_, mode, off_t(op.off), off_t(op.len)) != 0)
    failed(op, std::string("fallocate mode ") + std::to_string(mode) + ": " + std::strerror(errno));
  std::memset(ex_.model.data() + op.off, 0, op.len);
}

void Worker::do_read(const Op& op, uint64_t expect) {
  uint64_t n = read_fully(fd_, buf_.data(), op.len, op.off);
  if (n != expect) failed(op, "pread returned " + std::to_string(n) + ", expected " + std::to_string(expect));
  const uint8_t* want = ex_.model.data() + op.off;
  bool private_read = op.kind != Kind::kSharedRead;
  if (private_read && std::memcmp(buf_.data(), want, n) == 0) return;  // fast path: all bytes are mine
  for (uint64_t i = 0; i < n; ++i)
    if (owns(op.off + i) && buf_[i] != want[i]) mismatch(op, op.off + i, want[i], buf_[i]);
}

void Worker::mismatch(const Op& op, uint64_t at, uint8_t want, uint8_t got) {
  char what[128];
  std::snprintf(what, sizeof what, "data mismatch at offset %llu: expected 0x%02x, read 0x%02x",
                (unsigned long long)at, want, got);
  failed(op, what);
}

void Worker::failed(const Op& op, const std::string& what) {
  std::fprintf(stderr, "exerciser: FAIL seed=%llu thread=%u op %s: %s\n  last operations of this thread:\n",
               (unsigned long long)ex_.opts.seed, id_, op.text().c_str(), what.c_str());
  for (const Op& h : history_) std::fprintf(stderr, "    %s\n", h.text().c_str());
  std::exit(1);
}

int verify_file(const Options& o) {
  int fd = open(o.file.c_str(), O_RDONLY);
  if (fd < 0) io_error("open " + o.file);
  uint64_t size = file_size(fd);
  std::vector<uint8_t> model(size);
  int mfd = open(o.verify_file.c_str(), O_RDONLY);
  if (mfd < 0) io_error("open " + o.verify_file);
  if (file_size(mfd) != size) usage_error("model size differs from the file size");
  if (read_fully(mfd, model.data(), size, 0) != size) usage_error("short read of the model");
  close(mfd);
  int64_t bad = compare_file(fd, model.data(), size);
  close(fd);
  if (bad >= 0) {
    std::fprintf(stderr, "exerciser: FAIL %s differs from %s at offset %lld\n", o.file.c_str(),
                 o.verify_file.c_str(), (long long)bad);
    return 1;
  }
  std::printf("exerciser: %s matches %s (%llu bytes)\n", o.file.c_str(), o.verify_file.c_str(),
              (unsigned long long)size);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_options(argc, argv);
  if (!o.verify_file.empty()) return verify_file(o);
  return Exerciser(o).run();
}
