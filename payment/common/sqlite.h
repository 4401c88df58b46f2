// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "payment/common/bytes.h"
#include "payment/common/result.h"

namespace lp::sql {

/// Thrown inside the SQLite wrapper only; the stores turn it into an Error at their API.
struct SqliteError : std::runtime_error {
  SqliteError(int rc_, const std::string& what) : std::runtime_error(what), rc(rc_) {}
  int rc;
  /// Busy or locked: another connection holds the database; trying again can succeed.
  bool retryable() const { return rc == SQLITE_BUSY || rc == SQLITE_LOCKED; }
};

class Stmt;

/// One SQLite connection in WAL mode with synchronous=FULL: a committed transaction survives
/// a crash of the process or the machine.
class Db {
 public:
  static std::unique_ptr<Db> open(const std::string& path);  // throws SqliteError
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const char* sql);
  Stmt prepare(const char* sql);
  sqlite3* handle() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

/// A prepared statement; bind indexes start at 1, column indexes at 0.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql);
  ~Stmt();
  Stmt(Stmt&& o) noexcept : db_(o.db_), st_(o.st_) { o.st_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;

  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, const std::string& v);
  Stmt& bind(int i, ByteSpan v);
  /// true when a row is available.
  bool step();
  void run() { step(); }

  std::int64_t i64(int col) const;
  std::string text(int col) const;
  Bytes blob(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

/// BEGIN IMMEDIATE ... COMMIT; rolls back unless commit() ran.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Db& db_;
  bool done_ = false;
};

/// Runs fn, turning a SqliteError into an Error (retryable when the database was busy).
template <class F>
auto guarded(const char* what, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const SqliteError& e) {
    return make_error(e.retryable() ? ErrorKind::retryable : ErrorKind::fatal, "storage",
                      std::string(what) + ": " + e.what());
  }
}

}  // namespace lp::sql
