// Options: command-line flags, each also settable as an environment variable.
//
// Every flag "--foo-bar VALUE" (or "--foo-bar=VALUE") can be given as FCGIHOST_FOO_BAR
// instead; a flag on the command line wins over the environment. Applications add their
// own flags next to the host's (the demo adds --job-log). Parsing fails with OptionError,
// whose message is one line naming the flag or variable; callers print it and exit 2
// before they open any socket.
#pragma once

#include "fcgihost/durable_options.hpp"
#include "fcgihost/job_queue.hpp"
#include "fcgihost/log.hpp"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fcgihost {

struct OptionError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Value parsers; each throws std::invalid_argument with a short reason.
std::chrono::milliseconds parse_duration(const std::string& text);  // "30s", "500ms", "2m", "1.5s", "30" (= s)
std::size_t parse_size(const std::string& text);                    // "1048576", "64k", "1M", "1G"
unsigned long parse_count(const std::string& text, unsigned long min, unsigned long max);
mode_t parse_mode(const std::string& text);                          // octal, "0660"

// --socket-owner: "user", "user:group" or ":group"; names or numeric ids. An id left
// out is -1 (unchanged). Resolved while the flags are parsed, so an unknown name stops
// the start before any socket exists.
struct SocketOwner {
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
};
SocketOwner parse_socket_owner(const std::string& text);

class OptionSet {
public:
    using Apply = std::function<void(const std::string& value)>;

    // Declares --name. `apply` parses and stores the value, throwing std::invalid_argument
    // for a bad one. `shown_default` is what --help prints as the default.
    void add(const std::string& name, const std::string& value_name, const std::string& shown_default,
             const std::string& help, Apply apply);
    // Declares --name that takes no value: "--name" alone turns it on ("--name=no" off). As a
    // variable it takes 1/0, yes/no, true/false or on/off; anything else is an OptionError.
    void add_switch(const std::string& name, const std::string& help, std::function<void(bool on)> apply);

    // Applies FCGIHOST_* from `environ`, then the arguments. Returns false if --help was
    // given (nothing else is applied then). Throws OptionError naming the flag or variable.
    bool parse(int argc, const char* const* argv, const char* const* environ);

    // The --help text: usage line, then one line per flag with its default and variable.
    std::string help(const std::string& program) const;

    static std::string env_name(const std::string& flag);  // "drain-timeout" -> "FCGIHOST_DRAIN_TIMEOUT"

private:
    struct Flag {
        std::string name;
        std::string value_name;
        std::string shown_default;
        std::string help;
        Apply apply;
        bool is_switch = false;  // no value on the command line
    };
    const Flag* find(const std::string& name) const;
    void apply(const Flag& flag, const std::string& value, const std::string& source) const;

    std::vector<Flag> flags_;
};

struct HostOptions {
    unsigned threads = 0;                              // 0: two per core
    unsigned workers = 4;
    std::size_t queue_capacity = 1024;
    std::size_t max_body = 1024 * 1024;
    std::chrono::milliseconds drain_timeout{30000};
    std::chrono::milliseconds cancel_grace{5000};
    std::chrono::milliseconds io_timeout{30000};
    std::chrono::milliseconds reload_timeout{10000};   // SIGUSR2: how long a successor gets to serve
    std::string pid_file;                              // "" = none
    std::string socket_path;
    mode_t socket_mode = 0660;
    std::string socket_owner;                          // checked by parse_socket_owner
    std::string listen;                                // "HOST:PORT"
    int backlog = 1024;
    std::string status_path;                           // "" = off
    std::string ping_path;                             // "" = off
    int worker_nice = 10;
    WorkerPolicy worker_policy = WorkerPolicy::batch;
    LogLevel log_level = LogLevel::info;
    bool allow_any_peer = false;                       // TCP on a non-loopback address without FCGI_WEB_SERVER_ADDRS
    DurableOptions durable;                            // --job-*
};

// Declares the host's flags (--threads, --drain-timeout, ...) bound to `options`.
void add_host_options(OptionSet& set, HostOptions& options);

}  // namespace fcgihost
