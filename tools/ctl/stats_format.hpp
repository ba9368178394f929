// Rendering of a daemon's "stats" reply: a table, JSON lines, or the
// Prometheus text exposition format (version 0.0.4).
#pragma once

#include <string>

#include "nvmefs/control/json.hpp"

namespace nvmefs::ctl {

// Adds read_iops / write_iops to each layer of `now`: over the interval since
// `before` (a previous reply of the same daemon), or since the mount when
// `before` is null.
void add_iops(json::Value& now, const json::Value* before);

std::string stats_table(const json::Value& stats);
std::string stats_prometheus(const json::Value& stats);

}  // namespace nvmefs::ctl
