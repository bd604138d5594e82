#include "support/postgres_process.hpp"

#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace fcgihost {
namespace testing_support {
namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin/";
const char* const kUser = "fcgihost";

// argv that runs `argv` as nobody: initdb and postgres refuse to run as root.
std::vector<std::string> as_nobody(std::vector<std::string> argv) {
    if (geteuid() != 0) return argv;
    std::vector<std::string> out = {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

void give_to_nobody(const std::string& path) {
    if (geteuid() != 0) return;
    const passwd* pw = getpwnam("nobody");
    if (!pw || chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("cannot chown " + path);
}

}  // namespace

PostgresProcess::PostgresProcess() {
    give_to_nobody(dir_.path());
    chmod(dir_.path().c_str(), 0755);  // the test (root or not) reads the logs written here
    ChildProcess initdb(as_nobody({kBin + "initdb", "-D", dir_.file("data"), "-U", kUser, "--auth=trust",
                                   "--no-sync", "-E", "UTF8", "--locale=C"}),
                        dir_.file("initdb.log"));
    if (!initdb.wait_exit(std::chrono::seconds(60)) || initdb.exit_code() != 0) {
        throw std::runtime_error("initdb failed: " + read_file(dir_.file("initdb.log")));
    }
    start();
}

PostgresProcess::~PostgresProcess() {
    try {
        stop();
    } catch (...) {  // a destructor must not throw; ChildProcess kills what is left
    }
}

void PostgresProcess::start() {
    const std::string log = dir_.file("server" + std::to_string(++starts_) + ".log");
    // Durability is not what these tests measure: fsync off keeps them fast on a busy disk.
    // In a session of its own (setsid(1) execs in place, so the pid stays the server's): a
    // frozen server's stopped processes must not be in the test runner's process group,
    // where the kernel's SIGHUP to an orphaned group with stopped members would reach the
    // runner and every demo it started.
    std::vector<std::string> argv = {"/usr/bin/setsid"};
    const std::vector<std::string> server =
        as_nobody({kBin + "postgres", "-D", dir_.file("data"), "-c", "listen_addresses=", "-c",
                   "unix_socket_directories=" + dir_.path(), "-c", "fsync=off", "-c", "max_connections=200"});
    argv.insert(argv.end(), server.begin(), server.end());
    server_ = std::make_unique<ChildProcess>(argv, log);
    wait_ready();
}

void PostgresProcess::wait_ready() {
    if (!server_->wait_for_log("database system is ready to accept connections", std::chrono::seconds(60))) {
        throw std::runtime_error("postgres did not start: " + server_->log());
    }
}

void PostgresProcess::stop() {
    if (!server_ || server_->exited()) return;
    server_->signal(SIGINT);  // fast shutdown: sessions ended, data written
    if (!server_->wait_exit(std::chrono::seconds(30))) server_->signal(SIGKILL);
    server_->wait_exit(std::chrono::seconds(10));
}

pid_t PostgresProcess::pid() const { return server_ && !server_->exited() ? server_->pid() : -1; }

std::string PostgresProcess::log() const { return server_ ? server_->log() : ""; }

std::string PostgresProcess::conninfo(const std::string& db) const {
    return "host=" + dir_.path() + " user=" + kUser + " dbname=" + db;
}

void PostgresProcess::sql(const std::string& statement, const std::string& db) const {
    PGconn* c = PQconnectdb(conninfo(db).c_str());
    std::string error;
    if (PQstatus(c) != CONNECTION_OK) {
        error = PQerrorMessage(c);
    } else {
        PGresult* r = PQexec(c, statement.c_str());
        const ExecStatusType s = PQresultStatus(r);
        if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) error = PQresultErrorMessage(r);
        PQclear(r);
    }
    PQfinish(c);
    if (!error.empty()) throw std::runtime_error(statement + ": " + error);
}

std::string PostgresProcess::create_database() {
    const std::string name = "t" + std::to_string(++databases_);
    sql("CREATE DATABASE " + name);
    return conninfo(name);
}

FrozenPostgres::FrozenPostgres(const PostgresProcess& server) {
    const pid_t postmaster = server.pid();
    if (postmaster <= 0 || ::kill(postmaster, SIGSTOP) != 0) throw std::runtime_error("cannot stop the server");
    pids_.push_back(postmaster);
    // Only once it has stopped can it fork no backend that the list below would miss. It is
    // this process's child, so waitid can wait for that; WNOWAIT leaves its end to ChildProcess.
    siginfo_t info{};
    while (waitid(P_PID, static_cast<id_t>(postmaster), &info, WSTOPPED | WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
    for (pid_t p : descendants_of(postmaster)) {
        if (::kill(p, SIGSTOP) == 0) pids_.push_back(p);
    }
}

FrozenPostgres::~FrozenPostgres() { thaw(); }

void FrozenPostgres::thaw() {
    for (pid_t p : pids_) ::kill(p, SIGCONT);
    pids_.clear();
}

PostgresProcess& PostgresProcess::shared() {
    static PostgresProcess server;
    return server;
}

}  // namespace testing_support
}  // namespace fcgihost
