// OptionSet: a generic parser of command-line flags, each also settable as an environment
// variable.
//
// Every flag "--foo-bar VALUE" (or "--foo-bar=VALUE") can be given as FCGIHOST_FOO_BAR
// instead; a flag on the command line wins over the environment. Parsing fails with OptionError,
// whose message is one line naming the flag or variable; callers print it and exit 2
// before they open any socket.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
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

// The inverse, for --help defaults: the shortest exact form ("30s", "500ms", "1M", "0660").
std::string format_duration(std::chrono::milliseconds duration);
std::string format_size(std::size_t bytes);
std::string format_mode(mode_t mode);

class OptionSet {
public:
    using Apply = std::function<void(const std::string& value)>;

    // Declares --name. `apply` parses and stores the value, throwing std::invalid_argument
    // for a bad one. `shown_default` is what --help prints as the default: pass the
    // current value of what `apply` sets (format_duration etc.), so the default has one copy.
    void add(const std::string& name, const std::string& value_name, const std::string& shown_default,
             const std::string& help, Apply apply);
    // Declares --name that takes no value: "--name" alone turns it on ("--name=no" off). As a
    // variable it takes 1/0, yes/no, true/false or on/off; anything else is an OptionError.
    // `on_now` is the current value of what `apply` sets, shown as the default.
    void add_switch(const std::string& name, const std::string& help, bool on_now, std::function<void(bool on)> apply);

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

}  // namespace fcgihost
