#include "support/config_text.hpp"

#include <cppunit/TestAssert.h>

#include <cctype>
#include <sstream>

namespace fcgihost {
namespace testing_support {
namespace {

// Splits "45s" into 45 and "s"; fails on text that does not start with digits.
std::pair<long long, std::string> number_and_unit(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    CPPUNIT_ASSERT_MESSAGE("not a number: " + text, digits > 0);
    std::string unit = text.substr(digits);
    for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return {std::stoll(text.substr(0, digits)), unit};
}

}  // namespace

long long milliseconds_of(const std::string& text) {
    auto [n, unit] = number_and_unit(text);
    if (unit == "ms") return n;
    if (unit == "s" || unit.empty()) return n * 1000;
    if (unit == "m" || unit == "min") return n * 60 * 1000;
    if (unit == "h") return n * 3600 * 1000;
    CPPUNIT_FAIL("unknown duration unit in " + text);
    return 0;
}

long long bytes_of(const std::string& text) {
    auto [n, unit] = number_and_unit(text);
    if (unit == "k") return n * 1024;
    if (unit == "m") return n * 1024 * 1024;
    if (unit == "g") return n * 1024 * 1024 * 1024;
    CPPUNIT_ASSERT_MESSAGE("unknown size unit in " + text, unit.empty());
    return n;
}

Settings unit_settings(const std::string& unit) {
    Settings settings;
    std::istringstream lines(unit);
    for (std::string line; std::getline(lines, line);) {
        std::size_t eq = line.find('=');
        if (line.empty() || line[0] == '#' || line[0] == '[' || eq == std::string::npos) continue;
        settings.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    }
    return settings;
}

std::string unit_value(const std::string& unit, const std::string& key) {
    for (const auto& kv : unit_settings(unit)) {
        if (kv.first == key) return kv.second;
    }
    CPPUNIT_FAIL("no " + key + "= in the unit");
    return "";
}

Settings unit_environment(const std::string& unit) {
    Settings env;
    for (const auto& kv : unit_settings(unit)) {
        if (kv.first != "Environment") continue;
        std::size_t eq = kv.second.find('=');
        env.emplace_back(kv.second.substr(0, eq), kv.second.substr(eq + 1));
    }
    return env;
}

std::string env_value(const Settings& env, const std::string& name) {
    for (const auto& kv : env) {
        if (kv.first == name) return kv.second;
    }
    CPPUNIT_FAIL("no " + name + " in the settings");
    return "";
}

}  // namespace testing_support
}  // namespace fcgihost
