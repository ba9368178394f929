// A small JSON value for the control protocol (RFC 8259): parsing of
// untrusted input with bounded depth and size, and compact one-line output.
// Objects keep their members in insertion order (replies read naturally).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nvmefs::json {

class Value {
 public:
  enum class Type : uint8_t { Null, Bool, Number, String, Array, Object };
  using Members = std::vector<std::pair<std::string, Value>>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : type_(Type::Bool), bool_(b) {}
  Value(int v) : Value(int64_t(v)) {}
  Value(unsigned v) : Value(uint64_t(v)) {}
  Value(int64_t v) : type_(Type::Number), num_(double(v)), int_(v), is_int_(true) {}
  Value(uint64_t v);
  Value(double v) : type_(Type::Number), num_(v) {}
  Value(const char* s) : type_(Type::String), str_(s) {}
  Value(std::string s) : type_(Type::String), str_(std::move(s)) {}
  Value(std::string_view s) : type_(Type::String), str_(s) {}

  static Value array() { Value v; v.type_ = Type::Array; return v; }
  static Value object() { Value v; v.type_ = Type::Object; return v; }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_object() const { return type_ == Type::Object; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_string() const { return type_ == Type::String; }
  bool is_number() const { return type_ == Type::Number; }

  // Accessors with a fallback when the type does not match.
  bool as_bool(bool fallback = false) const { return type_ == Type::Bool ? bool_ : fallback; }
  double as_double(double fallback = 0) const { return type_ == Type::Number ? num_ : fallback; }
  // Integers are kept exactly (counters up to 2^64-1); other numbers are truncated.
  uint64_t as_u64(uint64_t fallback = 0) const;
  int64_t as_i64(int64_t fallback = 0) const;
  const std::string& as_string() const;  // "" unless a string

  // Arrays.
  const std::vector<Value>& items() const { return items_; }
  Value& push(Value v);
  // Objects: set() replaces or appends; get() returns a null Value when absent.
  Value& set(std::string key, Value v);
  const Value& get(std::string_view key) const;
  bool has(std::string_view key) const;
  const Members& members() const { return members_; }

  std::string dump() const;  // compact, one line, UTF-8 passed through, control characters escaped

 private:
  void dump_to(std::string& out) const;

  Type type_ = Type::Null;
  bool bool_ = false;
  double num_ = 0;
  int64_t int_ = 0;
  uint64_t uint_ = 0;
  bool is_int_ = false, is_uint_ = false;
  std::string str_;
  std::vector<Value> items_;
  Members members_;
};

inline constexpr size_t kMaxDepth = 32;

// Parses one JSON text (surrounding white space allowed). On failure returns
// nullopt and sets `error` to one line ("unexpected character 'x' at offset 7").
std::optional<Value> parse(std::string_view text, std::string& error);

// `s` as a JSON string literal, quotes included.
std::string quote(std::string_view s);

}  // namespace nvmefs::json
