// Reading the values in the sample configs (systemd units, nginx and Apache directives) so
// that tests can check them against each other. Failures are CppUnit assertions.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fcgihost {
namespace testing_support {

using Settings = std::vector<std::pair<std::string, std::string>>;

// "45s", "500ms", "1m", "2h", "30" (seconds): systemd, nginx, Apache and fcgihost agree.
long long milliseconds_of(const std::string& text);
// "1m" (nginx) and "1M" (fcgihost) are both MiB; "64k", "1g", plain bytes.
long long bytes_of(const std::string& text);

// `Key=value` lines of a systemd unit, in order (comments and sections left out).
Settings unit_settings(const std::string& unit);
std::string unit_value(const std::string& unit, const std::string& key);  // fails if absent
// The NAME=value pairs of a unit's Environment= lines.
Settings unit_environment(const std::string& unit);
std::string env_value(const Settings& env, const std::string& name);      // fails if absent

}  // namespace testing_support
}  // namespace fcgihost
