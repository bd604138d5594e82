#include "fcgihost/options.hpp"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

namespace fcgihost {
namespace {

double parse_number(const std::string& text, std::size_t& used) {
    std::size_t digits = text.find_first_not_of("0123456789.");
    if (text.empty() || digits == 0 || (digits != std::string::npos && (text[digits] == 'x' || text[digits] == 'X'))) {
        throw std::invalid_argument("expected a number");
    }
    char* end = nullptr;
    errno = 0;
    double value = std::strtod(text.c_str(), &end);
    if (errno != 0 || !std::isfinite(value)) throw std::invalid_argument("number out of range");
    used = static_cast<std::size_t>(end - text.c_str());
    return value;
}

// "off" or "" turns a path off; anything else must be an absolute URL path.
std::string parse_path_or_off(const std::string& text) {
    if (text.empty() || text == "off") return std::string();
    if (text[0] != '/') throw std::invalid_argument("expected a path starting with / or off");
    return text;
}

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    return text;
}

}  // namespace

std::chrono::milliseconds parse_duration(const std::string& text) {
    std::size_t used = 0;
    double value = parse_number(text, used);
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
    double value = parse_number(text, used);
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

namespace {

// A name from the user or group database, or a number that is taken as the id itself.
template <class Id, class Lookup>
Id resolve_id(const std::string& name, const char* kind, Lookup lookup) {
    if (name.find_first_not_of("0123456789") == std::string::npos) {
        return static_cast<Id>(parse_count(name, 0, 4294967294UL));
    }
    bool found = false;
    Id id = lookup(name, found);
    if (!found) throw std::invalid_argument(std::string("no such ") + kind + " '" + name + "'");
    return id;
}

}  // namespace

SocketOwner parse_socket_owner(const std::string& text) {
    const std::size_t colon = text.find(':');
    const std::string user = text.substr(0, colon);
    const std::string group = colon == std::string::npos ? std::string() : text.substr(colon + 1);
    if (user.empty() && group.empty()) throw std::invalid_argument("expected USER, USER:GROUP or :GROUP");
    SocketOwner owner;
    if (!user.empty()) {
        owner.uid = resolve_id<uid_t>(user, "user", [](const std::string& name, bool& found) {
            const passwd* pw = getpwnam(name.c_str());
            found = pw != nullptr;
            return found ? pw->pw_uid : static_cast<uid_t>(-1);
        });
    }
    if (!group.empty()) {
        owner.gid = resolve_id<gid_t>(group, "group", [](const std::string& name, bool& found) {
            const struct group* gr = getgrnam(name.c_str());
            found = gr != nullptr;
            return found ? gr->gr_gid : static_cast<gid_t>(-1);
        });
    }
    return owner;
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

void OptionSet::add_switch(const std::string& name, const std::string& help, std::function<void(bool on)> apply) {
    Flag flag{name, "", "off", help, [apply](const std::string& v) {
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
    for (const Flag& flag : flags_) {
        std::string left = "  --" + flag.name + (flag.is_switch ? "" : " " + flag.value_name);
        out << left;
        out << std::string(left.size() < 32 ? 32 - left.size() : 1, ' ') << flag.help;
        if (!flag.shown_default.empty()) out << " (default: " << flag.shown_default << ")";
        out << " [" << env_name(flag.name) << "]\n";
    }
    out << "  --help" << std::string(26, ' ') << "print this and exit\n";
    return out.str();
}

void add_host_options(OptionSet& set, HostOptions& o) {
    set.add("threads", "N", "2 per core", "request threads", [&o](const std::string& v) {
        o.threads = static_cast<unsigned>(parse_count(v, 1, 1024));
    });
    set.add("workers", "N", std::to_string(o.workers),
            "background worker threads (0: none; durable jobs are only enqueued here)", [&o](const std::string& v) {
                o.workers = static_cast<unsigned>(parse_count(v, 0, 1024));
            });
    set.add("queue-capacity", "N", std::to_string(o.queue_capacity), "jobs that may wait to start",
            [&o](const std::string& v) { o.queue_capacity = parse_count(v, 1, 100000000); });
    set.add("max-body", "SIZE", "1M", "largest request body (at most 1G); larger gets 413",
            [&o](const std::string& v) {
                // A body is held in memory whole, twice for a moment (as read, and as the
                // handler's copy): a limit past what memory can hold is no limit.
                const std::size_t size = parse_size(v);
                if (size > std::size_t(1024) * 1024 * 1024) throw std::invalid_argument("at most 1G (a body is held in memory)");
                o.max_body = size;
            });
    set.add("drain-timeout", "DURATION", "30s", "time jobs get after a stop signal before cancel",
            [&o](const std::string& v) { o.drain_timeout = parse_duration(v); });
    set.add("cancel-grace", "DURATION", "5s", "time cancelled jobs get to return before exit",
            [&o](const std::string& v) { o.cancel_grace = parse_duration(v); });
    set.add("io-timeout", "DURATION", "30s", "longest wait for a web server read or write",
            [&o](const std::string& v) {
                o.io_timeout = parse_duration(v);
                if (o.io_timeout.count() < 1) throw std::invalid_argument("must be at least 1ms");
            });
    set.add("reload-timeout", "DURATION", "10s", "time a successor started by SIGUSR2 gets to serve",
            [&o](const std::string& v) {
                o.reload_timeout = parse_duration(v);
                if (o.reload_timeout.count() < 1) throw std::invalid_argument("must be at least 1ms");
            });
    set.add("pid-file", "PATH", "", "file naming the pid of the process that serves (replaced on reload)",
            [&o](const std::string& v) {
                if (v.empty()) throw std::invalid_argument("empty path");
                o.pid_file = v;
            });
    set.add("socket", "PATH", "", "create and listen on this unix socket",
            [&o](const std::string& v) {
                if (v.empty()) throw std::invalid_argument("empty path");
                o.socket_path = v;
            });
    set.add("socket-mode", "MODE", "0660", "permissions of the --socket file",
            [&o](const std::string& v) { o.socket_mode = parse_mode(v); });
    set.add("socket-owner", "USER[:GROUP]", "", "owner of the --socket file",
            [&o](const std::string& v) {
                if (!v.empty()) parse_socket_owner(v);
                o.socket_owner = v;
            });
    set.add("listen", "HOST:PORT", "", "listen on TCP (FCGI_WEB_SERVER_ADDRS limits peers)",
            [&o](const std::string& v) {
                std::size_t colon = v.rfind(':');
                if (colon == std::string::npos || colon == 0) throw std::invalid_argument("expected HOST:PORT");
                parse_count(v.substr(colon + 1), 1, 65535);
                o.listen = v;
            });
    set.add_switch("allow-any-peer",
                   "let --listen take FastCGI from any host (without it, a non-loopback address needs "
                   "FCGI_WEB_SERVER_ADDRS)",
                   [&o](bool on) { o.allow_any_peer = on; });
    set.add("backlog", "N", std::to_string(o.backlog), "listen backlog of a socket this process creates",
            [&o](const std::string& v) { o.backlog = static_cast<int>(parse_count(v, 1, 65535)); });
    set.add("status-path", "PATH", o.status_path.empty() ? "off" : o.status_path,
            "path that answers the status page (JSON; ?format=prometheus)",
            [&o](const std::string& v) { o.status_path = parse_path_or_off(v); });
    set.add("ping-path", "PATH", o.ping_path.empty() ? "off" : o.ping_path, "path that answers pong",
            [&o](const std::string& v) { o.ping_path = parse_path_or_off(v); });
    set.add("worker-nice", "N", std::to_string(o.worker_nice), "nice increment of worker threads (0-19)",
            [&o](const std::string& v) { o.worker_nice = static_cast<int>(parse_count(v, 0, 19)); });
    set.add("worker-policy", "POLICY", "batch",
            "scheduling of worker threads: batch, idle (only CPU time nothing else wants) or normal",
            [&o](const std::string& v) {
                if (v == "batch") o.worker_policy = WorkerPolicy::batch;
                else if (v == "idle") o.worker_policy = WorkerPolicy::idle;
                else if (v == "normal") o.worker_policy = WorkerPolicy::normal;
                else throw std::invalid_argument("expected batch, idle or normal");
            });
    set.add("log-level", "LEVEL", "info", "debug, info, warn or error", [&o](const std::string& v) {
        if (v == "debug") o.log_level = LogLevel::debug;
        else if (v == "info") o.log_level = LogLevel::info;
        else if (v == "warn") o.log_level = LogLevel::warn;
        else if (v == "error") o.log_level = LogLevel::error;
        else throw std::invalid_argument("expected debug, info, warn or error");
    });
    add_durable_options(set, o.durable);
}

}  // namespace fcgihost
