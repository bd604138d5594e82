// fcgihost-demo behind a real nginx (nginx/fcgihost.conf) under a bounded load: a graceful
// stop in the middle of it, a restart behind a socket holder (what systemd socket
// activation does on `systemctl restart`), and more kept nginx connections than request
// threads. Each test prints what it measured; none asserts a duration.
#include "integration/demo_process.hpp"
#include "support/http_client.hpp"
#include "support/load_client.hpp"
#include "support/nginx_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace fcgihost::testing_support;

namespace {

using Clock = LoadClock;
using std::chrono::milliseconds;

const std::chrono::seconds kRequestLimit(30);  // per request; a hang fails the request, not the run
const std::chrono::seconds kStartLimit(10);
const std::chrono::seconds kExitLimit(60);

// Every job whose 202 reached its client has exactly one `done` line, and no job ran whose
// client was told anything else. Returns the number of jobs accepted.
std::size_t assert_jobs_accounted(const std::vector<Planned>& plan, const std::vector<Outcome>& outcomes,
                                  const std::string& job_log) {
    std::map<std::string, int> done;
    std::istringstream lines(read_file(job_log));
    for (std::string line; std::getline(lines, line);) {
        if (line.compare(0, 5, "done ") == 0) ++done[line.substr(5)];
    }
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < plan.size(); ++i) {
        if (plan[i].job_id.empty()) continue;
        int lines_for_job = done.count(plan[i].job_id) ? done[plan[i].job_id] : 0;
        if (outcomes[i].status == 202) {
            ++accepted;
            CPPUNIT_ASSERT_EQUAL_MESSAGE("done lines of accepted job " + plan[i].job_id, 1, lines_for_job);
        } else {
            CPPUNIT_ASSERT_EQUAL_MESSAGE("job " + plan[i].job_id + " ran, but its client got " +
                                             std::to_string(outcomes[i].status),
                                         0, lines_for_job);
        }
    }
    return accepted;
}

// Attempts nginx made on a kept connection the responder had just closed: it logs each
// and retries the request on another connection, as fastcgi_next_upstream allows.
std::size_t kept_connection_failures(const std::string& error_log) {
    std::size_t count = 0;
    std::istringstream lines(error_log);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("[error]") != std::string::npos &&
            (line.find("while sending request to upstream") != std::string::npos ||
             line.find("while reading response header from upstream") != std::string::npos)) {
            ++count;
        }
    }
    return count;
}

// The demo's drain summary line, for the test output.
std::string drain_line(const std::string& log) {
    std::size_t at = log.find(" jobs completed=");
    if (at == std::string::npos) return "(no drain summary)";
    std::size_t start = log.rfind("drain ", at);
    return log.substr(start, log.find('\n', at) - start);
}

