#include "common/api.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <memory>

#include "common/auth.h"
#include "common/rpc.h"

namespace ctg {

std::string ResourceName(std::string_view collection, std::string_view id) {
  return std::string(collection) + "/" + std::string(id);
}

std::string IdOf(const std::string& name) {
  const auto slash = name.find('/');
  return slash == std::string::npos ? std::string() : name.substr(slash + 1);
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> ParseResourceName(std::string_view name, std::string_view collection,
                                             const std::string& field, Violations& violations,
                                             bool required) {
  if (name.empty()) {
    if (required) violations.Add(field, "required");
    return std::nullopt;
  }
  const std::string prefix = std::string(collection) + "/";
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix ||
      !IsUuid(name.substr(prefix.size()))) {
    violations.Add(field, "must be a resource name of the form " + prefix + "{uuid}");
    return std::nullopt;
  }
  return std::string(name.substr(prefix.size()));
}

namespace {

// The digest a page token is bound to: the method and the request without its paging fields.
std::string PageQueryDigest(const CallContext& call, const google::protobuf::Message& request) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  for (const char* name : {"page_size", "page_token"}) {
    if (const auto* f = copy->GetDescriptor()->FindFieldByName(name)) {
      copy->GetReflection()->ClearField(copy.get(), f);
    }
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  const std::string method = call.policy != nullptr ? call.policy->FullName() : "";
  return Sha256Hex(method + "\n" + bytes);
}

std::string PageMac(const CallContext& call, const std::string& digest, int64_t last) {
  if (call.page_token_key == nullptr || call.page_token_key->empty()) {
    throw UnavailableError("the service is not ready yet (no page-token key); retry later");
  }
  return HmacSha256(*call.page_token_key, "p2|" + digest + "|" + std::to_string(last))
      .substr(0, 16);
}

}  // namespace

PageRequest ParsePage(const CallContext& call, const google::protobuf::Message& request,
                      Violations& violations) {
  PageRequest page;
  const auto* d = request.GetDescriptor();
  const auto* r = request.GetReflection();
  const auto* size_field = d->FindFieldByName("page_size");
  const auto* token_field = d->FindFieldByName("page_token");
  const int32_t page_size = size_field != nullptr ? r->GetInt32(request, size_field) : 0;
  const std::string page_token = token_field != nullptr ? r->GetString(request, token_field) : "";
  if (page_size < 0) {
    violations.Add("page_size", "must not be negative");
  } else if (page_size > 0) {
    page.size = std::min(page_size, 500);
  }
  if (!page_token.empty()) {
    const auto decoded = Base64UrlDecode(page_token);
    bool ok = decoded && decoded->size() > 3 + 16 && decoded->rfind("p2:", 0) == 0;
    if (ok) {
      const std::string mac = decoded->substr(decoded->size() - 16);
      const std::string number = decoded->substr(3, decoded->size() - 3 - 16);
      try {
        size_t used = 0;
        page.after = std::stoll(number, &used);
        ok = used == number.size() && page.after >= 0 &&
             CRYPTO_memcmp(mac.data(),
                           PageMac(call, PageQueryDigest(call, request), page.after).data(),
                           16) == 0;
      } catch (const std::invalid_argument&) {
        ok = false;
      } catch (const std::out_of_range&) {
        ok = false;
      }
    }
    if (!ok) {
      violations.Add("page_token",
                     "not a page token this API returned for this list (filters included)");
      page.after = 0;
    }
  }
  return page;
}

std::string NextPageToken(const CallContext& call, const google::protobuf::Message& request,
                          int64_t last) {
  return Base64UrlEncode("p2:" + std::to_string(last) +
                         PageMac(call, PageQueryDigest(call, request), last));
}

std::string FormatEtag(int64_t version) { return "\"" + std::to_string(version) + "\""; }

void CheckEtag(const std::string& sent, int64_t current_version) {
  if (!sent.empty() && sent != FormatEtag(current_version)) throw StaleEtagError();
}

const std::vector<PreparedStatement>& RuntimeStatements() {
  static const std::vector<PreparedStatement> statements = {
      {"ctg_idempotency_find",
       "SELECT fingerprint, resource FROM idempotency_keys WHERE principal = $1 AND method = $2 "
       "AND request_id = $3::uuid"},
      {"ctg_idempotency_lock",
       "SELECT pg_advisory_xact_lock(hashtext($1 || '|' || $2 || '|' || $3))"},
      {"ctg_idempotency_save",
       "INSERT INTO idempotency_keys (principal, method, request_id, fingerprint, resource) "
       "VALUES ($1, $2, $3::uuid, $4, $5)"},
  };
  return statements;
}

void CheckRequestId(const std::string& request_id, const std::string& field,
                    Violations& violations) {
  if (!request_id.empty() && !IsUuid(request_id)) {
    violations.Add(field, "must be a lower-case UUID");
  }
}

namespace {

// SHA-256 (hex) of the deterministic serialization of `request` without its request_id.
std::string RequestFingerprint(const google::protobuf::Message& request) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  if (const auto* f = copy->GetDescriptor()->FindFieldByName("request_id")) {
    copy->GetReflection()->ClearField(copy.get(), f);
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  return Sha256Hex(bytes);
}

std::string RequestIdOf(const google::protobuf::Message& request) {
  const auto* f = request.GetDescriptor()->FindFieldByName("request_id");
  if (f == nullptr || f->type() != google::protobuf::FieldDescriptor::TYPE_STRING) return "";
  return request.GetReflection()->GetString(request, f);
}

}  // namespace

IdempotencyKey::IdempotencyKey(pqxx::transaction_base& tx, const CallContext& call,
                               const google::protobuf::Message& request)
    : tx_(tx),
      request_id_(RequestIdOf(request)),
      principal_(call.principal.subject + "|" + call.principal.organisation),
      method_(call.policy != nullptr ? call.policy->FullName() : request.GetTypeName()) {
  if (!request_id_.empty()) fingerprint_ = RequestFingerprint(request);
}

std::optional<std::string> IdempotencyKey::Previous() {
  if (request_id_.empty()) return std::nullopt;
  // Serialises the uses of one key until the first one commits.
  tx_.exec_prepared("ctg_idempotency_lock", principal_, method_, request_id_);
  auto r = tx_.exec_prepared("ctg_idempotency_find", principal_, method_, request_id_);
  if (r.empty()) return std::nullopt;
  if (r[0][0].as<std::string>() != fingerprint_) {
    throw ValidationError("request_id",
                          "already used by this caller for a different request: a request id "
                          "names one request; send a new one");
  }
  return r[0][1].as<std::string>();
}

void IdempotencyKey::Remember(const std::string& resource) {
  if (request_id_.empty()) return;
  tx_.exec_prepared("ctg_idempotency_save", principal_, method_, request_id_, fingerprint_,
                    resource);
}

std::set<std::string> EffectiveMask(const google::protobuf::Message& message,
                                    const google::protobuf::FieldMask& mask,
                                    const std::set<std::string>& updatable,
                                    Violations& violations) {
  std::set<std::string> fields;
  if (mask.paths_size() == 0) {
    std::vector<const google::protobuf::FieldDescriptor*> set_fields;
    message.GetReflection()->ListFields(message, &set_fields);
    for (const auto* f : set_fields) {
      if (updatable.count(f->name())) fields.insert(f->name());
    }
    return fields;
  }
  for (const auto& path : mask.paths()) {
    if (path == "*") {
      fields = updatable;
      continue;
    }
    if (!updatable.count(path)) {
      violations.Add("update_mask", "field '" + path + "' cannot be updated");
    } else {
      fields.insert(path);
    }
  }
  return fields;
}

void ApplyMaskedFields(const google::protobuf::Message& patch, const std::set<std::string>& fields,
                       google::protobuf::Message* target) {
  google::protobuf::FieldMask mask;
  for (const auto& f : fields) mask.add_paths(f);
  google::protobuf::util::FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  google::protobuf::util::FieldMaskUtil::MergeMessageTo(patch, mask, options, target);
}

int64_t MicrosSinceEpoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

google::protobuf::Timestamp TimestampAt(std::chrono::system_clock::time_point t) {
  const int64_t micros = MicrosSinceEpoch(t);
  google::protobuf::Timestamp ts;
  int64_t seconds = micros / 1000000;
  int64_t frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --seconds;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(frac * 1000));
  return ts;
}

