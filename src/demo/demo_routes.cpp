#include "demo_routes.hpp"

#include "demo_durable.hpp"

#include "fcgihost/log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace fcgihost {
namespace demo {
namespace {

constexpr long kMaxWorkMs = 3600 * 1000;
constexpr std::size_t kMaxIdLength = 64;

std::atomic<unsigned long> next_anonymous_id{1};

// Ids go into JSON and into one-line log records, so they are kept to a safe alphabet.
bool valid_id(const std::string& id) {
    if (id.empty() || id.size() > kMaxIdLength) return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

// The id from ?id=, or a fresh one; "" if the given one is unusable.
std::string job_id(const Request& request) {
    if (!request.has_query("id")) return "job-" + std::to_string(next_anonymous_id++);
    std::string id = request.query("id");
    return valid_id(id) ? id : std::string();
}

Response queued_response(const std::string& id, QueueResult result) {
    if (result == QueueResult::accepted) {
        return Response::json(202, "{\"id\":\"" + id + "\",\"queued\":true}\n");
    }
    Response refused = Response::json(
        503, "{\"id\":\"" + id + "\",\"queued\":false,\"reason\":\"" + to_string(result) + "\"}\n");
    refused.set_header("Retry-After", "1");
    return refused;
}

Response bad_request(const std::string& why) { return Response::text(400, why + "\n"); }

// The ms query parameter of /work and /wait (0 if absent); -1 unless it is a whole number of
// milliseconds up to kMaxWorkMs.
long work_ms(const Request& request) {
    const std::string text = request.query("ms", "0");
    if (text.empty() || text.size() > 7 || text.find_first_not_of("0123456789") != std::string::npos) return -1;
    const long ms = std::stol(text);
    return ms > kMaxWorkMs ? -1 : ms;
}

// Appends `line` whole, or not at all: "" on success, else what failed. The file lock keeps
// other workers and other processes (a successor during a reload) from appending between the
// size check and the write. A write that stops part-way (disk full, RLIMIT_FSIZE) is cut
// back off: left there, it would merge with the next line ("dondone b").
std::string append_whole_line(int fd, const std::string& line) {
    while (::flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) return std::string("lock: ") + std::strerror(errno);
    }
    struct stat before {};
    const bool regular = ::fstat(fd, &before) == 0 && S_ISREG(before.st_mode);
    std::string error;
    for (std::size_t done = 0; done < line.size();) {
        const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = std::string("write: ") + std::strerror(n < 0 ? errno : EIO);
            if (done > 0 && regular && ::ftruncate(fd, before.st_size) != 0) {
                error += std::string("; the partial line stays: ") + std::strerror(errno);
            }
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    ::flock(fd, LOCK_UN);
    return error;
}

}  // namespace

void append_done_line(const std::string& path, const std::string& id) {
    const std::string line = "done " + id + "\n";
    const std::string where = "job log " + path;
    // O_NOFOLLOW: a symlink planted at the path must not send the lines (or O_CREAT) elsewhere.
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) throw std::runtime_error(where + ": " + std::strerror(errno));
    std::string error = append_whole_line(fd, line);
    if (error.empty() && ::fsync(fd) != 0) error = std::string("fsync: ") + std::strerror(errno);
    ::close(fd);
    if (!error.empty()) throw std::runtime_error(where + ": " + error);
}

void add_demo_routes(Router& router, BackgroundQueue& jobs, const DemoOptions& options, DurableQueue* durable) {
    router.get("/", [](const Request&) { return Response::text(200, "hello\n"); });

    std::string job_log = options.job_log;
    router.get("/work", [&jobs, job_log, durable](const Request& request) {
        std::string id = job_id(request);
        if (id.empty()) return bad_request("id: letters, digits, '-', '_' or '.', at most 64");
        const long ms = work_ms(request);
        if (ms < 0) return bad_request("ms: a whole number of milliseconds up to " + std::to_string(kMaxWorkMs));
        if (request.query("durable") == "1") {
            if (durable == nullptr) return Response::json(503, "{\"id\":\"" + id + "\",\"queued\":false,\"reason\":\"no_store\"}\n");
            return enqueue_durable(*durable, id, "work", {{"id", id}, {"ms", std::to_string(ms)}}, request.query("key"));
        }
        QueueResult result = jobs.queue("work:" + id, [id, ms, job_log](const CancellationToken& token) {
            // Sleeps through "stopping" (the drain exists to let this finish) and wakes at
            // "cancelled"; ending after the cancel counts the job cancelled, not completed.
            if (!token.sleep_for(std::chrono::milliseconds(ms))) {
                log_warn("job work:", id, " cancelled before its ", ms, " ms were up; no done line");
                return;
            }
            if (job_log.empty()) {
                log_info("done ", id);
            } else {
                append_done_line(job_log, id);
            }
        });
        return queued_response(id, result);
    });

    // The same wait as /work, on an asio timer: it holds no worker while it waits. The done
    // line's fsync blocks the I/O thread for its duration; the demo accepts that.
    router.get("/wait", [&jobs, job_log](const Request& request) {
        std::string id = job_id(request);
        if (id.empty()) return bad_request("id: letters, digits, '-', '_' or '.', at most 64");
        const long ms = work_ms(request);
        if (ms < 0) return bad_request("ms: a whole number of milliseconds up to " + std::to_string(kMaxWorkMs));
        QueueResult result = jobs.queue_async("wait:" + id, [id, ms, job_log](AsyncContext& ctx) {
            ctx.sleep_for(std::chrono::milliseconds(ms), [ctx, id, ms, job_log](const boost::system::error_code& ec) mutable {
                if (ec) {
                    log_warn("job wait:", id, " cancelled before its ", ms, " ms were up; no done line");
                    return ctx.gave_up();
                }
                if (job_log.empty()) {
                    log_info("done ", id);
                } else {
                    append_done_line(job_log, id);
                }
                ctx.done();
            });
        });
        return queued_response(id, result);
    });

    router.get("/fail", [&jobs, durable](const Request& request) {
        std::string id = job_id(request);
        if (id.empty()) return bad_request("id: letters, digits, '-', '_' or '.', at most 64");
        if (request.query("durable") == "1") {
            const std::string times = request.query("times", "1");
            if (times.empty() || times.size() > 4 || times.find_first_not_of("0123456789") != std::string::npos) {
                return bad_request("times: a whole number up to 9999");
            }
            if (durable == nullptr) return Response::json(503, "{\"id\":\"" + id + "\",\"queued\":false,\"reason\":\"no_store\"}\n");
            return enqueue_durable(*durable, id, "fail", {{"id", id}, {"times", times}}, request.query("key"));
        }
        QueueResult result = jobs.queue("fail:" + id, [id](const CancellationToken&) {
            throw std::runtime_error("job " + id + " failed on purpose (/fail)");
        });
        return queued_response(id, result);
    });

    router.post("/echo", [](const Request& request) {
        std::string type = request.header("content-type");
        return Response(200, request.body(), type.empty() ? "application/octet-stream" : type);
    });
}

}  // namespace demo
}  // namespace fcgihost
