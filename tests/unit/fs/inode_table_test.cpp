// The dynamic inode table (src/fs/inode_table): adding and removing while
// the kernel holds references, the lookup-count/forget protocol, open
// handles keeping removed nodes alive, inode numbers never reused, and
// concurrent readers and writers.
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include "../../../src/fs/inode_table.hpp"
#include "../../../src/fs/open_files.hpp"
#include "../../support/memory_device.hpp"
#include "nvmefs/common/error.hpp"

using namespace nvmefs;
using namespace nvmefs::fs;

namespace {

FileSpec file(const std::string& name, uint64_t size = 4096) {
  FileSpec f;
  f.name = name;
  f.dev = std::make_shared<testing::MemoryDevice>(size, 1);
  return f;
}

DirSpec tree() {
  DirSpec root;
  root.files.push_back(file("ns1"));
  root.dirs.push_back(DirSpec{"sub", {}, {file("ns2"), file("ns3")}});
  return root;
}

std::vector<std::string> names(const InodeTable& t, fuse_ino_t dir, off_t off = 0) {
  std::vector<InodeTable::DirEntry> entries;
  REQUIRE(t.list(dir, off, entries));
  std::vector<std::string> out;
  for (auto& e : entries) out.push_back(e.name);
  return out;
}

}  // namespace

TEST_CASE("the initial tree resolves by name and by path") {
  InodeTable t(tree());
  CHECK(t.size() == 5);
  NodeRef sub = t.lookup(FUSE_ROOT_ID, "sub");
  REQUIRE(sub);
  CHECK(sub->is_dir);
  CHECK(sub->nlookup == 1);
  NodeRef ns2 = t.lookup(sub->ino, "ns2");
  REQUIRE(ns2);
  CHECK(t.find("sub/ns2") == ns2);
  CHECK(t.find("/sub//ns2/") == ns2);
  CHECK(t.find("") == t.get(FUSE_ROOT_ID));
  CHECK_FALSE(t.lookup(FUSE_ROOT_ID, "nope"));
  CHECK_FALSE(t.find("ns1/x"));  // below a file
  CHECK(names(t, FUSE_ROOT_ID) == std::vector<std::string>{".", "..", "sub", "ns1"});  // inode order
  CHECK_THROWS_AS(InodeTable(DirSpec{"", {}, {file("a"), file("a")}}), Error);
  CHECK_THROWS_AS(InodeTable(DirSpec{"", {}, {file("..")}}), Error);
}

TEST_CASE("add_file creates missing directories and refuses duplicates and bad names") {
  InodeTable t(tree());
  auto a = t.add_file("", file("ns9"));
  CHECK(a.parent == FUSE_ROOT_ID);
  CHECK(a.name == "ns9");
  REQUIRE(t.find("ns9"));
  CHECK(t.find("ns9")->ino == a.ino);

  // Nested, two directories missing: the kernel needs to hear about the first only.
  auto b = t.add_file("nqn.x/deep", file("ns1"));
  CHECK(b.parent == FUSE_ROOT_ID);
  CHECK(b.name == "nqn.x");
  REQUIRE(t.find("nqn.x/deep/ns1"));
  CHECK(t.find("nqn.x/deep")->is_dir);
  // An existing directory: the entry is the file itself.
  auto c = t.add_file("nqn.x/deep", file("ns2"));
  CHECK(c.parent == t.find("nqn.x/deep")->ino);
  CHECK(c.name == "ns2");

  CHECK_THROWS_AS(t.add_file("", file("ns1")), Error);          // exists
  CHECK_THROWS_AS(t.add_file("sub", file("ns2")), Error);       // exists, nested
  CHECK_THROWS_AS(t.add_file("ns1", file("x")), Error);         // a path component is a file
  CHECK_THROWS_AS(t.add_file("", file("a/b")), Error);          // invalid names
  CHECK_THROWS_AS(t.add_file("", file(".")), Error);
  CHECK_THROWS_AS(t.add_file("..", file("x")), Error);
  CHECK_THROWS_AS(t.add_file("", FileSpec{"nodev", nullptr}), Error);
  CHECK(t.size() == 5 + 1 + 3 + 1);  // nothing half-added by the failures
}

