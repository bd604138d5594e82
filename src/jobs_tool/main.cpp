// fcgihost-jobs: look at and repair the durable jobs in a --job-store file.
//   fcgihost-jobs --job-store PATH list [STATE]   one line per job (STATE: waiting,
//                                                 scheduled, running, retrying, dead)
//   fcgihost-jobs --job-store PATH show ID        every field of one job
//   fcgihost-jobs --job-store PATH retry ID       a dead job runs again (attempts reset)
//   fcgihost-jobs --job-store PATH delete ID      removes a job that is not running
//   fcgihost-jobs --help                          this usage on stdout
// Exit status: 0 done, 1 no such job (or not in a state that allows it), 2 bad usage or
// a store that cannot be opened.
#include "durable/open_job_store.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace {

const char kUsage[] =
    "usage: fcgihost-jobs --job-store PATH list [waiting|scheduled|running|retrying|dead]\n"
    "       fcgihost-jobs --job-store PATH show|retry|delete ID\n"
    "The store can also be given as FCGIHOST_JOB_STORE.\n";

std::string utc(std::int64_t unix_ms) {
    std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

// Payloads and errors are bytes: shown with control bytes escaped so a line stays a line.
std::string printable(const std::string& bytes) {
    std::string out;
    for (char ch : bytes) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f || c == '\\') {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += ch;
        }
    }
    return out;
}

int usage() {
    std::fputs(kUsage, stderr);
    return 2;
}

bool asks_for_help(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) return true;
    }
    return false;
}

bool parse_id(const char* text, std::int64_t& id) {
    char* end = nullptr;
    long long value = std::strtoll(text, &end, 10);
    if (*text == '\0' || *end != '\0' || value <= 0) return false;
    id = value;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (asks_for_help(argc, argv)) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    std::string store_path = std::getenv("FCGIHOST_JOB_STORE") ? std::getenv("FCGIHOST_JOB_STORE") : "";
    int i = 1;
    if (i < argc && std::strncmp(argv[i], "--job-store=", 12) == 0) {
        store_path = argv[i++] + 12;
    } else if (i + 1 < argc && std::strcmp(argv[i], "--job-store") == 0) {
        store_path = argv[i + 1];
        i += 2;
    }
    if (store_path.empty() || i >= argc) return usage();
    const std::string command = argv[i++];
    try {
        const std::unique_ptr<fcgihost::JobStore> opened = fcgihost::open_job_store(store_path);
        fcgihost::JobStore& store = *opened;
        if (command == "list") {
            std::optional<fcgihost::StoredState> state;
            if (i < argc) {
                state = fcgihost::parse_stored_state(argv[i++]);
                if (!state) return usage();
            }
            if (i != argc) return usage();
            for (const fcgihost::StoredJob& j : store.list(state, 100000)) {
                std::printf("%lld %s %s attempt=%u/%u run_at=%s%s%s\n", static_cast<long long>(j.job.id),
                            fcgihost::to_string(j.state), printable(j.job.kind).c_str(), j.job.attempt - 1,
                            j.max_attempts, utc(j.run_at_ms).c_str(), j.last_error.empty() ? "" : " error=",
                            printable(j.last_error).c_str());
            }
            return 0;
        }
        std::int64_t id = 0;
        if (i + 1 != argc || !parse_id(argv[i], id)) return usage();
        if (command == "show") {
            std::optional<fcgihost::StoredJob> j = store.show(id);
            if (!j) {
                std::fprintf(stderr, "fcgihost-jobs: no job %lld\n", static_cast<long long>(id));
                return 1;
            }
            std::printf("id: %lld\nkind: %s\nstate: %s\nattempts: %u of %u\npriority: %d\nunique_key: %s\n"
                        "run_at: %s\ncreated: %s\nlast_error: %s\nowner: %s\npayload: %s\n",
                        static_cast<long long>(j->job.id), printable(j->job.kind).c_str(), fcgihost::to_string(j->state),
                        j->job.attempt - 1, j->max_attempts, j->priority, printable(j->unique_key).c_str(),
                        utc(j->run_at_ms).c_str(), utc(j->created_ms).c_str(), printable(j->last_error).c_str(),
                        j->owner.host.empty() ? "" : (j->owner.host + " pid " + std::to_string(j->owner.pid)).c_str(),
                        printable(j->job.payload).c_str());
            return 0;
        }
        if (command == "retry" || command == "delete") {
            bool done = command == "retry" ? store.retry_dead(id) : store.remove(id);
            if (!done) {
                std::fprintf(stderr, "fcgihost-jobs: no %s job %lld\n", command == "retry" ? "dead" : "waiting or dead",
                             static_cast<long long>(id));
                return 1;
            }
            std::printf("%s %lld\n", command == "retry" ? "retrying" : "deleted", static_cast<long long>(id));
            return 0;
        }
        return usage();
    } catch (const fcgihost::StoreError& e) {
        std::fprintf(stderr, "fcgihost-jobs: %s\n", e.what());
        return 2;
    }
}
