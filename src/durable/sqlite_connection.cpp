#include "durable/sqlite_connection.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fcgihost {
namespace durable {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// SQLite's own default for wal_autocheckpoint.
constexpr int kCheckpointFrames = 1000;

// Called by SQLite after each commit with the WAL's length in frames.
int note_wal_frames(void* connection, sqlite3*, const char*, int frames) {
    static_cast<Connection*>(connection)->wal_frames = frames;
    return SQLITE_OK;
}

// Each entry upgrades the schema from version i to i + 1.
const char* const kMigrations[] = {
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind TEXT NOT NULL,"
    " payload BLOB NOT NULL,"
    " unique_key TEXT,"
    " priority INTEGER NOT NULL DEFAULT 0,"
    " state TEXT NOT NULL CHECK (state IN ('waiting', 'running', 'dead')),"
    " failures INTEGER NOT NULL DEFAULT 0,"
    " max_attempts INTEGER NOT NULL,"
    " run_at INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " last_error TEXT,"
    " owner_host TEXT, owner_pid INTEGER, owner_start TEXT, lease_until INTEGER);"
    "CREATE UNIQUE INDEX jobs_live_key ON jobs (unique_key) WHERE unique_key IS NOT NULL AND state <> 'dead';"
    "CREATE INDEX jobs_due ON jobs (state, run_at);",
};

class FileLock {
public:
    explicit FileLock(int fd) : fd_(fd) {
        while (flock(fd_, LOCK_EX) != 0) {
            if (errno != EINTR) throw StoreError(std::string("job store lock file: ") + std::strerror(errno));
        }
    }
    ~FileLock() { flock(fd_, LOCK_UN); }
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

private:
    int fd_;
};

}  // namespace

Connection::Connection(const std::string& path) {
    const std::string where = "job store " + path;
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
        std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        throw StoreError(where + ": " + message);
    }
    try {
        if (sqlite3_db_readonly(db, "main") == 1) throw StoreError(where + ": file is read-only");
        sqlite3_busy_timeout(db, kBusyTimeoutMs);
        lock_fd = ::open((path + "-lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock_fd < 0) throw StoreError(where + "-lock: " + std::strerror(errno));
        {
            // Switching a new file to WAL reads, then writes its header: two processes doing
            // it at once got "database is locked" without waiting (the busy handler is not
            // called for that upgrade), so it happens under the write lock.
            FileLock lock(lock_fd);
            Statement mode(db, "PRAGMA journal_mode=WAL");
            if (!mode.step() || mode.text(0) != "wal") throw StoreError(where + ": cannot switch to WAL mode");
        }
        exec(db, "PRAGMA synchronous=FULL");
        // Replaces the automatic checkpoint, which would run inside COMMIT under the write lock.
        sqlite3_wal_hook(db, note_wal_frames, this);
    } catch (const StoreError& e) {
        sqlite3_close(db);
        if (lock_fd >= 0) ::close(lock_fd);
        // SQLite's own messages ("file is not a database") do not name the file.
        std::string what = e.what();
        throw StoreError(what.compare(0, where.size(), where) == 0 ? what : where + ": " + what.substr(what.find(": ") + 2));
    }
}

Connection::~Connection() {
    sqlite3_close(db);
    if (lock_fd >= 0) ::close(lock_fd);
}

void Connection::write(const std::function<void()>& body, Sync sync) {
    if (sync != sync_) {
        exec(db, sync == Sync::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        sync_ = sync;
    }
    {
        FileLock lock(lock_fd);
        exec(db, "BEGIN IMMEDIATE");
        try {
            body();
            exec(db, "COMMIT");
        } catch (...) {
            // After a failed COMMIT SQLite may already have rolled back; then this is a no-op.
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }
    // Outside the write lock: a passive checkpoint copies pages and fsyncs the database
    // while other writers go on appending to the WAL. A checkpoint that cannot finish now
    // (a reader holds old pages) is simply tried again after a later commit.
    if (wal_frames >= kCheckpointFrames) {
        wal_frames = 0;
        sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
}

void migrate(Connection& connection, int target_version) {
    connection.write([&] {
        Statement version(connection.db, "PRAGMA user_version");
        version.step();
        int current = static_cast<int>(version.integer(0));
        if (current > target_version) {
            throw StoreError("job store: schema version " + std::to_string(current) +
                             " is newer than this build's " + std::to_string(target_version));
        }
        for (int v = current; v < target_version; ++v) exec(connection.db, kMigrations[v]);
        if (current != target_version) {
            exec(connection.db, ("PRAGMA user_version=" + std::to_string(target_version)).c_str());
        }
    });
}

}  // namespace durable
}  // namespace fcgihost
