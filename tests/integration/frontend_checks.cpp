#include "integration/frontend_checks.hpp"

#include "integration/demo_process.hpp"
#include "support/http_client.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace fcgihost {
namespace testing_support {
namespace {

const std::size_t kOneMib = 1024 * 1024;  // the demo's --max-body and each sample's body limit

// Every byte value, in an order that is not a plain repeat.
std::string binary_body(std::size_t size) {
    std::string body(size, '\0');
    for (std::size_t i = 0; i < size; ++i) body[i] = static_cast<char>((i * 131 + i / 256) % 256);
    return body;
}

std::string job_json(const std::string& id) { return "{\"id\":\"" + id + "\",\"queued\":true}\n"; }

std::string describe(const FrontReply& r) {
    return "status " + std::to_string(r.status) + (r.error.empty() ? "" : " (" + r.error + ")") + ", body '" +
           r.body.substr(0, 200) + "'";
}

struct Planned {
    std::string target;
    std::string expected_body;
    std::string job_id;  // "" unless the request queues a job
};

struct Outcome {
    FrontReply reply;
    bool after_signal = false;  // the answer came after the signal was sent
};

std::map<std::string, int> done_lines(const std::string& job_log) {
    std::map<std::string, int> done;
    std::istringstream lines(read_file(job_log));
    for (std::string line; std::getline(lines, line);) {
        if (line.compare(0, 5, "done ") == 0) ++done[line.substr(5)];
    }
    return done;
}

}  // namespace

FrontClient http_front_client(const std::string& host, int port, std::chrono::milliseconds timeout) {
    return [host, port, timeout]() -> FrontSend {
        auto connection = std::make_shared<std::unique_ptr<HttpConnection>>();
        return [host, port, timeout, connection](const std::string& method, const std::string& target,
                                                 const std::string& body) {
            FrontReply reply;
            for (int attempt = 0; attempt < 2; ++attempt) {
                const bool reused = *connection != nullptr;
                try {
                    if (!reused) connection->reset(new HttpConnection(host, port, timeout));
                    HttpResponse r = (*connection)->request(method, target, body);
                    reply.status = r.status;
                    reply.body = r.body;
                    reply.error.clear();
                    if (strcasecmp(r.header("Connection").c_str(), "close") == 0) connection->reset();
                    return reply;
                } catch (const HttpError& e) {
                    reply.error = e.what();
                    connection->reset();
                    // Only "closed with nothing received" may be sent again: a timeout may
                    // mean the request is being served.
                    const bool unanswered = reply.error.find("closed in the response head") != std::string::npos ||
                                            reply.error.find("send: ") == 0 ||
                                            reply.error.find("reset") != std::string::npos;
                    if (!reused || method != "GET" || !unanswered) return reply;
                    reply.retried = true;
                }
            }
            return reply;
        };
    };
}

FrontDemo::FrontDemo(const std::string& group) : socket_(dir_.file("demo.sock")), job_log_(dir_.file("jobs.log")) {
    if (chmod(dir_.path().c_str(), 0755) != 0) throw std::runtime_error("chmod " + dir_.path());
    std::vector<std::string> argv = {demo_binary(), "--socket", socket_, "--job-log", job_log_};
    if (geteuid() == 0 && !group.empty()) {
        argv.insert(argv.end(), {"--socket-owner", ":" + group, "--socket-mode", "0660"});
    }
    process_.reset(new ChildProcess(argv, dir_.file("demo.log")));
    if (!process_->wait_for_log("listening on", std::chrono::seconds(10))) {
        throw std::runtime_error("fcgihost-demo did not start; its log:\n" + process_->log());
    }
}

FrontDemo::~FrontDemo() {
    if (process_->exited()) return;
    process_->signal(SIGTERM);
    process_->wait_exit(std::chrono::seconds(20));
}

void check_hello(const FrontClient& client) {
    FrontReply r = client()("GET", "/", "");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), 200, r.status);
    CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), r.body);
}

void check_echo_one_mib(const FrontClient& client) {
    const std::string body = binary_body(kOneMib);
    FrontReply r = client()("POST", "/echo", body);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), 200, r.status);
    CPPUNIT_ASSERT_EQUAL(body.size(), r.body.size());
    CPPUNIT_ASSERT_MESSAGE("the echoed body differs", r.body == body);
}

void check_job_done(const FrontClient& client, const std::string& job_log, const std::string& id) {
    FrontReply r = client()("GET", "/work?ms=0&id=" + id, "");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), 202, r.status);
    CPPUNIT_ASSERT_EQUAL(job_json(id), r.body);
    CPPUNIT_ASSERT_MESSAGE(read_file(job_log), wait_for_file_text(job_log, "done " + id + "\n", std::chrono::seconds(10)));
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), count_exact_lines(job_log, "done " + id));
}