TEST_CASE("a removed name no longer resolves; a never-looked-up node is freed at once") {
  InodeTable t(tree());
  size_t held = t.held();
  fuse_ino_t ino = t.find("ns1")->ino;
  auto r = t.remove("ns1");
  REQUIRE(r.size() == 1);
  CHECK(r[0].parent == FUSE_ROOT_ID);
  CHECK(r[0].ino == ino);
  CHECK(r[0].name == "ns1");
  CHECK_FALSE(t.lookup(FUSE_ROOT_ID, "ns1"));
  CHECK_FALSE(t.find("ns1"));
  CHECK_FALSE(t.get(ino));  // the kernel never knew it
  CHECK(t.held() == held - 1);
  CHECK(t.remove("ns1").empty());  // absent
  CHECK(t.remove("").empty());     // the root cannot go
  CHECK(t.remove("/").empty());
  CHECK(names(t, FUSE_ROOT_ID) == std::vector<std::string>{".", "..", "sub"});
}

TEST_CASE("a removed node lives until the kernel forgot it and every handle closed") {
  InodeTable t(tree());
  OpenFiles handles(t);
  NodeRef n = t.lookup(FUSE_ROOT_ID, "ns1");
  t.lookup(FUSE_ROOT_ID, "ns1");  // two kernel references
  fuse_ino_t ino = n->ino;

  SUBCASE("forget, then close") {
    OpenFile* f = handles.open(n, true);
    CHECK(n->writers == 1);
    REQUIRE(t.remove("ns1").size() == 1);
    CHECK(n->removed);
    CHECK(t.get(ino) == n);  // getattr by inode still answers
    t.forget(ino, 1);
    CHECK(t.get(ino));
    t.forget(ino, 1);
    CHECK(t.get(ino));  // a handle is open
    handles.close(f);
    CHECK(n->writers == 0);
    CHECK_FALSE(t.get(ino));
  }
  SUBCASE("close, then forget (more than counted)") {
    OpenFile* f = handles.open(n, false);
    REQUIRE(t.remove("ns1").size() == 1);
    handles.close(f);
    CHECK(t.get(ino));  // the kernel still has it
    t.forget(ino, 5);
    CHECK_FALSE(t.get(ino));
    t.forget(ino, 1);  // a late forget for a freed inode is harmless
  }
  SUBCASE("forget of a live node keeps it") {
    t.forget(ino, 2);
    CHECK(t.get(ino) == n);
    CHECK(t.find("ns1") == n);
    REQUIRE(t.remove("ns1").size() == 1);
    CHECK_FALSE(t.get(ino));
  }
  SUBCASE("handles left open at session end are closed by close_all") {
    handles.open(n, true);
    handles.open(n, false);
    CHECK(n->opens == 2);
    REQUIRE(t.remove("ns1").size() == 1);
    t.forget(ino, 2);
    CHECK(t.get(ino));
    handles.close_all();
    CHECK(n->opens == 0);
    CHECK_FALSE(t.get(ino));
  }
  t.forget(FUSE_ROOT_ID, 100);  // never frees the root
  CHECK(t.get(FUSE_ROOT_ID));
}

