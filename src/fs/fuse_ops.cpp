// The FUSE low-level handlers. Every handler replies exactly once: metadata
// handlers reply before returning; read, write, fsync, flush and fallocate
// submit an IoRequest and reply from its completion callback (on whatever
// thread the device completes on), so many requests are in flight without
// a thread each.
//
// Dynamic tree: metadata handlers go through the inode table (its shared
// lock is taken inside each call, never held across a reply); I/O handlers
// use the open handle's node (fi->fh) and fail with EIO once it was removed.
//
// Write buffer ownership: libfuse reuses the buffer it read the request
// into as soon as the handler returns, so write_buf copies the payload into
// a pooled buffer (one memcpy, no allocation in the steady state) and the
// write completes asynchronously like a read.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "fs_state.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::fs {
namespace {

// Long: changes of the tree and of sizes are pushed to the kernel (KernelNotifier).
constexpr double kAttrTimeout = 3600.0;
constexpr uint32_t kStatfsBlock = 4096;
constexpr const char* kOwnXattrPrefix = "user.nvme.";

FsState& state(fuse_req_t req) { return *static_cast<FsState*>(fuse_req_userdata(req)); }

bool writable_flags(int flags) { return (flags & O_ACCMODE) != O_RDONLY; }

struct stat make_stat(const FsState& fs, const Node& n) {
  struct stat st{};
  st.st_ino = n.ino;
  st.st_uid = fs.opts.uid;
  st.st_gid = fs.opts.gid;
  st.st_atime = st.st_mtime = st.st_ctime = fs.mount_time;
  if (n.is_dir) {
    st.st_mode = S_IFDIR | (0777 & ~fs.opts.umask);
    st.st_nlink = 2;
    st.st_blksize = kStatfsBlock;
  } else {
    mode_t perm = 0666 & ~fs.opts.umask;
    if (fs.opts.read_only || n.file.read_only) perm &= ~mode_t(0222);
    st.st_mode = S_IFREG | perm;
    st.st_nlink = n.removed.load(std::memory_order_relaxed) ? 0 : 1;
    uint64_t size = n.size();  // the device's current size (it may be resized)
    st.st_size = off_t(size);
    st.st_blocks = blkcnt_t((size + 511) / 512);
    st.st_blksize = blksize_t(std::max<uint32_t>(n.file.lba_size, kStatfsBlock));
  }
  return st;
}

// The node of an open handle, or nullptr after replying EIO when the file
// was removed since it was opened (the namespace is gone).
Node* live_file(fuse_req_t req, fuse_file_info* fi) {
  Node* n = open_file(fi).node.get();
  if (!n->removed.load(std::memory_order_acquire)) return n;
  fuse_reply_err(req, EIO);
  return nullptr;
}

// ---- asynchronous I/O --------------------------------------------------

enum class Reply : uint8_t { Data, Written, Status };

// Starts one request; `reply` tells how the completion answers FUSE.
template <Reply reply>
void submit_io(fuse_req_t req, Node& node, FuseIo* io, IoOp op, uint64_t offset, uint64_t length, uint32_t flags) {
  FsState& fs = state(req);
  io->fuse_req = req;
  io->fs = &fs;
  io->req.op = op;
  io->req.flags = flags;
  io->req.offset = offset;
  io->req.length = length;
  io->req.buf = io->data;
  io->req.user = io;
  io->req.done = [](IoRequest* r) {
    auto* io = static_cast<FuseIo*>(r->user);
    FsState* fs = io->fs;
    if (r->result < 0) {
      log::debug("{} {}+{} failed: {}", io_op_name(r->op), r->offset, r->length, std::strerror(-r->result));
      fuse_reply_err(io->fuse_req, -r->result);
    } else if constexpr (reply == Reply::Data) {
      fuse_reply_buf(io->fuse_req, reinterpret_cast<const char*>(io->data), r->length);
    } else if constexpr (reply == Reply::Written) {
      fuse_reply_write(io->fuse_req, r->length);
    } else {
      fuse_reply_err(io->fuse_req, 0);
    }
    fs->pool.release(io);
    fs->io_finished();
  };
  fs.io_started();
  node.file.dev->submit(&io->req);
}

// For requests that move no data (flush, fallocate).
void submit_status_io(fuse_req_t req, Node& node, IoOp op, uint64_t offset, uint64_t length) {
  FuseIo* io = state(req).pool.acquire(0);
  if (!io) return (void)fuse_reply_err(req, ENOMEM);
  submit_io<Reply::Status>(req, node, io, op, offset, length, 0);
}

// ---- handlers ----------------------------------------------------------

void op_init(void* /*userdata*/, fuse_conn_info* conn) {
  conn->max_write = kMaxIo;
  conn->max_read = kMaxIo;  // also passed as the max_read= mount option
  // Many asynchronous direct I/O requests in flight (the kernel default of 12 is low).
  conn->max_background = 128;
  conn->congestion_threshold = 96;
  auto want = [conn](unsigned cap) {
    if (conn->capable & cap) conn->want |= cap;
  };
  want(FUSE_CAP_ASYNC_READ);
  want(FUSE_CAP_ASYNC_DIO);
  // O_TRUNC arrives as an open flag, which we ignore as a block device does
  // (so `dd of=` and shell redirection work), instead of a SETATTR size=0.
  want(FUSE_CAP_ATOMIC_O_TRUNC);
  // Payloads are copied into pooled buffers anyway; splice buys nothing here.
  conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE | FUSE_CAP_WRITEBACK_CACHE);
}

