#include "nvmefs/control/json.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

namespace nvmefs::json {

Value::Value(uint64_t v) : type_(Type::Number), num_(double(v)), uint_(v), is_uint_(true) {
  if (v <= uint64_t(INT64_MAX)) int_ = int64_t(v), is_int_ = true;
}

uint64_t Value::as_u64(uint64_t fallback) const {
  if (type_ != Type::Number) return fallback;
  if (is_uint_) return uint_;
  if (is_int_) return int_ < 0 ? fallback : uint64_t(int_);
  return num_ >= 0 && num_ < 1.8446744073709552e19 ? uint64_t(num_) : fallback;
}

int64_t Value::as_i64(int64_t fallback) const {
  if (type_ != Type::Number) return fallback;
  if (is_int_) return int_;
  return std::fabs(num_) < 9.2e18 ? int64_t(num_) : fallback;
}

const std::string& Value::as_string() const {
  static const std::string empty;
  return type_ == Type::String ? str_ : empty;
}

Value& Value::push(Value v) {
  type_ = Type::Array;
  items_.push_back(std::move(v));
  return items_.back();
}

Value& Value::set(std::string key, Value v) {
  type_ = Type::Object;
  for (auto& m : members_)
    if (m.first == key) return m.second = std::move(v);
  members_.emplace_back(std::move(key), std::move(v));
  return members_.back().second;
}

const Value& Value::get(std::string_view key) const {
  static const Value null;
  for (const auto& m : members_)
    if (m.first == key) return m.second;
  return null;
}

bool Value::has(std::string_view key) const {
  for (const auto& m : members_)
    if (m.first == key) return true;
  return false;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", unsigned(c));
        else out += c;
    }
  }
  return out + "\"";
}

void Value::dump_to(std::string& out) const {
  switch (type_) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += bool_ ? "true" : "false"; break;
    case Type::Number:
      if (is_uint_) out += std::to_string(uint_);
      else if (is_int_) out += std::to_string(int_);
      else if (std::isfinite(num_)) out += fmt::format("{}", num_);
      else out += "null";  // JSON has no NaN/infinity
      break;
    case Type::String: out += quote(str_); break;
    case Type::Array:
      out += '[';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += ',';
        items_[i].dump_to(out);
      }
      out += ']';
      break;
    case Type::Object:
      out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i) out += ',';
        out += quote(members_[i].first);
        out += ':';
        members_[i].second.dump_to(out);
      }
      out += '}';
      break;
  }
}

std::string Value::dump() const {
  std::string out;
  dump_to(out);
  return out;
}

namespace {

// Recursive descent over untrusted text; every access is bounds-checked and
// nesting is limited to kMaxDepth.
class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  std::optional<Value> document(std::string& error) {
    std::optional<Value> v = value(0);
    if (v) {
      skip_ws();
      if (pos_ != t_.size()) fail("trailing characters");
    }
    if (!error_.empty()) {
      error = fmt::format("{} at offset {}", error_, pos_);
      return std::nullopt;
    }
    return v;
  }

