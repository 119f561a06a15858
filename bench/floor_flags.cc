#include "floor_flags.h"

#include <cstdio>
#include <cstdlib>

namespace ctg::bench {

std::vector<std::string> RequiredFlagsOrExit(int argc, char** argv,
                                             const std::vector<Setting>& settings,
                                             const char* usage) {
  try {
    const SettingsReader reader(argc, argv, settings);
    std::vector<std::string> values(settings.size());
    for (size_t i = 0; i < settings.size(); ++i) {
      if (!reader.Get(settings[i], &values[i]) || values[i].empty()) {
        throw ConfigError(SettingsReader::Describe(settings[i]) + " is required");
      }
    }
    return values;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s\nusage: %s\n", e.what(), usage);
    std::exit(2);
  }
}

}  // namespace ctg::bench
