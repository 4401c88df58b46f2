// SPDX-License-Identifier: LGPL-2.1-or-later
// A rendition store that serves other bytes than it was given: what a gateway fetches when an
// orchestrator's renditions changed after it signed them (no transcoder can do that: the
// orchestrator signs what its transcoder returned).
#pragma once

#include <functional>
#include <string>

#include "node/orchestrator/rendition_store.h"

namespace lp::test {

class AlteredStore : public orch::MemoryRenditionStore {
 public:
  /// Which renditions come back with one byte (the middle one) changed.
  using Pick = std::function<bool(const std::string& profile, std::int64_t seq)>;
  explicit AlteredStore(Pick pick) : MemoryRenditionStore(12), pick_(std::move(pick)) {}

  std::optional<std::string> get(const std::string& session, const std::string& profile,
                                 std::int64_t seq) const override {
    auto bytes = MemoryRenditionStore::get(session, profile, seq);
    if (bytes && !bytes->empty() && pick_(profile, seq)) (*bytes)[bytes->size() / 2] ^= 1;
    return bytes;
  }

 private:
  const Pick pick_;
};

}  // namespace lp::test
