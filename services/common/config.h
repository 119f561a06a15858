#pragma once

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/auth.h"

namespace ctg {

// A setting that is missing or malformed. The message names the setting and never echoes a
// secret value.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One setting: its command-line flag (without "--") and its environment variable.
struct Setting {
  const char* flag;
  const char* env;
};

// Reads settings the same way in every binary: "--name=value" arguments first, then the
// environment. Unknown flags and arguments of another form are refused at construction.
// Errors are ConfigError messages that name the setting and never echo a secret value.
class SettingsReader {
 public:
  SettingsReader(int argc, const char* const* argv, std::vector<Setting> known);
  // The value of `s` from its flag or, failing that, its environment variable.
  bool Get(const Setting& s, std::string* out) const;

  // "--flag (ENV)", for messages.
  static std::string Describe(const Setting& s);
  static double ParseNumber(const std::string& value, const Setting& s, double min, double max);
  static int ParseInt(const std::string& value, const Setting& s, int min, int max);
  // true/1/on or false/0/off.
  static bool ParseBool(const std::string& value, const Setting& s);
  // Throws unless `value` is host:port with a port in 0..65535.
  static void CheckAddress(const std::string& value, const Setting& s);
  // Replaces `*address` (a default) by the setting's value when given, then checks it;
  // "off" is accepted when `allow_off`.
  void ReadAddress(const Setting& s, std::string* address, bool allow_off) const;

 private:
  std::map<std::string, std::string> flags_;
};

// Token settings shared by every binary (the services and the gateway), read the same way by
// ReadJwtConfig. The keys are secrets: never logged or echoed.
struct JwtConfig {
  std::string hs256_key;  // --jwt-key-file / CTG_JWT_KEY_FILE, or CTG_JWT_KEY (>= 32 bytes)
  // PEM public keys for RS256/ES256 tokens (production), from --jwt-public-keys-file /
  // CTG_JWT_PUBLIC_KEYS_FILE; "# kid: <id>" before a key names it. With them the HS256 key
  // becomes optional.
  std::string public_keys;
  std::string issuer = "ctg-dev";   // --jwt-issuer / CTG_JWT_ISSUER
  std::string audience = "ctg";     // --jwt-audience / CTG_JWT_AUDIENCE
  std::chrono::seconds leeway{30};  // --jwt-leeway-seconds (0..300): bounded clock skew
  // --jwt-max-lifetime-seconds: the longest a person's token may live (exp - iat, exp - now).
  std::chrono::seconds max_lifetime{std::chrono::hours(12)};
  // --jwt-max-service-lifetime-seconds: the same for a service identity's token.
  std::chrono::seconds max_service_lifetime{std::chrono::minutes(15)};
  // --service-key-file / CTG_SERVICE_KEY_FILE: this binary's own private key (PEM, P-256 for
  // ES256 or RSA for RS256) signing its calls to other services; the others trust its public
  // half through their --jwt-public-keys-file, under the kid --service-key-id
  // (CTG_SERVICE_KEY_ID, default: the binary's name).
  std::string service_key;
  std::string service_key_id;

  // What a verifier needs.
  JwtSettings Settings() const;
};

// The settings ReadJwtConfig reads (for a SettingsReader's list of known settings).
const std::vector<Setting>& JwtSettingList();
// Reads and checks the token settings; throws ConfigError naming the first bad one.
void ReadJwtConfig(const SettingsReader& reader, JwtConfig* config);

// Settings shared by every service binary. Each comes from a flag (--listen=...) or, failing
// that, from its CTG_* environment variable (CTG_LISTEN=...); flags win.
struct ServiceConfig {
  std::string listen_address = "127.0.0.1:0";   // --listen / CTG_LISTEN; port 0 = any free port
  std::string metrics_address = "127.0.0.1:0";  // --metrics-listen / CTG_METRICS_LISTEN; "off"
  std::string database_url;                     // --database-url / CTG_DATABASE_URL (required)
  // --owner-database-url / CTG_OWNER_DATABASE_URL: the role that owns the service's schema.
  // When set, migrations run as that role, which then grants the --database-url role (the one
  // every call uses) what the service needs and no more (ServiceSpec::runtime_privileges), so
  // the service's own credentials cannot alter what the owner protects (the audit trail). When
  // empty, one role does both (development).
  std::string owner_database_url;
  int db_pool_size = 8;                     // --db-pool-size / CTG_DB_POOL_SIZE (1..256)
  int workers = 8;                          // --workers / CTG_WORKERS (1..256)
  JwtConfig jwt;                            // the token settings (see JwtConfig)
  std::chrono::seconds shutdown_grace{10};  // --shutdown-grace-seconds (0..600)
  std::string port_file;  // --port-file / CTG_PORT_FILE: written with "grpc_port metrics_port"
  // Other backend services this one calls, by name: --backends=partners=127.0.0.1:50051,...
  // (CTG_BACKENDS).
  std::map<std::string, std::string> backends;
  // The service's own settings (ServiceSpec::extra_settings) that were given, by flag name
  // without "--"; each service checks its values.
  std::map<std::string, std::string> extra;
};

// Reads and validates the configuration; throws ConfigError on the first bad setting.
// `extra` are the service's own settings, accepted beside the shared ones and returned in
// ServiceConfig::extra.
ServiceConfig LoadServiceConfig(int argc, const char* const* argv,
                                const std::vector<Setting>& extra = {});

// Reads a whole file; throws ConfigError naming `setting` if it cannot.
std::string ReadSecretFile(const std::string& path, const std::string& setting);

}  // namespace ctg