void check_sequential(const FrontClient& client, int requests) {
    FrontSend send = client();
    for (int i = 0; i < requests; ++i) {
        const std::string id = "seq" + std::to_string(i);
        const bool job = i % 2 == 0;
        FrontReply r = send("GET", job ? "/work?ms=0&id=" + id : "/", "");
        const std::string where = "request " + std::to_string(i) + ": " + describe(r);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(where, job ? 202 : 200, r.status);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(where, job ? job_json(id) : std::string("hello\n"), r.body);
    }
}

void check_not_found(const FrontClient& client) {
    FrontReply r = client()("GET", "/no/such/route?x=1", "");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r), 404, r.status);
}

StopMeasure check_graceful_stop(const std::string& name, const FrontClient& client, FrontDemo& demo,
                                const std::set<int>& allowed_after, unsigned clients, std::size_t total,
                                std::size_t signal_after) {
    std::vector<Planned> plan(total);
    for (std::size_t i = 0; i < total; ++i) {
        if (i % 2 == 0) {
            plan[i].job_id = "stop" + std::to_string(i);
            plan[i].target = "/work?ms=20&id=" + plan[i].job_id;
            plan[i].expected_body = job_json(plan[i].job_id);
        } else {
            plan[i].target = "/";
            plan[i].expected_body = "hello\n";
        }
    }
    std::vector<Outcome> outcomes(total);  // slot i is written only by the thread that took request i
    std::atomic<std::size_t> next{0};
    std::atomic<bool> signalled{false};
    std::mutex mutex;
    std::condition_variable answered_changed;
    std::size_t answered = 0;  // guarded by mutex
    std::vector<std::thread> threads;
    for (unsigned c = 0; c < clients; ++c) {
        threads.emplace_back([&] {
            FrontSend send;
            for (std::size_t i = next++; i < total; i = next++) {
                Outcome& o = outcomes[i];
                try {
                    if (!send) send = client();
                    o.reply = send("GET", plan[i].target, "");
                } catch (const std::exception& e) {
                    o.reply.error = e.what();
                }
                o.after_signal = signalled.load();
                {
                    std::lock_guard<std::mutex> lock(mutex);
                    ++answered;
                }
                answered_changed.notify_all();
            }
        });
    }
    bool midway;
    {
        std::unique_lock<std::mutex> lock(mutex);
        midway = answered_changed.wait_for(lock, std::chrono::seconds(60), [&] { return answered >= signal_after; });
    }
    signalled = true;
    demo.process().signal(SIGTERM);
    for (std::thread& t : threads) t.join();
    const bool exited = demo.process().wait_exit(std::chrono::seconds(30));

    StopMeasure m;
    std::string first_wrong;
    const std::map<std::string, int> done = done_lines(demo.job_log());
    for (std::size_t i = 0; i < total; ++i) {
        const FrontReply& r = outcomes[i].reply;
        m.retried += r.retried ? 1 : 0;
        const bool ok = r.status / 100 == 2 && r.body == plan[i].expected_body;
        if (!outcomes[i].after_signal) {
            if (ok) ++m.before_2xx;
            else if (first_wrong.empty()) first_wrong = plan[i].target + " before the signal: " + describe(r);
        } else {
            ++m.after[ok ? 200 : r.status];
            if (!ok && !allowed_after.count(r.status) && first_wrong.empty()) {
                first_wrong = plan[i].target + " after the signal: " + describe(r);
            }
        }
        if (plan[i].job_id.empty()) continue;
        const auto found = done.find(plan[i].job_id);
        const int lines = found == done.end() ? 0 : found->second;
        if (r.status == 202) {
            ++m.jobs_accepted;
            CPPUNIT_ASSERT_EQUAL_MESSAGE("done lines of accepted job " + plan[i].job_id, 1, lines);
        } else {
            CPPUNIT_ASSERT_EQUAL_MESSAGE("job " + plan[i].job_id + " ran, but its client got " + describe(r), 0, lines);
        }
    }
    std::ostringstream line;
    line << name << ": " << total << " requests from " << clients << " clients, SIGTERM to the demo after "
         << signal_after << " answers; before it: 2xx " << m.before_2xx << "; after it:";
    for (const auto& s : m.after) {
        line << " " << (s.first == 0 ? std::string("no answer") : s.first == 200 ? "2xx" : std::to_string(s.first))
             << " " << s.second << ";";
    }
    line << " GETs sent again after a kept connection closed unanswered " << m.retried << "; jobs accepted "
         << m.jobs_accepted << ", each done once; demo exit "
         << (exited ? std::to_string(demo.process().exit_code()) : std::string("none"));
    m.summary = line.str();
    std::cout << "\n  " << m.summary << std::endl;

    CPPUNIT_ASSERT_MESSAGE("the load did not reach the signal point", midway);
    CPPUNIT_ASSERT_MESSAGE(first_wrong, first_wrong.empty());
    CPPUNIT_ASSERT_MESSAGE(demo.log(), exited);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(demo.log(), 0, demo.process().exit_code());
    return m;
}

}  // namespace testing_support
}  // namespace fcgihost
