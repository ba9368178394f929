// What the target exports: subsystems with their namespaces and host lists.
// Namespaces and subsystems can change at runtime (--control): a subsystem's
// namespaces are an immutable table replaced as a whole; queues read a
// snapshot of it without locks and refresh it when the generation moves.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "options.hpp"
#include "storage.hpp"

namespace nvmefs::target {

// Identify Controller NN: NSIDs 1..kMaxNsid are valid (as Linux nvmet, NVMET_MAX_NAMESPACES).
inline constexpr uint32_t kMaxNsid = 1024;

struct Namespace {
  uint32_t nsid = 0;
  std::shared_ptr<Storage> storage;  // shared by the tables before and after a resize
  uint32_t lba_shift = 9;
  uint64_t lba_count = 0;
  std::array<uint8_t, 16> nguid{};  // derived from subsystem NQN + NSID: stable across runs
  std::array<uint8_t, 16> uuid{};
};

// The active namespaces of a subsystem at one moment. Never changed once published.
struct NamespaceTable {
  std::vector<std::shared_ptr<const Namespace>> by_nsid;  // [nsid - 1], null = inactive

  const Namespace* find(uint32_t nsid) const {
    return nsid - 1u < by_nsid.size() ? by_nsid[nsid - 1].get() : nullptr;  // nsid 0 wraps: not found
  }
  template <typename F>
  void for_each(F f) const {
    for (const auto& ns : by_nsid)
      if (ns) f(*ns);
  }
};

class Subsystem {
 public:
  std::string nqn;
  std::string serial;
  std::string model;
  std::vector<std::string> allowed_hosts;  // empty = any host

  bool host_allowed(const std::string& hostnqn) const;

  // A snapshot of the namespaces (admin path, and queues refreshing theirs).
  std::shared_ptr<const NamespaceTable> namespaces() const;
  // Moves on every change: a queue whose snapshot is older re-reads namespaces().
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Control path only (one writer at a time): publishes a new table.
  void set_namespaces(std::shared_ptr<const NamespaceTable> table);

 private:
  mutable std::mutex mu_;  // guards table_ (never taken on the I/O path)
  std::shared_ptr<const NamespaceTable> table_ = std::make_shared<const NamespaceTable>();
  std::atomic<uint64_t> generation_{0};
};

// The subsystems being served, and the discovery log's generation counter.
class SubsystemRegistry {
 public:
  std::shared_ptr<Subsystem> find(const std::string& nqn) const;
  std::vector<std::shared_ptr<Subsystem>> all() const;
  // The subsystems and the GENCTR that goes with them (NVMe Base 2.0 §5.16.1.23).
  std::vector<std::shared_ptr<Subsystem>> all(uint64_t& genctr) const;
  // False when a subsystem with that NQN exists. Each change increments GENCTR.
  bool add(std::shared_ptr<Subsystem> sub);
  std::shared_ptr<Subsystem> remove(const std::string& nqn);

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Subsystem>> subsystems_;
  uint64_t genctr_ = 1;
};

// Opens the storage of namespace `nsid` of `subnqn`; throws nvmefs::Error with one line.
std::shared_ptr<const Namespace> make_namespace(const std::string& subnqn, uint32_t nsid, const NamespaceSpec& spec,
                                                const Options& o);
// The same namespace with a new size (the storage already has it).
std::shared_ptr<const Namespace> resized_namespace(const Namespace& ns);
// A subsystem as --nqn/--ns describe it; throws nvmefs::Error with one line.
std::shared_ptr<Subsystem> make_subsystem(const SubsystemSpec& spec, const Options& o);
// Every subsystem of the command line.
void build_subsystems(const Options& o, SubsystemRegistry& out);

}  // namespace nvmefs::target