TEST_CASE("removing a directory removes its subtree, children first") {
  InodeTable t(tree());
  NodeRef sub = t.lookup(FUSE_ROOT_ID, "sub");
  NodeRef ns2 = t.lookup(sub->ino, "ns2");
  auto r = t.remove("sub");
  REQUIRE(r.size() == 3);
  CHECK(r.back().name == "sub");
  CHECK(r.back().parent == FUSE_ROOT_ID);
  CHECK(r[0].parent == sub->ino);
  CHECK(r[1].parent == sub->ino);
  CHECK(ns2->removed);
  CHECK(sub->removed);
  CHECK_FALSE(t.lookup(sub->ino, "ns2"));  // nothing resolves below a removed directory
  std::vector<InodeTable::DirEntry> entries;
  CHECK(t.list(sub->ino, 0, entries));  // an open handle on it lists nothing
  CHECK(entries.empty());
  CHECK_FALSE(t.list(ns2->ino, 0, entries));  // not a directory
  CHECK_FALSE(t.find("sub/ns3"));
  CHECK(t.size() == 2);
  t.forget(ns2->ino, 1);
  t.forget(sub->ino, 1);
  CHECK(t.held() == 2);
  // The same name can come back, as a new inode.
  auto a = t.add_file("sub", file("ns2"));
  CHECK(a.name == "sub");
  CHECK(t.find("sub")->ino != sub->ino);
}

TEST_CASE("inode numbers are never reused") {
  InodeTable t(tree());
  std::set<fuse_ino_t> seen;
  for (auto& e : std::vector<std::string>{"ns1", "sub", "sub/ns2", "sub/ns3"}) seen.insert(t.find(e)->ino);
  for (int i = 0; i < 200; ++i) {
    auto a = t.add_file(i % 2 ? "d" : "", file("x"));
    CHECK(seen.insert(a.ino).second);
    if (i % 2) seen.insert(t.find("d")->ino);
    CHECK_FALSE(t.remove(i % 2 ? "d" : "x").empty());
  }
  CHECK(t.held() == t.size());
}

TEST_CASE("readdir offsets stay valid while entries come and go") {
  InodeTable t(DirSpec{"", {}, {file("a"), file("b"), file("c")}});
  std::vector<InodeTable::DirEntry> first;
  REQUIRE(t.list(FUSE_ROOT_ID, 0, first));
  REQUIRE(first.size() == 5);
  off_t resume = first[2].next;  // after "a"
  t.remove("a");
  t.remove("b");
  t.add_file("", file("d"));
  // Resuming after "a": "b" is gone, "c" survives once, the new "d" comes last.
  CHECK(names(t, FUSE_ROOT_ID, resume) == std::vector<std::string>{"c", "d"});
  CHECK(names(t, FUSE_ROOT_ID, first.back().next) == std::vector<std::string>{"d"});
}

TEST_CASE("sizes follow the device; statfs totals count live files only") {
  auto mem = std::make_shared<testing::MemoryDevice>(8192, 1);
  InodeTable t(DirSpec{"", {}, {FileSpec{"ns1", mem}, file("ns2", 4096)}});
  CHECK(t.total_bytes() == 8192 + 4096);
  mem->resize(1 << 20);
  CHECK(t.find("ns1")->size() == 1 << 20);
  CHECK(t.total_bytes() == (1 << 20) + 4096);
  t.remove("ns2");
  CHECK(t.total_bytes() == 1 << 20);
  CHECK(t.files().size() == 1);
}

TEST_CASE("concurrent lookups, forgets, adds and removes") {
  InodeTable t(DirSpec{"", {}, {file("stable")}});
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> found{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      while (!stop) {
        for (const char* name : {"stable", "x0", "x1", "x2"})
          if (NodeRef n = t.lookup(FUSE_ROOT_ID, name)) {
            ++found;
            std::vector<InodeTable::DirEntry> e;
            t.list(FUSE_ROOT_ID, 0, e);
            t.forget(n->ino, 1);
          }
      }
    });
  for (int i = 0; i < 2000; ++i) {
    std::string name = "x" + std::to_string(i % 3);
    if (!t.find(name)) t.add_file("", file(name));
    else t.remove(name);
  }
  stop = true;
  for (auto& th : readers) th.join();
  CHECK(found > 0);
  CHECK(t.held() == t.size());  // every removed node was forgotten, hence freed
  REQUIRE(t.find("stable"));
  CHECK(t.find("stable")->nlookup == 0);
}