// The listening socket a holder keeps across processes, as systemd does for a .socket
// unit: bound at `path`, never unlinked here, closed on destruction.
class HeldSocket {
public:
    HeldSocket(const HeldSocket&) = delete;
    HeldSocket& operator=(const HeldSocket&) = delete;
    explicit HeldSocket(const std::string& path) : fd_(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        CPPUNIT_ASSERT_MESSAGE(std::strerror(errno), fd_ >= 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        CPPUNIT_ASSERT_EQUAL(0, bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
        // Room for every connection nginx opens while no process accepts (Backlog= in
        // fcgihost.socket); past it nginx's connect fails and the client gets 502.
        CPPUNIT_ASSERT_EQUAL(0, listen(fd_, 1024));
    }
    ~HeldSocket() { ::close(fd_); }
    int fd() const { return fd_; }

private:
    int fd_;
};

// The demo started on the held socket the way systemd starts a socket-activated service:
// the socket as fd 3, LISTEN_FDS=1 and LISTEN_PID naming the demo (sh's $$ survives exec).
std::unique_ptr<ChildProcess> activated_demo(const HeldSocket& held, const std::string& job_log,
                                             const std::string& log_path) {
    std::unique_ptr<ChildProcess> demo(new ChildProcess(
        {"/bin/sh", "-c", "exec 3<&0 0</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" \"$@\"", demo_binary(),
         "--job-log", job_log, "--workers", "16"},
        log_path, {}, held.fd()));
    return demo;
}

}  // namespace

class NginxLoadTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(NginxLoadTest);
    CPPUNIT_TEST(graceful_stop_under_load_loses_no_accepted_job);
    CPPUNIT_TEST(restart_behind_a_socket_holder_answers_every_request);
    CPPUNIT_TEST(more_kept_connections_than_request_threads);
    CPPUNIT_TEST_SUITE_END();

public:
    // SIGTERM to the demo after about half of the load. The socket it created goes away
    // with the stop, so nginx has nowhere to send later requests: those may get 502.
    void graceful_stop_under_load_loses_no_accepted_job() {
        DemoProcess demo({"--workers", "16"});
        NginxProcess nginx(demo.socket_path());
        HttpLoad load(nginx.host(), nginx.port(), 8, mixed_plan(2000, "g", 50, false), kRequestLimit);
        CPPUNIT_ASSERT(eventually([&] { return load.completed() >= 1000; }, kExitLimit, milliseconds(1)));
        const Clock::time_point signal_at = Clock::now();
        demo.process().signal(SIGTERM);
        const std::vector<Outcome>& outcomes = load.join();
        const bool demo_exited = demo.process().wait_exit(kExitLimit);

        std::vector<Outcome> before, after;
        for (const Outcome& o : outcomes) (o.received < signal_at ? before : after).push_back(o);
        std::size_t accepted = assert_jobs_accounted(load.plan(), outcomes, demo.job_log());
        std::cout << "\n  graceful stop: 2000 requests over 8 kept connections, SIGTERM after " << before.size()
                  << "\n    before the signal: " << tally(before) << "\n    after the signal:  " << tally(after)
                  << "\n    jobs accepted (202) " << accepted << ", each done once; demo: " << drain_line(demo.log())
                  << std::endl;

        for (const Outcome& o : before) {
            CPPUNIT_ASSERT_MESSAGE("before the signal: " + tally(before), is_2xx(o) && o.body_matches);
        }
        CPPUNIT_ASSERT_MESSAGE("the signal came after the whole load", !after.empty());
        CPPUNIT_ASSERT_MESSAGE(demo.log(), demo_exited);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(demo.log(), 0, demo.process().exit_code());
        CPPUNIT_ASSERT_EQUAL(0, nginx.stop());
        CPPUNIT_ASSERT_MESSAGE(nginx.error_log(), nginx.error_log().find("prematurely closed") == std::string::npos);
    }

