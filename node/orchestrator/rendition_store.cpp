// SPDX-License-Identifier: LGPL-2.1-or-later
#include "node/orchestrator/rendition_store.h"

namespace lp::orch {

void MemoryRenditionStore::put(const std::string& session, const std::string& profile,
                               std::int64_t seq, std::string bytes) {
  std::lock_guard lock(mu_);
  auto& kept = kept_renditions_[{session, profile}];
  kept.emplace_back(seq, std::move(bytes));
  while (kept.size() > kept_) kept.pop_front();
}

std::optional<std::string> MemoryRenditionStore::get(const std::string& session,
                                                     const std::string& profile,
                                                     std::int64_t seq) const {
  std::lock_guard lock(mu_);
  auto it = kept_renditions_.find({session, profile});
  if (it == kept_renditions_.end()) return std::nullopt;
  for (const auto& [n, bytes] : it->second)
    if (n == seq) return bytes;
  return std::nullopt;
}

void MemoryRenditionStore::drop(const std::string& session) {
  std::lock_guard lock(mu_);
  auto it = kept_renditions_.lower_bound({session, std::string()});
  while (it != kept_renditions_.end() && it->first.first == session)
    it = kept_renditions_.erase(it);
}

}  // namespace lp::orch
