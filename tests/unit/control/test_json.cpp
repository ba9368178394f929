#include <doctest/doctest.h>

#include <string>

#include "nvmefs/control/json.hpp"

using namespace nvmefs;

TEST_CASE("json: round trip of a reply keeps member order and exact 64-bit counters") {
  json::Value v = json::Value::object();
  v.set("ok", true);
  v.set("count", uint64_t(18446744073709551615ull));
  v.set("neg", int64_t(-5));
  v.set("mean", 1.5);
  v.set("name", "a\"b\\c\n\x01");
  json::Value& arr = v.set("list", json::Value::array());
  arr.push(1);
  arr.push(nullptr);
  std::string text = v.dump();
  CHECK(text == R"({"ok":true,"count":18446744073709551615,"neg":-5,"mean":1.5,"name":"a\"b\\c\n\u0001","list":[1,null]})");
  std::string err;
  auto back = json::parse(text, err);
  REQUIRE(back);
  CHECK(back->get("count").as_u64() == 18446744073709551615ull);
  CHECK(back->get("neg").as_i64() == -5);
  CHECK(back->get("mean").as_double() == 1.5);
  CHECK(back->get("name").as_string() == "a\"b\\c\n\x01");
  CHECK(back->get("list").items().size() == 2);
  CHECK(back->dump() == text);
}

TEST_CASE("json: escapes and unicode") {
  std::string err;
  auto v = json::parse(R"(  {"s":"\u00e9\ud83d\ude00\/\t"}  )", err);
  REQUIRE(v);
  CHECK(v->get("s").as_string() == "\xc3\xa9\xf0\x9f\x98\x80/\t");
  CHECK(v->get("missing").is_null());
}

TEST_CASE("json: malformed input gives one line with the offset") {
  const char* bad[] = {"", "garbage", "{", "{\"a\"}", "{\"a\":}", "[1,]", "{\"a\":1,}", "\"unterminated",
                       "\"bad \\q escape\"", "\"\\u12\"", "01x", "-", "1.", "1e", "{} x", "\"\x01\"", "\xff"};
  for (const char* text : bad) {
    std::string err;
    CHECK_MESSAGE(!json::parse(text, err), text);
    CHECK(err.find("at offset") != std::string::npos);
    CHECK(err.find('\n') == std::string::npos);
  }
}

TEST_CASE("json: nesting is bounded") {
  std::string deep(json::kMaxDepth + 5, '[');
  std::string err;
  CHECK(!json::parse(deep, err));
  CHECK(err.find("nesting too deep") != std::string::npos);
  std::string ok = std::string(10, '[') + std::string(10, ']');
  CHECK(json::parse(ok, err));
}

TEST_CASE("json: accessors fall back on type mismatch") {
  std::string err;
  auto v = json::parse(R"({"n":-1,"s":"x","f":2.75})", err);
  REQUIRE(v);
  CHECK(v->get("n").as_u64(7) == 7);
  CHECK(v->get("s").as_u64(9) == 9);
  CHECK(v->get("f").as_u64() == 2);
  CHECK(v->get("n").as_string().empty());
}
