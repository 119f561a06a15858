// Feeds arbitrary bytes to the parsers of the routing and authorization tables and to the
// method-path splitter. A malformed table must end in ConfigError (the gateway then refuses to
// start with one line naming the problem); a table that parses must answer lookups.
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
  try {
    const auto table = ctg::gateway::AuthzTable::Parse(text);
    ctg::Principal principal;
    principal.subject = "fuzz";
    principal.roles = {ctg::Role::kCafAgent};
    for (const auto& path :
         {std::string_view("ctg.partners.v1.PartnerService/GetOrganisation"), text}) {
      if (ctg::gateway::SplitMethodPath("/" + std::string(path), &service, &method)) {
        ctg::gateway::AuthzTable::Allows(table.Find(service, method), principal);
      }
    }
  } catch (const ctg::ConfigError&) {
  }
  return 0;
}