void op_destroy(void* userdata) {
  auto& fs = *static_cast<FsState*>(userdata);
  fs.wait_idle();
  fs.final_flush_result = flush_all_files(fs.inodes);
  // Files the kernel never released (the session ended while they were open).
  if (size_t n = fs.handles.close_all()) log::info("{} open file(s) closed at session end", n);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FsState& fs = state(req);
  NodeRef n = fs.inodes.lookup(parent, name);  // counts a kernel reference
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  fuse_entry_param e{};
  e.ino = n->ino;
  e.generation = 1;  // inode numbers are never reused
  e.attr = make_stat(fs, *n);
  e.attr_timeout = e.entry_timeout = kAttrTimeout;
  if (fuse_reply_entry(req, &e) != 0) fs.inodes.forget(n->ino, 1);  // the kernel never got it
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  state(req).inodes.forget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  FsState& fs = state(req);
  for (size_t i = 0; i < count; ++i) fs.inodes.forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  FsState& fs = state(req);
  NodeRef n = fs.inodes.get(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  struct stat st = make_stat(fs, *n);
  fuse_reply_attr(req, &st, kAttrTimeout);
}

// Sizes, modes and owners are fixed by the namespaces and mount options.
// Truncating to the current size and setting times succeed (and change nothing).
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  FsState& fs = state(req);
  NodeRef n = fs.inodes.get(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
    return (void)fuse_reply_err(req, EPERM);
  if ((to_set & FUSE_SET_ATTR_SIZE) && uint64_t(attr->st_size) != n->size())
    return (void)fuse_reply_err(req, n->is_dir ? EISDIR : EPERM);
  struct stat st = make_stat(fs, *n);
  fuse_reply_attr(req, &st, kAttrTimeout);
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  NodeRef n = state(req).inodes.get(ino);
  if (!n || n->removed.load(std::memory_order_relaxed)) return (void)fuse_reply_err(req, ENOENT);
  if (!n->is_dir) return (void)fuse_reply_err(req, ENOTDIR);
  fi->cache_readdir = 1;  // dropped by KernelNotifier when the directory changes
  fuse_reply_open(req, fi);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  FsState& fs = state(req);
  std::vector<InodeTable::DirEntry> entries;  // a snapshot: no lock held while formatting
  if (!fs.inodes.list(ino, off, entries)) return (void)fuse_reply_err(req, ENOTDIR);
  std::string buf(size, '\0');
  size_t used = 0;
  for (auto& e : entries) {
    struct stat st = make_stat(fs, *e.node);
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st, e.next);
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FsState& fs = state(req);
  NodeRef n = fs.inodes.get(ino);
  if (!n || n->removed.load(std::memory_order_acquire)) return (void)fuse_reply_err(req, ENOENT);
  if (n->is_dir) return (void)fuse_reply_err(req, EISDIR);
  bool writer = writable_flags(fi->flags);
  if (writer && (fs.opts.read_only || n->file.read_only)) return (void)fuse_reply_err(req, EROFS);
  // O_TRUNC is ignored: the size is the namespace's (see op_init).
  fi->direct_io = !fs.opts.kernel_cache;
  fi->keep_cache = fs.opts.kernel_cache;
  OpenFile* f = fs.handles.open(std::move(n), writer);
  fi->fh = reinterpret_cast<uint64_t>(f);
  if (fuse_reply_open(req, fi) != 0) fs.handles.close(f);  // interrupted: no release will come
}

// close(2) of a descriptor. When the last writer closes, write back and
// flush this file so that its data is on the target before close returns
// (close-to-open consistency; errors reach the caller of close).
// A writer closing a removed file learns that its data may be lost (EIO).
void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  OpenFile& f = open_file(fi);
  if (!f.writer) return (void)fuse_reply_err(req, 0);
  Node* n = live_file(req, fi);
  if (!n) return;
  if (n->writers.load(std::memory_order_relaxed) > 1) return (void)fuse_reply_err(req, 0);
  submit_status_io(req, *n, IoOp::Flush, 0, 0);
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  state(req).handles.close(&open_file(fi));
  fuse_reply_err(req, 0);
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  Node* n = live_file(req, fi);
  if (!n) return;
  uint64_t file_size = n->size();
  if (off < 0) return (void)fuse_reply_err(req, EINVAL);
  if (uint64_t(off) >= file_size || size == 0) return (void)fuse_reply_buf(req, nullptr, 0);
  uint64_t len = std::min<uint64_t>(size, file_size - uint64_t(off));
  FuseIo* io = state(req).pool.acquire(len);
  if (!io) return (void)fuse_reply_err(req, ENOMEM);
  submit_io<Reply::Data>(req, *n, io, IoOp::Read, uint64_t(off), len, 0);
}