std::string TimestampCopyText(int64_t micros) {
  int64_t seconds = micros / 1000000;
  int64_t frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --seconds;
  }
  const std::time_t tt = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return out;
}

// Howard Hinnant's days_from_civil / civil_from_days.
int64_t CivilDate::ToDays() const {
  const int y = year - (month <= 2);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return int64_t(era) * 146097 + int64_t(doe) - 719468;
}

CivilDate CivilDate::FromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = int64_t(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int>(y + (m <= 2)), static_cast<int>(m), static_cast<int>(d)};
}

namespace {
bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}
}  // namespace

CivilDate CivilDate::AddMonths(int months) const {
  int total = year * 12 + (month - 1) + months;
  CivilDate r{total / 12, total % 12 + 1, 0};
  r.day = std::min(day, DaysInMonth(r.year, r.month));
  return r;
}

std::string CivilDate::ToString() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
  return buf;
}

google::type::Date CivilDate::ToProto() const {
  google::type::Date d;
  d.set_year(year);
  d.set_month(month);
  d.set_day(day);
  return d;
}

CivilDate CivilDate::Parse(std::string_view text) {
  CivilDate d;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' ||
      std::sscanf(std::string(text).c_str(), "%4d-%2d-%2d", &d.year, &d.month, &d.day) != 3) {
    throw std::invalid_argument("not a YYYY-MM-DD date");
  }
  return d;
}