    // The test holds the socket, like systemd for fcgihost.socket: demo #1 drains while
    // nginx's new connections wait in the backlog, demo #2 takes the same socket once #1
    // has exited and serves them. No client may see anything but a wait.
    void restart_behind_a_socket_holder_answers_every_request() {
        TempDir tmp;
        HeldSocket held(tmp.file("held.sock"));
        const std::string job_log = tmp.file("jobs.log");
        std::unique_ptr<ChildProcess> first = activated_demo(held, job_log, tmp.file("first.log"));
        CPPUNIT_ASSERT_MESSAGE(first->log(), first->wait_for_log("listening on LISTEN_FDS fd 3", kStartLimit));
        NginxProcess nginx(tmp.file("held.sock"));

        HttpLoad load(nginx.host(), nginx.port(), 8, mixed_plan(1600, "r", 50, true), kRequestLimit);
        CPPUNIT_ASSERT(eventually([&] { return load.completed() >= 500; }, kExitLimit, milliseconds(1)));
        const Clock::time_point signal_at = Clock::now();
        first->signal(SIGTERM);
        CPPUNIT_ASSERT_MESSAGE(first->log(), first->wait_exit(kExitLimit));
        const Clock::time_point first_exited_at = Clock::now();
        std::unique_ptr<ChildProcess> second = activated_demo(held, job_log, tmp.file("second.log"));
        const std::vector<Outcome>& outcomes = load.join();
        second->signal(SIGTERM);
        const bool second_exited = second->wait_exit(kExitLimit);

        long long gap = -1;
        long long longest = 0;
        std::size_t waited_through = 0;
        for (const Outcome& o : outcomes) {
            longest = std::max(longest, ms_between(o.sent, o.received));
            if (o.received <= first_exited_at) continue;
            long long after_exit = ms_between(first_exited_at, o.received);
            gap = gap < 0 ? after_exit : std::min(gap, after_exit);
            if (o.sent < first_exited_at) ++waited_through;
        }
        std::size_t accepted = assert_jobs_accounted(load.plan(), outcomes, job_log);
        const std::string error_log = nginx.error_log();
        std::cout << "\n  restart behind a held socket: 1600 requests (800 /work, 400 /, 400 POST /echo) over 8 kept"
                  << " connections, SIGTERM to #1 after "
                  << std::count_if(outcomes.begin(), outcomes.end(),
                                   [&](const Outcome& o) { return o.received < signal_at; })
                  << "\n    answers: " << tally(outcomes) << "; jobs accepted " << accepted << ", each done once"
                  << "\n    #1 " << drain_line(first->log()) << "\n    #1 signal to exit "
                  << ms_between(signal_at, first_exited_at) << " ms; #1 exit to first answer from #2 " << gap
                  << " ms; " << waited_through << " requests waited through the restart; longest request "
                  << longest << " ms\n    attempts nginx made on kept connections #1 had just closed (each retried): "
                  << kept_connection_failures(error_log) << std::endl;

        CPPUNIT_ASSERT_MESSAGE("first failure: " + first_failure(load.plan(), outcomes) + "; " + tally(outcomes) +
                                   "\nnginx error log:\n" + error_log,
                               first_failure(load.plan(), outcomes) == "none");
        CPPUNIT_ASSERT_MESSAGE("no request reached demo #2", gap >= 0);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(first->log(), 0, first->exit_code());
        CPPUNIT_ASSERT_MESSAGE(second->log(), second_exited);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(second->log(), 0, second->exit_code());
        CPPUNIT_ASSERT_EQUAL(0, nginx.stop());
        CPPUNIT_ASSERT_MESSAGE(error_log, error_log.find("prematurely closed") == std::string::npos);
    }

    // fastcgi_keep_conn on, 16 clients, 2 request threads: nginx keeps more connections
    // open than there are threads. Idle ones must hold no thread: every request is served
    // (a pinned thread would leave others waiting into fastcgi_read_timeout, a 504), and the
    // stop is not held up by them while nginx still keeps them open.
    void more_kept_connections_than_request_threads() {
        DemoProcess demo({"--threads", "2"});
        NginxProcess nginx(demo.socket_path());
        HttpLoad load(nginx.host(), nginx.port(), 16, mixed_plan(1600, "k", 0, false), kRequestLimit);
        const std::vector<Outcome>& outcomes = load.join();
        long long longest = 0;
        for (const Outcome& o : outcomes) longest = std::max(longest, ms_between(o.sent, o.received));
        const std::string status = http_get(nginx.host(), nginx.port(), "/status").body;
        const long long connections = status_number(status, "connections");
        std::cout << "\n  2 request threads, 16 clients: " << tally(outcomes) << "; longest request " << longest
                  << " ms; connections nginx keeps open: " << connections << std::endl;

        CPPUNIT_ASSERT_MESSAGE("first failure: " + first_failure(load.plan(), outcomes) + "; " + tally(outcomes),
                               first_failure(load.plan(), outcomes) == "none");
        CPPUNIT_ASSERT_MESSAGE("nginx kept no more connections than threads: " + status, connections > 2);
        // nginx keeps its idle connections for 60 s (upstream keepalive_timeout): an exit
        // well inside that shows none of them held a thread.
        CPPUNIT_ASSERT_EQUAL_MESSAGE(demo.log(), 0, demo.stop(SIGTERM, std::chrono::seconds(20)));
        std::cout << "    demo: " << drain_line(demo.log()) << std::endl;
        assert_jobs_accounted(load.plan(), outcomes, demo.job_log());
        CPPUNIT_ASSERT_EQUAL(0, nginx.stop());
        CPPUNIT_ASSERT_MESSAGE(nginx.error_log(), nginx.error_log().find("timed out") == std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(NginxLoadTest, "integration");