void op_write_buf(fuse_req_t req, fuse_ino_t, fuse_bufvec* in, off_t off, fuse_file_info* fi) {
  Node* n = live_file(req, fi);
  if (!n) return;
  uint64_t file_size = n->size();
  size_t size = fuse_buf_size(in);
  if (off < 0) return (void)fuse_reply_err(req, EINVAL);
  // Like a block device: a write starting at the end fails, one crossing it is short.
  if (size == 0) return (void)fuse_reply_write(req, 0);
  if (uint64_t(off) >= file_size) return (void)fuse_reply_err(req, ENOSPC);
  uint64_t len = std::min<uint64_t>(size, file_size - uint64_t(off));
  FuseIo* io = state(req).pool.acquire(len);
  if (!io) return (void)fuse_reply_err(req, ENOMEM);
  fuse_bufvec dst = FUSE_BUFVEC_INIT(len);
  dst.buf[0].mem = io->data;
  ssize_t copied = fuse_buf_copy(&dst, in, fuse_buf_copy_flags(0));
  if (copied != ssize_t(len)) {
    state(req).pool.release(io);
    return (void)fuse_reply_err(req, copied < 0 ? int(-copied) : EIO);
  }
  // The kernel reports O_DSYNC/O_SYNC (and RWF_DSYNC) in the write flags.
  uint32_t flags = (fi->flags & O_DSYNC) ? kIoFua : 0;
  submit_io<Reply::Written>(req, *n, io, IoOp::Write, uint64_t(off), len, flags);
}

