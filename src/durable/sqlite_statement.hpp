// Thin RAII wrappers over the SQLite C API for the job store: a prepared statement that
// binds by position and throws StoreError with SQLite's own message on any failure.
#pragma once

#include "durable/job_store.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace fcgihost {
namespace durable {

[[noreturn]] void throw_sqlite(sqlite3* db, const std::string& what);

class Statement {
public:
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement(sqlite3* db, const std::string& sql);
    ~Statement();

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, const std::string& text);
    Statement& bind_blob(int index, const std::string& bytes);
    Statement& bind_null(int index);

    void reset();  // ready to bind and step again
    bool step();  // true: a row is ready; false: done
    void run() { while (step()) {} }

    std::int64_t integer(int column) const;
    std::string text(int column) const;  // NULL reads as ""
    bool is_null(int column) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
    std::string sql_;
};

void exec(sqlite3* db, const char* sql);

}  // namespace durable
}  // namespace fcgihost
