// FcgiInput (src/fastcgi/fcgi_input.hpp): while one lives, libfcgi's reads (OS_Read) of its
// connection on its thread come from the assembled records in memory, then end of file,
// and never from the socket; other fds, other threads, and the time after it read the
// socket as libfcgi's own OS_Read does.
#include "fastcgi/fcgi_input.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <fcgios.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

using namespace fcgihost;

namespace {

struct Pair {
    int web = -1;
    int app = -1;
    Pair() {
        int fds[2];
        CPPUNIT_ASSERT_EQUAL(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
        web = fds[0];
        app = fds[1];
    }
    ~Pair() {
        ::close(web);
        ::close(app);
    }
    void send(const std::string& bytes) const {
        CPPUNIT_ASSERT_EQUAL(ssize_t(bytes.size()), ::send(web, bytes.data(), bytes.size(), MSG_NOSIGNAL));
    }
};

std::string os_read(int fd, std::size_t len) {
    std::string out(len, '\0');
    const int n = OS_Read(fd, &out[0], len);
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
}

}  // namespace

class FcgiInputTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FcgiInputTest);
    CPPUNIT_TEST(reads_of_its_fd_come_from_the_records_then_end);
    CPPUNIT_TEST(other_fds_other_threads_and_later_reads_use_the_socket);
    CPPUNIT_TEST_SUITE_END();

public:
    void reads_of_its_fd_come_from_the_records_then_end() {
        Pair pair;
        pair.send("on the socket");
        const std::string records = "assembled records";
        {
            FcgiInput input(pair.app, records);
            CPPUNIT_ASSERT_EQUAL(std::string("assembled"), os_read(pair.app, 9));
            CPPUNIT_ASSERT_EQUAL(std::string(" records"), os_read(pair.app, 8192));
            CPPUNIT_ASSERT_EQUAL(0, OS_Read(pair.app, nullptr, 0));
            char byte;
            CPPUNIT_ASSERT_EQUAL(0, OS_Read(pair.app, &byte, 1));  // end of file, not the socket's bytes
        }
        CPPUNIT_ASSERT_EQUAL(std::string("on the socket"), os_read(pair.app, 8192));
    }

    void other_fds_other_threads_and_later_reads_use_the_socket() {
        Pair mine;
        Pair other;
        const std::string records = "records";
        FcgiInput input(mine.app, records);
        other.send("other fd");
        CPPUNIT_ASSERT_EQUAL(std::string("other fd"), os_read(other.app, 8192));
        mine.send("socket bytes");
        std::string elsewhere;
        std::thread([&] { elsewhere = os_read(mine.app, 8192); }).join();
        CPPUNIT_ASSERT_EQUAL(std::string("socket bytes"), elsewhere);
        CPPUNIT_ASSERT_EQUAL(std::string("records"), os_read(mine.app, 8192));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(FcgiInputTest, "unit");
