#include "verb.hpp"

#include <fmt/format.h>

namespace nvmefs::ctl {

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() ? fallback : it->second;
}

namespace {

const OptionSpec kOutputFormat{"output-format", 'o', "normal|json", "output format"};

const OptionSpec* find_long(const Verb& v, std::string_view name) {
  if (v.prints_data && name == kOutputFormat.long_name) return &kOutputFormat;
  for (const auto& o : v.options)
    if (name == o.long_name) return &o;
  return nullptr;
}

const OptionSpec* find_short(const Verb& v, char c) {
  if (v.prints_data && c == kOutputFormat.short_name) return &kOutputFormat;
  for (const auto& o : v.options)
    if (o.short_name && c == o.short_name) return &o;
  return nullptr;
}

}  // namespace

Args parse_args(const Verb& verb, const std::vector<std::string>& args) {
  Args out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      out.values["help"] = "";
      continue;
    }
    if (a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    const OptionSpec* spec = nullptr;
    std::string value;
    bool inline_value = false;
    if (a[1] == '-') {
      auto eq = a.find('=');
      spec = find_long(verb, std::string_view(a).substr(2, eq == std::string::npos ? std::string::npos : eq - 2));
      if (eq != std::string::npos) value = a.substr(eq + 1), inline_value = true;
    } else {
      spec = find_short(verb, a[1]);
      if (a.size() > 2) value = a.substr(2), inline_value = true;
    }
    if (!spec) throw UsageError(fmt::format("{}: unknown option '{}' (see nvmefs-ctl {} --help)", verb.name, a, verb.name));
    if (spec->value && !inline_value) {
      if (++i == args.size()) throw UsageError(fmt::format("{}: option '{}' needs a value ({})", verb.name, a, spec->value));
      value = args[i];
    } else if (!spec->value && inline_value) {
      throw UsageError(fmt::format("{}: option '{}' takes no value", verb.name, a));
    }
    out.values[spec->long_name] = value;
  }
  std::string fmt_value = out.get("output-format", "normal");
  if (fmt_value != "normal" && fmt_value != "json")
    throw UsageError(fmt::format("{}: invalid output format '{}' (normal or json)", verb.name, fmt_value));
  return out;
}

std::string verb_help(const Verb& verb) {
  std::string s = fmt::format("usage: nvmefs-ctl {} {}\n\n{}\n\n", verb.name, verb.usage, verb.summary);
  auto line = [&s](const OptionSpec& o) {
    std::string left = o.short_name ? fmt::format("-{}, --{}", o.short_name, o.long_name) : fmt::format("    --{}", o.long_name);
    if (o.value) left += fmt::format(" {}", o.value);
    s += fmt::format("  {:<34} {}\n", left, o.help);
  };
  for (const auto& o : verb.options) line(o);
  if (verb.prints_data) line(kOutputFormat);
  line({"help", 'h', nullptr, "this text"});
  return s;
}

}  // namespace nvmefs::ctl