CivilDate CivilDate::InParis(std::chrono::system_clock::time_point now) {
  // Europe/Paris without tzdata parsing: UTC+1, +2 from the last Sunday of March 01:00 UTC to
  // the last Sunday of October 01:00 UTC (EU rule).
  const int64_t secs =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const int64_t utc_days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  const CivilDate utc = FromDays(utc_days);
  auto last_sunday = [](int y, int m) {
    CivilDate last{y, m, DaysInMonth(y, m)};
    const int64_t days = last.ToDays();
    const int weekday = static_cast<int>((days + 4) % 7);  // 1970-01-01 was a Thursday (4)
    return (days - weekday) * 86400 + 3600;                // 01:00 UTC
  };
  const bool summer = secs >= last_sunday(utc.year, 3) && secs < last_sunday(utc.year, 10);
  const int64_t local = secs + (summer ? 7200 : 3600);
  return FromDays(local >= 0 ? local / 86400 : (local - 86399) / 86400);
}

bool IsUnset(const google::type::Date& date) {
  return date.year() == 0 && date.month() == 0 && date.day() == 0;
}

std::optional<CivilDate> ParseDate(const google::type::Date& date, const std::string& field,
                                   Violations& violations, bool required) {
  if (IsUnset(date)) {
    if (required) violations.Add(field, "required");
    return std::nullopt;
  }
  if (date.year() < 1900 || date.year() > 2200 || date.month() < 1 || date.month() > 12 ||
      date.day() < 1 || date.day() > DaysInMonth(date.year(), date.month())) {
    violations.Add(field, "must be a valid calendar date between 1900 and 2200");
    return std::nullopt;
  }
  return CivilDate{date.year(), date.month(), date.day()};
}

std::optional<std::string> DateParam(const google::type::Date& date) {
  if (IsUnset(date)) return std::nullopt;
  return CivilDate{date.year(), date.month(), date.day()}.ToString();
}

std::optional<google::type::Date> DateFromText(std::string_view text) {
  if (text.empty()) return std::nullopt;
  return CivilDate::Parse(text).ToProto();
}

std::optional<google::type::Date> DateFromField(const pqxx::field& field) {
  return DateFromText(field.as<std::string>());
}