 private:
  void fail(const std::string& what) {
    if (error_.empty()) error_ = what;
  }
  bool at_end() const { return pos_ >= t_.size(); }
  void skip_ws() {
    while (!at_end() && (t_[pos_] == ' ' || t_[pos_] == '\t' || t_[pos_] == '\n' || t_[pos_] == '\r')) ++pos_;
  }
  bool literal(std::string_view word) {
    if (t_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::optional<Value> value(size_t depth) {
    if (depth > kMaxDepth) return fail("nesting too deep"), std::nullopt;
    skip_ws();
    if (at_end()) return fail("unexpected end of input"), std::nullopt;
    char c = t_[pos_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      auto s = string();
      if (!s) return std::nullopt;
      return Value(std::move(*s));
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    if (literal("true")) return Value(true);
    if (literal("false")) return Value(false);
    if (literal("null")) return Value(nullptr);
    if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f)
      fail(fmt::format("unexpected character '{}'", c));
    else
      fail(fmt::format("unexpected byte 0x{:02x}", static_cast<unsigned char>(c)));
    return std::nullopt;
  }

  std::optional<Value> object(size_t depth) {
    ++pos_;  // '{'
    Value obj = Value::object();
    skip_ws();
    if (!at_end() && t_[pos_] == '}') return ++pos_, obj;
    for (;;) {
      skip_ws();
      if (at_end() || t_[pos_] != '"') return fail("expected a member name"), std::nullopt;
      auto key = string();
      if (!key) return std::nullopt;
      skip_ws();
      if (at_end() || t_[pos_] != ':') return fail("expected ':'"), std::nullopt;
      ++pos_;
      auto v = value(depth + 1);
      if (!v) return std::nullopt;
      obj.set(std::move(*key), std::move(*v));
      skip_ws();
      if (at_end()) return fail("unterminated object"), std::nullopt;
      if (t_[pos_] == '}') return ++pos_, obj;
      if (t_[pos_] != ',') return fail("expected ',' or '}'"), std::nullopt;
      ++pos_;
    }
  }

  std::optional<Value> array(size_t depth) {
    ++pos_;  // '['
    Value arr = Value::array();
    skip_ws();
    if (!at_end() && t_[pos_] == ']') return ++pos_, arr;
    for (;;) {
      auto v = value(depth + 1);
      if (!v) return std::nullopt;
      arr.push(std::move(*v));
      skip_ws();
      if (at_end()) return fail("unterminated array"), std::nullopt;
      if (t_[pos_] == ']') return ++pos_, arr;
      if (t_[pos_] != ',') return fail("expected ',' or ']'"), std::nullopt;
      ++pos_;
    }
  }

  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) out += char(cp);
    else if (cp < 0x800) out += char(0xC0 | (cp >> 6)), out += char(0x80 | (cp & 0x3F));
    else if (cp < 0x10000)
      out += char(0xE0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
    else
      out += char(0xF0 | (cp >> 18)), out += char(0x80 | ((cp >> 12) & 0x3F)), out += char(0x80 | ((cp >> 6) & 0x3F)),
          out += char(0x80 | (cp & 0x3F));
  }

  std::optional<uint32_t> hex4() {
    if (pos_ + 4 > t_.size()) return fail("truncated \\u escape"), std::nullopt;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = t_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
      else return fail("bad \\u escape"), std::nullopt;
    }
    return v;
  }

  std::optional<std::string> string() {
    ++pos_;  // '"'
    std::string out;
    while (!at_end()) {
      char c = t_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string"), std::nullopt;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) break;
      char e = t_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          auto cp = hex4();
          if (!cp) return std::nullopt;
          if (*cp >= 0xD800 && *cp < 0xDC00 && t_.substr(pos_, 2) == "\\u") {  // surrogate pair
            pos_ += 2;
            auto lo = hex4();
            if (!lo) return std::nullopt;
            if (*lo < 0xDC00 || *lo > 0xDFFF) return fail("bad surrogate pair"), std::nullopt;
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*lo - 0xDC00);
          }
          put_utf8(out, *cp);
          break;
        }
        default: return fail("bad escape"), std::nullopt;
      }
    }
    return fail("unterminated string"), std::nullopt;
  }

  std::optional<Value> number() {
    size_t start = pos_;
    bool integral = true;
    if (t_[pos_] == '-') ++pos_;
    auto digits = [&] {
      size_t from = pos_;
      while (!at_end() && t_[pos_] >= '0' && t_[pos_] <= '9') ++pos_;
      return pos_ > from;
    };
    if (!digits()) return fail("bad number"), std::nullopt;
    if (!at_end() && t_[pos_] == '.') {
      ++pos_, integral = false;
      if (!digits()) return fail("bad number"), std::nullopt;
    }
    if (!at_end() && (t_[pos_] == 'e' || t_[pos_] == 'E')) {
      ++pos_, integral = false;
      if (!at_end() && (t_[pos_] == '+' || t_[pos_] == '-')) ++pos_;
      if (!digits()) return fail("bad number"), std::nullopt;
    }
    std::string tok(t_.substr(start, pos_ - start));
    if (integral) {
      errno = 0;
      if (tok[0] == '-') {
        long long v = std::strtoll(tok.c_str(), nullptr, 10);
        if (errno == 0) return Value(int64_t(v));
      } else {
        unsigned long long v = std::strtoull(tok.c_str(), nullptr, 10);
        if (errno == 0) return Value(uint64_t(v));
      }
    }
    return Value(std::strtod(tok.c_str(), nullptr));
  }

  std::string_view t_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

std::optional<Value> parse(std::string_view text, std::string& error) { return Parser(text).document(error); }

}  // namespace nvmefs::json
