#include "fuzz/in_process_server.hpp"

#include "fcgihost/log.hpp"
#include "fastcgi/server.hpp"

#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>

namespace fcgihost { namespace fuzzing {
namespace {

// Under libFuzzer's -timeout (5 s in run.sh), so that the harness says what it waited for.
constexpr auto kWedged = std::chrono::seconds(4);

Response handle(const Router& router, const Request& request) {
    if (request.path() == "/echo" && request.method() == "POST") return Response(200, request.body(), "text/plain");
    if (request.path() == "/throw") throw std::runtime_error("thrown on purpose");
    return router.route(request);
}

struct Instance {
    std::string dir;
    std::string path;
    Router router;
    std::unique_ptr<Listener> listener;
    std::unique_ptr<Server> server;

    Instance() {
        signal(SIGPIPE, SIG_IGN);
        log_set_fd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
        if (FCGX_Init() != 0) abort();
        char templ[] = "/tmp/fcgihost-fuzz-XXXXXX";
        if (mkdtemp(templ) == nullptr) abort();
        dir = templ;
        path = dir + "/s.sock";
        router.get("/", [](const Request&) { return Response::text(200, "hello\n"); });
        listener.reset(new Listener(Listener::create_unix(path, 0600, "", 64)));
        server.reset(new Server(*listener, [this](const Request& r) { return handle(router, r); },
                                ServerOptions{1, kFuzzMaxBody, std::chrono::seconds(2)}));
        server->start();
    }
};

Instance& instance() {
    // Never destroyed: the server's thread outlives main() under libFuzzer's exit().
    static Instance* it = new Instance();
    return *it;
}

int connect_to(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("fuzz: connect");
        abort();
    }
    return fd;
}

// FCGI_GET_VALUES_RESULT records among the whole records of `bytes`.
std::size_t get_values_results(const std::string& bytes) {
    std::size_t count = 0;
    for (std::size_t at = 0; bytes.size() - at >= 8;) {
        const auto* h = reinterpret_cast<const unsigned char*>(bytes.data() + at);
        const std::size_t whole = 8 + ((std::size_t{h[4]} << 8) | h[5]) + h[6];
        if (bytes.size() - at < whole) break;
        if (h[1] == 10) ++count;
        at += whole;
    }
    return count;
}

}  // namespace

FuzzAnswer parse_answer(const std::string& bytes, unsigned request_id) {
    FuzzAnswer answer;
    std::string out;
    std::size_t at = 0;
    while (at < bytes.size()) {
        if (bytes.size() - at < 8) {
            answer.well_formed = false;
            break;
        }
        const auto* h = reinterpret_cast<const unsigned char*>(bytes.data() + at);
        const unsigned type = h[1];
        const unsigned id = (h[2] << 8) | h[3];
        const std::size_t length = (std::size_t{h[4]} << 8) | h[5];
        if (h[0] != 1 || bytes.size() - at < 8 + length + h[6] ||
            (type != 3 && type != 6 && type != 7 && type != 10 && type != 11) || (type == 3 && length != 8)) {
            answer.well_formed = false;
            break;
        }
        if (id == request_id && type == 6) out.append(bytes, at + 8, length);
        if (id == request_id && type == 3) answer.ended = true;
        at += 8 + length + h[6];
    }
    if (out.empty()) return answer;
    const std::size_t head_end = out.find("\r\n\r\n");
    const std::string head = out.substr(0, head_end);
    answer.status = 200;
    const std::size_t status_at = head.find("Status: ");
    if (status_at != std::string::npos) answer.status = std::atoi(head.c_str() + status_at + 8);
    if (head_end != std::string::npos) answer.body = out.substr(head_end + 4);
    return answer;
}

std::string fuzz_exchange(const std::string& bytes, bool half_close, std::size_t get_values_owed) {
    Instance& it = instance();
    const int fd = connect_to(it.path);
    const auto deadline = std::chrono::steady_clock::now() + kWedged;
    std::string out;
    std::size_t sent = 0;
    bool write_open = true;
    char buf[65536];
    for (;;) {
        if (write_open && sent == bytes.size()) {
            if (half_close) ::shutdown(fd, SHUT_WR);
            write_open = false;
        }
        if (!half_close && !write_open && get_values_results(out) >= get_values_owed) break;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            if (half_close) {
                std::fprintf(stderr, "fuzz: the server did not close the connection within 4 s (sent %zu of %zu bytes)\n",
                             sent, bytes.size());
            } else {
                std::fprintf(stderr, "fuzz: the server answered %zu of %zu FCGI_GET_VALUES and did not close within 4 s\n",
                             get_values_results(out), get_values_owed);
            }
            abort();
        }
        pollfd p{fd, static_cast<short>(POLLIN | (write_open ? POLLOUT : 0)), 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) {
                out.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EINTR)) break;  // closed (or reset)
        }
        if (write_open && (p.revents & POLLOUT)) {
            ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                sent += static_cast<std::size_t>(n);
            } else if (errno != EAGAIN && errno != EINTR) {
                write_open = false;  // the server closed its end first; what it said is still readable
            }
        }
    }
    ::close(fd);
    // The server closes a connection a moment before it forgets it; wait for that, so that
    // what it does for this input is done before the next one starts.
    while (it.server->counts().connections != 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            std::fprintf(stderr, "fuzz: the server kept a closed connection past 4 s\n");
            abort();
        }
        std::this_thread::yield();
    }
    return out;
}

}}  // namespace fcgihost::fuzzing
