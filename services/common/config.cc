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
constexpr Setting kOwnerDatabase{"owner-database-url", "CTG_OWNER_DATABASE_URL"};
constexpr Setting kPoolSize{"db-pool-size", "CTG_DB_POOL_SIZE"};
constexpr Setting kWorkers{"workers", "CTG_WORKERS"};
constexpr Setting kGrace{"shutdown-grace-seconds", "CTG_SHUTDOWN_GRACE_SECONDS"};
constexpr Setting kPortFile{"port-file", "CTG_PORT_FILE"};
constexpr Setting kBackends{"backends", "CTG_BACKENDS"};
constexpr Setting kAll[] = {kListen,  kMetrics, kDatabase, kOwnerDatabase, kPoolSize,
                            kWorkers, kGrace,   kPortFile, kBackends};

constexpr Setting kJwtKeyFile{"jwt-key-file", "CTG_JWT_KEY_FILE"};
constexpr Setting kJwtPublicKeys{"jwt-public-keys-file", "CTG_JWT_PUBLIC_KEYS_FILE"};
constexpr Setting kJwtIssuer{"jwt-issuer", "CTG_JWT_ISSUER"};
constexpr Setting kJwtAudience{"jwt-audience", "CTG_JWT_AUDIENCE"};
constexpr Setting kJwtLeeway{"jwt-leeway-seconds", "CTG_JWT_LEEWAY_SECONDS"};
constexpr Setting kJwtMaxLifetime{"jwt-max-lifetime-seconds", "CTG_JWT_MAX_LIFETIME_SECONDS"};
constexpr Setting kJwtMaxServiceLifetime{"jwt-max-service-lifetime-seconds",
                                         "CTG_JWT_MAX_SERVICE_LIFETIME_SECONDS"};
constexpr Setting kServiceKeyFile{"service-key-file", "CTG_SERVICE_KEY_FILE"};
constexpr Setting kServiceKeyId{"service-key-id", "CTG_SERVICE_KEY_ID"};

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

const std::vector<Setting>& JwtSettingList() {
  static const std::vector<Setting> settings = {
      kJwtKeyFile,     kJwtPublicKeys,         kJwtIssuer,      kJwtAudience, kJwtLeeway,
      kJwtMaxLifetime, kJwtMaxServiceLifetime, kServiceKeyFile, kServiceKeyId};
  return settings;
}

JwtSettings JwtConfig::Settings() const {
  JwtSettings s{hs256_key, issuer, audience, leeway};
  s.max_lifetime = max_lifetime;
  s.max_service_lifetime = max_service_lifetime;
  return s;
}

void ReadJwtConfig(const SettingsReader& reader, JwtConfig* c) {
  std::string v;
  if (reader.Get(kJwtKeyFile, &v)) {
    c->hs256_key = ReadSecretFile(v, Reader::Describe(kJwtKeyFile));
  } else if (const char* key = std::getenv("CTG_JWT_KEY"); key != nullptr) {
    c->hs256_key = key;
  }
  if (reader.Get(kJwtPublicKeys, &v)) {
    c->public_keys = ReadSecretFile(v, Reader::Describe(kJwtPublicKeys));
    size_t keys = 0;
    try {
      keys = ParseJwtPublicKeys(c->public_keys).size();
    } catch (const ConfigError& e) {
      throw ConfigError("setting " + Reader::Describe(kJwtPublicKeys) + ": " + e.what());
    }
    if (keys == 0) {
      throw ConfigError("setting " + Reader::Describe(kJwtPublicKeys) + " holds no key");
    }
  }
  if ((c->public_keys.empty() || !c->hs256_key.empty()) && c->hs256_key.size() < 32) {
    throw ConfigError("setting " + Reader::Describe(kJwtKeyFile) +
                      " (or CTG_JWT_KEY) must provide an HS256 key of at least 32 bytes, unless " +
                      Reader::Describe(kJwtPublicKeys) + " is given");
  }
  if (reader.Get(kJwtIssuer, &v)) c->issuer = v;
  if (c->issuer.empty()) throw ConfigError("setting " + Reader::Describe(kJwtIssuer) + " is empty");
  if (reader.Get(kJwtAudience, &v)) c->audience = v;
  if (c->audience.empty()) {
    throw ConfigError("setting " + Reader::Describe(kJwtAudience) + " is empty");
  }
  if (reader.Get(kJwtLeeway, &v)) {
    c->leeway = std::chrono::seconds(Reader::ParseInt(v, kJwtLeeway, 0, 300));
  }
  if (reader.Get(kJwtMaxLifetime, &v)) {
    c->max_lifetime = std::chrono::seconds(Reader::ParseInt(v, kJwtMaxLifetime, 60, 7 * 86400));
  }
  if (reader.Get(kJwtMaxServiceLifetime, &v)) {
    c->max_service_lifetime =
        std::chrono::seconds(Reader::ParseInt(v, kJwtMaxServiceLifetime, 60, 86400));
  }
  if (reader.Get(kServiceKeyFile, &v)) {
    c->service_key = ReadSecretFile(v, Reader::Describe(kServiceKeyFile));
    if (c->service_key.find("PRIVATE KEY-----") == std::string::npos) {
      throw ConfigError("setting " + Reader::Describe(kServiceKeyFile) +
                        " must hold a PEM private key");
    }
  }
  if (reader.Get(kServiceKeyId, &v)) c->service_key_id = v;
}

ServiceConfig LoadServiceConfig(int argc, const char* const* argv,
                                const std::vector<Setting>& extra) {
  std::vector<Setting> known(std::begin(kAll), std::end(kAll));
  known.insert(known.end(), JwtSettingList().begin(), JwtSettingList().end());
  known.insert(known.end(), extra.begin(), extra.end());
  const SettingsReader reader(argc, argv, known);
  auto get = [&](const Setting& s, std::string* out) { return reader.Get(s, out); };

  ServiceConfig c;
  std::string v;
  reader.ReadAddress(kListen, &c.listen_address, /*allow_off=*/false);
  reader.ReadAddress(kMetrics, &c.metrics_address, /*allow_off=*/true);
  if (!get(kDatabase, &v) || v.empty()) {
    throw ConfigError("setting " + Reader::Describe(kDatabase) + " is required");
  }
  c.database_url = v;
  if (get(kOwnerDatabase, &v)) c.owner_database_url = v;
  if (get(kPoolSize, &v)) c.db_pool_size = Reader::ParseInt(v, kPoolSize, 1, 256);
  if (get(kWorkers, &v)) c.workers = Reader::ParseInt(v, kWorkers, 1, 256);
  ReadJwtConfig(reader, &c.jwt);
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
  for (const auto& setting : extra) {
    if (get(setting, &v)) c.extra[setting.flag] = v;
  }
  return c;
}

}  // namespace ctg
