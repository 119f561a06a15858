#pragma once
// The command line of the benchmark's floor binaries (ctg-bare-byte-relay, ctg-bare-grpc-proxy,
// ctg-bare-pg-service), read the way every binary of the project reads its settings.
#include <string>
#include <vector>

#include "common/config.h"

namespace ctg::bench {

// The values of `settings`, all required, in their order: from "--flag=value" arguments or
// their environment variables (SettingsReader: unknown flags are refused). When one is missing
// or the command line is malformed, prints why and `usage` to stderr and exits with status 2.
std::vector<std::string> RequiredFlagsOrExit(int argc, char** argv,
                                             const std::vector<Setting>& settings,
                                             const char* usage);

}  // namespace ctg::bench
