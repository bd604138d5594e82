#include "fastcgi/socket_owner.hpp"

#include "fcgihost/option_set.hpp"

#include <grp.h>
#include <pwd.h>

#include <stdexcept>

namespace fcgihost {
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

}  // namespace fcgihost