void op_fsync(fuse_req_t req, fuse_ino_t, int /*datasync*/, fuse_file_info* fi) {
  Node* n = live_file(req, fi);
  if (!n) return;
  submit_status_io(req, *n, IoOp::Flush, 0, 0);
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_fallocate(fuse_req_t req, fuse_ino_t, int mode, off_t off, off_t len, fuse_file_info* fi) {
  Node* n = live_file(req, fi);
  if (!n) return;
  const uint64_t size = n->size();
  const bool keep_size = mode & FALLOC_FL_KEEP_SIZE;
  mode &= ~FALLOC_FL_KEEP_SIZE;
  if (off < 0 || len <= 0) return (void)fuse_reply_err(req, EINVAL);
  uint64_t start = uint64_t(off), end = uint64_t(off) + uint64_t(len);
  if (end > size && !keep_size) return (void)fuse_reply_err(req, EFBIG);  // cannot grow
  end = std::min(end, size);
  if (mode == 0 || start >= end) return (void)fuse_reply_err(req, 0);  // already allocated

  BlockDevice& dev = *n->file.dev;
  IoOp op;
  if (mode == FALLOC_FL_PUNCH_HOLE) {
    // A punched hole must read back as zeros: Deallocate only when the
    // device guarantees that and the range is whole LBAs; otherwise WriteZeroes.
    bool aligned = start % n->file.lba_size == 0 && end % n->file.lba_size == 0;
    op = dev.info().can_deallocate && dev.info().deallocate_reads_zeroes && aligned ? IoOp::Deallocate
                                                                                     : IoOp::WriteZeroes;
  } else if (mode == FALLOC_FL_ZERO_RANGE) {
    op = IoOp::WriteZeroes;
  } else {
    return (void)fuse_reply_err(req, EOPNOTSUPP);  // collapse, insert, unshare
  }
  if (state(req).opts.read_only || n->file.read_only) return (void)fuse_reply_err(req, EROFS);
  submit_status_io(req, *n, op, start, end - start);
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  const FsState& fs = state(req);
  struct statvfs sv{};
  sv.f_bsize = sv.f_frsize = kStatfsBlock;
  sv.f_blocks = fs.inodes.total_bytes() / kStatfsBlock;
  sv.f_bfree = sv.f_bavail = 0;  // every byte belongs to a namespace file
  sv.f_files = fs.inodes.size();
  sv.f_ffree = sv.f_favail = 0;
  sv.f_namemax = 255;
  if (fs.opts.read_only) sv.f_flag |= ST_RDONLY;
  fuse_reply_statfs(req, &sv);
}

// getxattr/listxattr: size 0 asks for the length; a short buffer is ERANGE.
void reply_xattr_bytes(fuse_req_t req, const std::string& bytes, size_t size) {
  if (size == 0) fuse_reply_xattr(req, bytes.size());
  else if (size < bytes.size()) fuse_reply_err(req, ERANGE);
  else fuse_reply_buf(req, bytes.data(), bytes.size());
}

const std::string* find_xattr(const Node& n, const char* name) {
  for (auto& [k, v] : n.file.xattrs)
    if (k == name) return &v;
  return nullptr;
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  NodeRef n = state(req).inodes.get(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  const std::string* v = n->is_dir ? nullptr : find_xattr(*n, name);
  if (!v) return (void)fuse_reply_err(req, ENODATA);
  reply_xattr_bytes(req, *v, size);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  NodeRef n = state(req).inodes.get(ino);
  if (!n) return (void)fuse_reply_err(req, ENOENT);
  std::string names;
  if (!n->is_dir)
    for (auto& kv : n->file.xattrs) names.append(kv.first).push_back('\0');
  reply_xattr_bytes(req, names, size);
}

// The identity attributes are read-only; no others can be stored.
int xattr_change_error(const Node& n, const char* name) {
  bool ours = !n.is_dir && (std::strncmp(name, kOwnXattrPrefix, std::strlen(kOwnXattrPrefix)) == 0);
  return ours ? EPERM : ENOTSUP;
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char*, size_t, int) {
  NodeRef n = state(req).inodes.get(ino);
  fuse_reply_err(req, n ? xattr_change_error(*n, name) : ENOENT);
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  NodeRef n = state(req).inodes.get(ino);
  fuse_reply_err(req, n ? xattr_change_error(*n, name) : ENOENT);
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.destroy = op_destroy;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.open = op_open;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.read = op_read;
  ops.write_buf = op_write_buf;
  ops.fsync = op_fsync;
  ops.fsyncdir = op_fsyncdir;
  ops.fallocate = op_fallocate;
  ops.statfs = op_statfs;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.setxattr = op_setxattr;
  ops.removexattr = op_removexattr;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& lowlevel_ops() {
  static const fuse_lowlevel_ops ops = make_ops();
  return ops;
}

int flush_all_files(const InodeTable& inodes) {
  int first_error = 0;
  for (const NodeRef& n : inodes.files()) {
    if (n->file.read_only) continue;
    int rc = submit_and_wait(*n->file.dev, IoOp::Flush, 0, 0, nullptr);
    if (rc < 0) {
      log::error("{}: write-back/flush failed: {}", n->name, std::strerror(-rc));
      if (!first_error) first_error = rc;
    }
  }
  return first_error;
}

}  // namespace nvmefs::fs
