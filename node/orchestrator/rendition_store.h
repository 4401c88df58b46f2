// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

namespace lp::orch {

/// Where signed renditions wait for the gateway's GET /stream/<session>/<profile>/<seq>.ts
/// (go-livepeer's object-store drivers: memory here; object storage would be another).
/// Thread-safe.
class RenditionStore {
 public:
  virtual ~RenditionStore() = default;
  virtual void put(const std::string& session, const std::string& profile, std::int64_t seq,
                   std::string bytes) = 0;
  virtual std::optional<std::string> get(const std::string& session, const std::string& profile,
                                         std::int64_t seq) const = 0;
  /// Forgets a session's renditions (the session ended).
  virtual void drop(const std::string& session) = 0;
};

/// go-livepeer's memory store: the last `kept` renditions per session and profile.
class MemoryRenditionStore : public RenditionStore {
 public:
  explicit MemoryRenditionStore(std::size_t kept) : kept_(kept) {}
  void put(const std::string& session, const std::string& profile, std::int64_t seq,
           std::string bytes) override;
  std::optional<std::string> get(const std::string& session, const std::string& profile,
                                 std::int64_t seq) const override;
  void drop(const std::string& session) override;

 private:
  const std::size_t kept_;
  mutable std::mutex mu_;
  // (session, profile) -> the last renditions, oldest first
  std::map<std::pair<std::string, std::string>, std::deque<std::pair<std::int64_t, std::string>>>
      kept_renditions_;  // guarded by mu_
};

}  // namespace lp::orch
