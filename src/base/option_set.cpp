#include "fcgihost/option_set.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace fcgihost {
namespace {

// `what` names the expected form, for the error: "a duration such as 30s or 500ms".
double parse_number(const std::string& text, std::size_t& used, const char* what) {
    std::size_t digits = text.find_first_not_of("0123456789.");
    if (text.empty() || digits == 0 || (digits != std::string::npos && (text[digits] == 'x' || text[digits] == 'X'))) {
        throw std::invalid_argument(std::string("expected ") + what);
    }
    char* end = nullptr;
    errno = 0;
    double value = std::strtod(text.c_str(), &end);
    if (errno != 0 || !std::isfinite(value)) throw std::invalid_argument("number out of range");
    used = static_cast<std::size_t>(end - text.c_str());
    return value;
}

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    return text;
}

}  // namespace

std::chrono::milliseconds parse_duration(const std::string& text) {
    std::size_t used = 0;
    double value = parse_number(text, used, "a duration such as 30s or 500ms");
    std::string unit = lower(text.substr(used));
    double ms;
    if (unit.empty() || unit == "s") ms = value * 1000;
    else if (unit == "ms") ms = value;
    else if (unit == "m" || unit == "min") ms = value * 60000;
    else if (unit == "h") ms = value * 3600000;
    else throw std::invalid_argument("unknown unit '" + unit + "' (use ms, s, m or h)");
    if (ms > 365.0 * 24 * 3600000) throw std::invalid_argument("duration too long");
    return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

std::size_t parse_size(const std::string& text) {
    std::size_t used = 0;
    double value = parse_number(text, used, "a size such as 1M or 64k");
    std::string unit = lower(text.substr(used));
    double factor;
    if (unit.empty() || unit == "b") factor = 1;
    else if (unit == "k" || unit == "kb" || unit == "kib") factor = 1024.0;
    else if (unit == "m" || unit == "mb" || unit == "mib") factor = 1024.0 * 1024;
    else if (unit == "g" || unit == "gb" || unit == "gib") factor = 1024.0 * 1024 * 1024;
    else throw std::invalid_argument("unknown unit '" + unit + "' (use k, M or G)");
    double bytes = value * factor;
    if (bytes > 64.0 * 1024 * 1024 * 1024) throw std::invalid_argument("size too large");
    return static_cast<std::size_t>(bytes);
}

unsigned long parse_count(const std::string& text, unsigned long min, unsigned long max) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
        throw std::invalid_argument("expected a whole number");
    }
    errno = 0;
    unsigned long value = std::strtoul(text.c_str(), nullptr, 10);
    if (errno != 0 || value < min || value > max) {
        throw std::invalid_argument("must be from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return value;
}

mode_t parse_mode(const std::string& text) {
    if (text.empty() || text.size() > 4 || text.find_first_not_of("01234567") != std::string::npos) {
        throw std::invalid_argument("expected an octal mode such as 0660");
    }
    return static_cast<mode_t>(std::strtoul(text.c_str(), nullptr, 8));
}

std::string format_duration(std::chrono::milliseconds d) {
    const long long ms = d.count();
    if (ms != 0 && ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
    if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

std::string format_size(std::size_t bytes) {
    const std::size_t k = 1024;
    if (bytes != 0 && bytes % (k * k * k) == 0) return std::to_string(bytes / (k * k * k)) + "G";
    if (bytes != 0 && bytes % (k * k) == 0) return std::to_string(bytes / (k * k)) + "M";
    if (bytes != 0 && bytes % k == 0) return std::to_string(bytes / k) + "k";
    return std::to_string(bytes);
}

std::string format_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

std::string OptionSet::env_name(const std::string& flag) {
    std::string name = "FCGIHOST_";
    for (char c : flag) name += (c == '-') ? '_' : static_cast<char>(toupper(static_cast<unsigned char>(c)));
    return name;
}

void OptionSet::add(const std::string& name, const std::string& value_name, const std::string& shown_default,
                    const std::string& help, Apply apply) {
    flags_.push_back(Flag{name, value_name, shown_default, help, std::move(apply)});
}

void OptionSet::add_switch(const std::string& name, const std::string& help, bool on_now,
                           std::function<void(bool on)> apply) {
    Flag flag{name, "", on_now ? "on" : "off", help, [apply](const std::string& v) {
                  const std::string value = lower(v);
                  if (value == "1" || value == "yes" || value == "true" || value == "on") apply(true);
                  else if (value == "0" || value == "no" || value == "false" || value == "off") apply(false);
                  else throw std::invalid_argument("expected yes or no");
              }};
    flag.is_switch = true;
    flags_.push_back(std::move(flag));
}

const OptionSet::Flag* OptionSet::find(const std::string& name) const {
    for (const Flag& flag : flags_) {
        if (flag.name == name) return &flag;
    }
    return nullptr;
}

void OptionSet::apply(const Flag& flag, const std::string& value, const std::string& source) const {
    try {
        flag.apply(value);
    } catch (const std::invalid_argument& e) {
        throw OptionError(source + ": invalid value '" + value + "': " + e.what());
    }
}

bool OptionSet::parse(int argc, const char* const* argv, const char* const* environ) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) return false;
    }
    for (const char* const* env = environ; env != nullptr && *env != nullptr; ++env) {
        std::string entry = *env;
        if (entry.compare(0, 9, "FCGIHOST_") != 0) continue;
        std::size_t eq = entry.find('=');
        std::string var = entry.substr(0, eq);
        const Flag* match = nullptr;
        for (const Flag& flag : flags_) {
            if (env_name(flag.name) == var) match = &flag;
        }
        if (match == nullptr) throw OptionError(var + ": unknown environment variable (see --help)");
        apply(*match, eq == std::string::npos ? std::string() : entry.substr(eq + 1), var);
    }
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.compare(0, 2, "--") != 0 || arg.size() == 2) {
            throw OptionError(arg + ": unexpected argument (flags start with --; see --help)");
        }
        std::size_t eq = arg.find('=');
        std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        const Flag* flag = find(name);
        if (flag == nullptr) throw OptionError("--" + name + ": unknown flag (see --help)");
        std::string value;
        if (eq != std::string::npos) {
            value = arg.substr(eq + 1);
        } else if (flag->is_switch) {
            value = "yes";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            throw OptionError("--" + name + ": missing value");
        }
        apply(*flag, value, "--" + name);
    }
    return true;
}

std::string OptionSet::help(const std::string& program) const {
    std::ostringstream out;
    out << "usage: " << program << " [--flag VALUE]...\n\n"
        << "Every flag can also be set as an environment variable (shown in brackets);\n"
        << "a flag on the command line wins.\n\n";
    const auto left = [](const Flag& flag) {
        return "  --" + flag.name + (flag.is_switch ? "" : " " + flag.value_name);
    };
    // The help texts start in one column, two spaces past the longest flag.
    std::size_t column = std::string("  --help").size();
    for (const Flag& flag : flags_) column = std::max(column, left(flag).size());
    column += 2;
    for (const Flag& flag : flags_) {
        const std::string text = left(flag);
        out << text << std::string(column - text.size(), ' ') << flag.help;
        if (!flag.shown_default.empty()) out << " (default: " << flag.shown_default << ")";
        out << " [" << env_name(flag.name) << "]\n";
    }
    out << "  --help" << std::string(column - 8, ' ') << "print this and exit\n";
    return out.str();
}

}  // namespace fcgihost
