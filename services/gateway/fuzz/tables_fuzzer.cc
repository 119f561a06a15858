// Feeds arbitrary bytes to the parser of the routing table and to the method-path splitter. A
// malformed table must end in ConfigError (the gateway then refuses to start with one line
// naming the problem), never in a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/config.h"
#include "gateway/tables.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string service, method;
  ctg::gateway::SplitMethodPath(text, &service, &method);
  try {
    ctg::gateway::ParseRoutes(text);
  } catch (const ctg::ConfigError&) {
  }
  return 0;
}
