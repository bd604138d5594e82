// Helpers for the durable-job tests: a store and a job log that outlive each demo process,
// so a restarted demo works on what the killed one left.
#pragma once

#include "integration/demo_process.hpp"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace fcgihost {
namespace testing_support {

class DurableFiles {
public:
    // `store`: a --job-store to use instead of a SQLite file in the temp dir.
    explicit DurableFiles(std::string store = "") : store_(std::move(store)) {}
    std::string store() const { return store_.empty() ? dir_.file("jobs.db") : store_; }
    std::string job_log() const { return dir_.file("done.log"); }
    std::string file(const std::string& name) const { return dir_.file(name); }

    // A demo on this store and log, with a short retry base; `extra` comes last.
    std::unique_ptr<DemoProcess> start(const std::vector<std::string>& extra = {}) const {
        std::vector<std::string> args = {"--job-store", store(), "--job-log", job_log(), "--job-retry-base", "50ms"};
        args.insert(args.end(), extra.begin(), extra.end());
        return std::make_unique<DemoProcess>(args);
    }

    // How many "done ID" lines each id has.
    std::map<std::string, std::size_t> done_counts() const {
        std::map<std::string, std::size_t> counts;
        std::string text = read_file(job_log());
        std::size_t start = 0;
        while (start < text.size()) {
            std::size_t end = text.find('\n', start);
            if (end == std::string::npos) break;
            std::string line = text.substr(start, end - start);
            if (line.compare(0, 5, "done ") == 0) ++counts[line.substr(5)];
            start = end + 1;
        }
        return counts;
    }

    // True once every id in `ids` has at least one done line.
    bool all_done(const std::set<std::string>& ids) const {
        std::map<std::string, std::size_t> counts = done_counts();
        for (const std::string& id : ids) {
            if (counts.find(id) == counts.end()) return false;
        }
        return true;
    }

private:
    TempDir dir_;
    std::string store_;
};

// A count out of the "durable" object of the status JSON; -1 if absent.
inline long long durable_number(const std::string& json, const std::string& state) {
    std::size_t at = json.find("\"durable\":");
    return at == std::string::npos ? -1 : status_number(json.substr(at), state);
}

// Runs build/fcgihost-jobs with `args`; returns its exit code and puts its output in `out`.
int run_jobs_tool(const std::vector<std::string>& args, std::string& out);

}  // namespace testing_support
}  // namespace fcgihost
