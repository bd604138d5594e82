// The durable store under bad conditions (a corrupt, unwritable or full file) and shared
// by several demo processes.
#include "integration/durable_demo.hpp"

#include "durable/sqlite_job_store.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

using namespace fcgihost::testing_support;

namespace {

// Starts the demo on `store` and expects it to refuse to start: exit 2, one log line.
std::string start_refused(const std::string& store) {
    TempDir dir;
    ChildProcess demo({demo_binary(), "--socket", dir.file("s"), "--job-store", store}, dir.file("log"));
    CPPUNIT_ASSERT(demo.wait_exit(std::chrono::seconds(10)));
    CPPUNIT_ASSERT_EQUAL(2, demo.exit_code());
    std::string log = demo.log();
    CPPUNIT_ASSERT_EQUAL_MESSAGE(log, 1L, static_cast<long>(std::count(log.begin(), log.end(), '\n')));
    return log;
}

// A tmpfs mounted for the test, unmounted at the end; mounted() is false without the right.
class SmallTmpfs {
public:
    SmallTmpfs(const std::string& size) : path_(dir_.file("fs")) {
        ::mkdir(path_.c_str(), 0755);
        mounted_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
    }
    ~SmallTmpfs() {
        if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
    }
    bool mounted() const { return mounted_; }
    bool remount(unsigned long flags, const std::string& options) {
        return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT | flags, options.c_str()) == 0;
    }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    TempDir dir_;
    std::string path_;
    bool mounted_ = false;
};

long long percentile(std::vector<long long> values, double p) {
    if (values.empty()) return -1;
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())))];
}

}  // namespace

class DurableStoreTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DurableStoreTest);
    CPPUNIT_TEST(corrupt_store_exits_2_in_one_line);
    CPPUNIT_TEST(unwritable_store_exits_2_in_one_line);
    CPPUNIT_TEST(full_disk_refuses_with_503_and_loses_nothing_accepted);
    CPPUNIT_TEST(two_processes_share_one_store);
    CPPUNIT_TEST(four_processes_share_one_store);
    CPPUNIT_TEST_SUITE_END();

public:
    void corrupt_store_exits_2_in_one_line() {
        TempDir dir;
        std::ofstream(dir.file("jobs.db")) << std::string(10000, 'x');
        std::string log = start_refused(dir.file("jobs.db"));
        CPPUNIT_ASSERT_MESSAGE(log, log.find("not a database") != std::string::npos);
        CPPUNIT_ASSERT(log.find(dir.file("jobs.db")) != std::string::npos);
    }

    void unwritable_store_exits_2_in_one_line() {
        TempDir dir;
        std::ofstream(dir.file("plain-file")) << "x";
        std::string log = start_refused(dir.file("plain-file") + "/jobs.db");  // its directory is a file
        CPPUNIT_ASSERT_MESSAGE(log, log.find("unable to open database file") != std::string::npos);
        SmallTmpfs fs("1m");
        if (!fs.mounted()) {
            std::cout << " [no mount permission: read-only case skipped] " << std::flush;
            return;
        }
        { fcgihost::SqliteJobStore created(fs.file("jobs.db")); }
        CPPUNIT_ASSERT(fs.remount(MS_RDONLY, ""));
        log = start_refused(fs.file("jobs.db"));
        CPPUNIT_ASSERT_MESSAGE(log, log.find(fs.file("jobs.db")) != std::string::npos);
    }

    void full_disk_refuses_with_503_and_loses_nothing_accepted() {
        SmallTmpfs fs("160k");
        if (!fs.mounted()) {
            std::cout << " [no mount permission: skipped] " << std::flush;
            return;
        }
        DurableFiles files;
        auto demo = std::make_unique<DemoProcess>(std::vector<std::string>{
            "--job-store", fs.file("jobs.db"), "--job-log", files.job_log(), "--workers", "1"});
        CPPUNIT_ASSERT_EQUAL(202, demo->get("/work?durable=1&ms=3000&id=block").status);
        std::set<std::string> accepted{"block"};
        FcgiResponse refused;
        for (int i = 0; i < 20000 && refused.status == 0; ++i) {
            std::string id = "fill" + std::to_string(i);
            FcgiResponse r = demo->get("/work?durable=1&ms=0&id=" + id + "&pad=" + std::string(200, 'p'));
            if (r.status == 202) accepted.insert(id);
            else refused = r;
        }
        CPPUNIT_ASSERT_EQUAL_MESSAGE(refused.body, 503, refused.status);
        CPPUNIT_ASSERT(refused.body.find("\"reason\":\"store_error\"") != std::string::npos);
        CPPUNIT_ASSERT(demo->log().find("full") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo->get("/").body);
        CPPUNIT_ASSERT(fs.remount(0, "size=16m"));
        CPPUNIT_ASSERT(eventually([&] { return files.all_done(accepted); }, std::chrono::seconds(60)));
        std::cout << " [" << accepted.size() << " accepted before the disk was full, all ran] " << std::flush;
        CPPUNIT_ASSERT_EQUAL(0, demo->stop(SIGTERM));
    }

    void two_processes_share_one_store() { share(2); }
    void four_processes_share_one_store() { share(4); }

private:
    void share(int processes) {
        DurableFiles files;
        std::vector<std::unique_ptr<DemoProcess>> demos;
        for (int i = 0; i < processes; ++i) demos.push_back(files.start({"--workers", "2"}));
        constexpr int kClients = 8;
        constexpr int kPerClient = 60;
        std::mutex mutex;
        std::vector<long long> latencies_us;
        std::set<std::string> accepted;
        std::vector<std::thread> clients;
        for (int c = 0; c < kClients; ++c) {
            clients.emplace_back([&, c] {
                for (int i = 0; i < kPerClient; ++i) {
                    std::string id = "p" + std::to_string(c) + "-" + std::to_string(i);
                    auto sent = std::chrono::steady_clock::now();
                    FcgiResponse r = demos[static_cast<std::size_t>((c + i) % processes)]->get(
                        "/work?durable=1&ms=1&id=" + id);
                    auto took = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - sent);
                    std::lock_guard<std::mutex> lock(mutex);
                    latencies_us.push_back(took.count());
                    if (r.status == 202) accepted.insert(id);
                }
            });
        }
        for (std::thread& t : clients) t.join();
        CPPUNIT_ASSERT_EQUAL(static_cast<std::size_t>(kClients * kPerClient), accepted.size());
        CPPUNIT_ASSERT(eventually([&] { return files.all_done(accepted); }, std::chrono::seconds(60)));
        std::map<std::string, std::size_t> counts = files.done_counts();
        std::size_t twice = 0;
        for (const auto& c : counts) twice += c.second - 1;
        std::cout << " [" << processes << " processes: enqueue p50 " << percentile(latencies_us, 0.5) << " us, p99 "
                  << percentile(latencies_us, 0.99) << " us, max " << percentile(latencies_us, 1.0)
                  << " us; duplicates " << twice << "] " << std::flush;
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), twice);
        CPPUNIT_ASSERT(percentile(latencies_us, 1.0) < 2000 * 1000);
        for (auto& demo : demos) CPPUNIT_ASSERT_EQUAL(0, demo->stop(SIGTERM));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DurableStoreTest, "integration");
