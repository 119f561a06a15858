#include "common/config.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "common/jwt_keys.h"

namespace ctg {
namespace {

constexpr Setting kListen{"listen", "CTG_LISTEN"};
constexpr Setting kMetrics{"metrics-listen", "CTG_METRICS_LISTEN"};
constexpr Setting kDatabase{"database-url", "CTG_DATABASE_URL"};
constexpr Setting kPoolSize{"db-pool-size", "CTG_DB_POOL_SIZE"};
constexpr Setting kWorkers{"workers", "CTG_WORKERS"};
constexpr Setting kJwtKeyFile{"jwt-key-file", "CTG_JWT_KEY_FILE"};
constexpr Setting kJwtIssuer{"jwt-issuer", "CTG_JWT_ISSUER"};
constexpr Setting kJwtAudience{"jwt-audience", "CTG_JWT_AUDIENCE"};
constexpr Setting kGrace{"shutdown-grace-seconds", "CTG_SHUTDOWN_GRACE_SECONDS"};
constexpr Setting kPortFile{"port-file", "CTG_PORT_FILE"};
constexpr Setting kBackends{"backends", "CTG_BACKENDS"};
constexpr Setting kJwtPublicKeys{"jwt-public-keys-file", "CTG_JWT_PUBLIC_KEYS_FILE"};
constexpr Setting kAll[] = {kListen,  kMetrics,    kDatabase,  kPoolSize,
                            kWorkers, kJwtKeyFile, kJwtIssuer, kJwtAudience,
                            kGrace,   kPortFile,   kBackends,  kJwtPublicKeys};

using Reader = SettingsReader;

}  // namespace

SettingsReader::SettingsReader(int argc, const char* const* argv, std::vector<Setting> known) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg.find('=') == std::string::npos) {
      throw ConfigError("unexpected argument '" + arg + "' (use --name=value)");
    }
    const auto eq = arg.find('=');
    std::string name = arg.substr(2, eq - 2);
    bool is_known = false;
    for (const auto& s : known) is_known = is_known || name == s.flag;
    if (!is_known) throw ConfigError("unknown setting --" + name);
    flags_[name] = arg.substr(eq + 1);
  }
}

bool SettingsReader::Get(const Setting& s, std::string* out) const {
  if (auto it = flags_.find(s.flag); it != flags_.end()) {
    *out = it->second;
    return true;
  }
  if (const char* v = std::getenv(s.env); v != nullptr) {
    *out = v;
    return true;
  }
  return false;
}

std::string SettingsReader::Describe(const Setting& s) {
  return std::string("--") + s.flag + " (" + s.env + ")";
}

double SettingsReader::ParseNumber(const std::string& value, const Setting& s, double min,
                                   double max) {
  try {
    size_t used = 0;
    const double v = std::stod(value, &used);
    if (used == value.size() && v >= min && v <= max) return v;
  } catch (const std::exception&) {
  }
  throw ConfigError("setting " + Describe(s) + " must be a number between " +
                    std::to_string(int64_t(min)) + " and " + std::to_string(int64_t(max)));
}

int SettingsReader::ParseInt(const std::string& value, const Setting& s, int min, int max) {
  try {
    size_t used = 0;
    const int v = std::stoi(value, &used);
    if (used == value.size() && v >= min && v <= max) return v;
  } catch (const std::exception&) {
  }
  throw ConfigError("setting " + Describe(s) + " must be an integer between " +
                    std::to_string(min) + " and " + std::to_string(max));
}

bool SettingsReader::ParseBool(const std::string& value, const Setting& s) {
  if (value == "true" || value == "1" || value == "on") return true;
  if (value == "false" || value == "0" || value == "off") return false;
  throw ConfigError("setting " + Describe(s) + " must be true or false");
}

void SettingsReader::CheckAddress(const std::string& value, const Setting& s) {
  const auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw ConfigError("setting " + Describe(s) + " must be host:port, got '" + value + "'");
  }
  ParseInt(value.substr(colon + 1), s, 0, 65535);
}

void SettingsReader::ReadAddress(const Setting& s, std::string* address, bool allow_off) const {
  Get(s, address);
  if (!(allow_off && *address == "off")) CheckAddress(*address, s);
}

std::string ReadSecretFile(const std::string& path, const std::string& setting) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("setting " + setting + ": cannot read file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  while (!data.empty() && (data.back() == '\n' || data.back() == '\r')) data.pop_back();
  return data;
}

ServiceConfig LoadServiceConfig(int argc, const char* const* argv) {
  const SettingsReader reader(argc, argv, {std::begin(kAll), std::end(kAll)});
  auto get = [&](const Setting& s, std::string* out) { return reader.Get(s, out); };

  ServiceConfig c;
  std::string v;
  reader.ReadAddress(kListen, &c.listen_address, /*allow_off=*/false);
  reader.ReadAddress(kMetrics, &c.metrics_address, /*allow_off=*/true);
  if (!get(kDatabase, &v) || v.empty()) {
    throw ConfigError("setting " + Reader::Describe(kDatabase) + " is required");
  }
  c.database_url = v;
  if (get(kPoolSize, &v)) c.db_pool_size = Reader::ParseInt(v, kPoolSize, 1, 256);
  if (get(kWorkers, &v)) c.workers = Reader::ParseInt(v, kWorkers, 1, 256);
  if (get(kJwtKeyFile, &v)) {
    c.jwt_key = ReadSecretFile(v, Reader::Describe(kJwtKeyFile));
  } else if (const char* key = std::getenv("CTG_JWT_KEY"); key != nullptr) {
    c.jwt_key = key;
  }
  if (get(kJwtPublicKeys, &v)) {
    c.jwt_public_keys = ReadSecretFile(v, Reader::Describe(kJwtPublicKeys));
    size_t keys = 0;
    try {
      keys = ParseJwtPublicKeys(c.jwt_public_keys).size();
    } catch (const ConfigError& e) {
      throw ConfigError("setting " + Reader::Describe(kJwtPublicKeys) + ": " + e.what());
    }
    if (keys == 0)
      throw ConfigError("setting " + Reader::Describe(kJwtPublicKeys) + " holds no key");
  }
  if ((c.jwt_public_keys.empty() || !c.jwt_key.empty()) && c.jwt_key.size() < 32) {
    throw ConfigError("setting " + Reader::Describe(kJwtKeyFile) +
                      " (or CTG_JWT_KEY) must provide an HS256 key of at least 32 bytes");
  }
  if (get(kJwtIssuer, &v)) c.jwt_issuer = v;
  if (c.jwt_issuer.empty())
    throw ConfigError("setting " + Reader::Describe(kJwtIssuer) + " is empty");
  if (get(kJwtAudience, &v)) c.jwt_audience = v;
  if (c.jwt_audience.empty())
    throw ConfigError("setting " + Reader::Describe(kJwtAudience) + " is empty");
  if (get(kGrace, &v)) c.shutdown_grace = std::chrono::seconds(Reader::ParseInt(v, kGrace, 0, 600));
  if (get(kPortFile, &v)) c.port_file = v;
  if (get(kBackends, &v) && !v.empty()) {
    size_t start = 0;
    while (start <= v.size()) {
      const size_t comma = std::min(v.find(',', start), v.size());
      const std::string entry = v.substr(start, comma - start);
      const size_t eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw ConfigError("setting " + Reader::Describe(kBackends) + " must be name=host:port,...");
      }
      const std::string address = entry.substr(eq + 1);
      Reader::CheckAddress(address, kBackends);
      c.backends[entry.substr(0, eq)] = address;
      start = comma + 1;
    }
  }
  return c;
}

}  // namespace ctg