std::string PgArrayLiteral(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::vector<std::string> ParsePgArray(const pqxx::field& field) {
  std::vector<std::string> out;
  if (field.is_null()) return out;
  auto parser = field.as_array();
  for (auto item = parser.get_next(); item.first != pqxx::array_parser::done;
       item = parser.get_next()) {
    if (item.first == pqxx::array_parser::string_value) out.push_back(std::move(item.second));
    if (item.first == pqxx::array_parser::null_value) out.emplace_back();
  }
  return out;
}

namespace {
google::protobuf::ListValue ParseJsonList(const std::string& json) {
  google::protobuf::Value value;
  if (!google::protobuf::util::JsonStringToMessage(json, &value).ok() ||
      value.kind_case() != google::protobuf::Value::kListValue) {
    throw std::invalid_argument("not a JSON array");
  }
  return value.list_value();
}

std::vector<std::string> Strings(const google::protobuf::ListValue& list) {
  std::vector<std::string> out;
  for (const auto& v : list.values()) {
    if (v.kind_case() == google::protobuf::Value::kStringValue) {
      out.push_back(v.string_value());
    } else if (v.kind_case() == google::protobuf::Value::kNullValue) {
      out.emplace_back();
    } else {
      throw std::invalid_argument("not a JSON array of strings");
    }
  }
  return out;
}
}  // namespace

std::vector<std::string> ParseJsonStringArray(const std::string& json) {
  return Strings(ParseJsonList(json));
}

std::vector<std::vector<std::string>> ParseJsonStringRows(const std::string& json) {
  std::vector<std::vector<std::string>> rows;
  if (json == "[]") return rows;          // the common case, without the JSON parser
  const auto list = ParseJsonList(json);  // kept alive for the loop
  for (const auto& v : list.values()) {
    if (v.kind_case() != google::protobuf::Value::kListValue) {
      throw std::invalid_argument("not a JSON array of arrays");
    }
    rows.push_back(Strings(v.list_value()));
  }
  return rows;
}

void CheckText(const std::string& value, const std::string& field, size_t min, size_t max,
               Violations& violations) {
  const auto code_points = Utf8Length(value);
  if (!code_points) {
    violations.Add(field, "must be valid UTF-8");
    return;
  }
  for (unsigned char c : value) {
    if ((c < 0x20 || c == 0x7F) && c != '\n' && c != '\t') {
      violations.Add(field, "must not contain control characters");
      return;
    }
  }
  if (*code_points < min) {
    violations.Add(
        field, min == 1 ? "required" : "must have at least " + std::to_string(min) + " characters");
  } else if (*code_points > max) {
    violations.Add(field, "must have at most " + std::to_string(max) + " characters");
  }
}

std::optional<google::protobuf::Timestamp> TimestampFromEpochText(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  auto digits = [](std::string_view d) {
    return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 15 || !digits(whole) || !digits(fraction)) {
    // Not plain decimal ("1.7e+09", "Infinity"...): through a double, if it is a number at all.
    const std::string copy((negative ? "-" : "") + std::string(text));
    char* end = nullptr;
    const double value = std::strtod(copy.c_str(), &end);
    const bool starts_with_digit = !text.empty() && text.front() >= '0' && text.front() <= '9';
    if (!starts_with_digit || end != copy.c_str() + copy.size() || !std::isfinite(value)) {
      return std::nullopt;
    }
    return TimestampFromEpoch(value);
  }
  int64_t seconds = 0;
  for (char c : whole) seconds = seconds * 10 + (c - '0');
  int64_t nanos = 0;
  for (size_t i = 0; i < 9; ++i) nanos = nanos * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  if (negative && nanos > 0) {
    seconds = -seconds - 1;
    nanos = 1000000000 - nanos;
  } else if (negative) {
    seconds = -seconds;
  }
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(nanos));
  return ts;
}

google::protobuf::Timestamp TimestampFromEpoch(const pqxx::field& epoch_seconds) {
  auto ts = TimestampFromEpochText(epoch_seconds.c_str());
  if (!ts) {
    throw std::invalid_argument("column " + std::string(epoch_seconds.name()) +
                                " holds no epoch seconds");
  }
  return *ts;
}

google::protobuf::Timestamp TimestampFromEpoch(double epoch_seconds) {
  google::protobuf::Timestamp ts;
  const double whole = std::floor(epoch_seconds);
  ts.set_seconds(static_cast<int64_t>(whole));
  ts.set_nanos(static_cast<int32_t>((epoch_seconds - whole) * 1e9));
  return ts;
}

}  // namespace ctg
