// The baseline: the fastest a plain libfcgi responder is here. N threads, each blocked in
// FCGX_Accept_r on the shared listening socket, answering "hello". No router, no queue,
// no drain: what every fcgihost row is measured against.
// Usage: raw_responder SOCKET_PATH THREADS
#include <fcgiapp.h>

#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s SOCKET_PATH THREADS\n", argv[0]);
        return 2;
    }
    FCGX_Init();
    signal(SIGTERM, SIG_DFL);  // libfcgi's handler only sets a flag; the bench stops us with TERM
    int listen_fd = FCGX_OpenSocket(argv[1], 1024);
    if (listen_fd < 0) return 1;
    chmod(argv[1], 0666);
    int threads = std::atoi(argv[2]);
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
        pool.emplace_back([listen_fd] {
            FCGX_Request request;
            FCGX_InitRequest(&request, listen_fd, 0);
            static const char reply[] = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n";
            while (FCGX_Accept_r(&request) == 0) {
                FCGX_PutStr(reply, sizeof reply - 1, request.out);
                FCGX_Finish_r(&request);
            }
        });
    }
    for (std::thread& t : pool) t.join();
    return 0;
}
