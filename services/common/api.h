#pragma once

#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/db.h"
#include "common/errors.h"
#include "common/text.h"
#include "google/type/date.pb.h"

// Helpers every service uses to follow the API conventions (aip.dev): resource names, page
// tokens, etags, request ids, field masks, dates and text checks.
namespace ctg {

struct CallContext;

// ---- Resource names (AIP-122) ----

// "collection/id".
std::string ResourceName(std::string_view collection, std::string_view id);
// Returns the UUID of "collection/{uuid}", or nullopt (recording a violation on `field`) when
// `name` is empty or not of that form. `required` false accepts an empty name silently.
std::optional<std::string> ParseResourceName(std::string_view name, std::string_view collection,
                                             const std::string& field, Violations& violations,
                                             bool required = true);
// The id part of a resource name already validated by ParseResourceName ("" for "").
std::string IdOf(const std::string& name);
// True for a canonical lower-case UUID.
bool IsUuid(std::string_view s);

// ---- Pagination (AIP-158) ----

struct PageRequest {
  int size = 50;
  // Rows strictly after this sequence number (0: from the start).
  int64_t after = 0;
};
// The page a List request asks for: its `page_size` (0: the default 50; negative refused; at
// most 500) and its `page_token`, both read from `request`. A token is bound to the list it came
// from: it carries the last key read, under an HMAC (the service's page-token key, kept in its
// schema) of that key, the method and the request's other fields, so a caller can neither
// forge nor edit one, nor use it with other filters or another method. A bad token is a
// violation on "page_token".
PageRequest ParsePage(const CallContext& call, const google::protobuf::Message& request,
                      Violations& violations);
// The token of the page after the row with sequence number `last`, for `request`.
std::string NextPageToken(const CallContext& call, const google::protobuf::Message& request,
                          int64_t last);

// One page of rows read with keyset pagination on a sequence column, and whether more follow.
template <typename T>
struct Page {
  std::vector<T> items;
  int64_t last_seq = 0;
  bool more = false;
};

// ---- Etags (AIP-154) ----

std::string FormatEtag(int64_t version);
// Throws StaleEtagError when `sent` is non-empty and differs from the current version's etag.
void CheckEtag(const std::string& sent, int64_t current_version);

// ---- Request ids (AIP-155) ----

// Prepared statements of the runtime's idempotency_keys table, present in every service schema.
const std::vector<PreparedStatement>& RuntimeStatements();
// Validates an optional request id (empty, or a UUID).
void CheckRequestId(const std::string& request_id, const std::string& field,
                    Violations& violations);

// The idempotency key of a create request (AIP-155): its `request_id` field. A key belongs to
// the principal that used it (token subject and organisation) and to the method, so one caller
// can never read another's result by replaying its key; and to one set of parameters (as
// Stripe's keys do): the same key with a different request is refused. Used inside the create's
// own transaction:
//
//   IdempotencyKey key(tx, call, req);
//   if (auto done = key.Previous()) { resp = Load(*done); return; }
//   ... create ...
//   key.Remember(ResourceName("axes", id));
class IdempotencyKey {
 public:
  // `request` is the whole create request (its `request_id`, "" for none, was validated).
  IdempotencyKey(pqxx::transaction_base& tx, const CallContext& call,
                 const google::protobuf::Message& request);
  // The resource this principal created earlier with this key and the same request, or nullopt
  // (first use, or no key). Locks the key until the transaction ends, so two concurrent uses
  // cannot both create. Throws ValidationError on `request_id` when the key was used by this
  // principal for a different request.
  std::optional<std::string> Previous();
  // Records the resource created for the key (no-op without a key).
  void Remember(const std::string& resource);

 private:
  pqxx::transaction_base& tx_;
  std::string request_id_;
  std::string principal_;
  std::string method_;
  std::string fingerprint_;
};

// ---- Field masks (AIP-134) ----

// The set of top-level fields to update. An empty mask means every field set in `message`.
// Paths outside `updatable` are recorded as violations on "update_mask".
std::set<std::string> EffectiveMask(const google::protobuf::Message& message,
                                    const google::protobuf::FieldMask& mask,
                                    const std::set<std::string>& updatable, Violations& violations);
// Copies the top-level `fields` (as EffectiveMask returns them) of `patch` into `target`:
// messages and lists are replaced whole (AIP-134), a field named but unset in `patch` is cleared.
void ApplyMaskedFields(const google::protobuf::Message& patch, const std::set<std::string>& fields,
                       google::protobuf::Message* target);

// ---- Dates ----

// A proleptic Gregorian calendar date.
struct CivilDate {
  int year = 0;
  int month = 0;
  int day = 0;

  // Days since 1970-01-01.
  int64_t ToDays() const;
  static CivilDate FromDays(int64_t days);
  // The same day `months` later, clamped to the end of a shorter month (31 Jan + 1 = 28/29 Feb).
  CivilDate AddMonths(int months) const;
  // "YYYY-MM-DD".
  std::string ToString() const;
  google::type::Date ToProto() const;
  // Parses "YYYY-MM-DD" as returned by PostgreSQL; throws std::invalid_argument otherwise.
  static CivilDate Parse(std::string_view text);
  // The Europe/Paris civil date at instant `now` (the convention's dates are French civil
  // dates). Rules take `now` from the injected clock (CallContext::now), never from the system.
  static CivilDate InParis(std::chrono::system_clock::time_point now);

  friend bool operator<(const CivilDate& a, const CivilDate& b) { return a.ToDays() < b.ToDays(); }
  friend bool operator<=(const CivilDate& a, const CivilDate& b) {
    return a.ToDays() <= b.ToDays();
  }
  friend bool operator==(const CivilDate& a, const CivilDate& b) {
    return a.year == b.year && a.month == b.month && a.day == b.day;
  }
  friend bool operator!=(const CivilDate& a, const CivilDate& b) { return !(a == b); }
};

// True when `date` is an all-zero (unset) google.type.Date.
bool IsUnset(const google::type::Date& date);
// Validates a full date (year 1900..2200); nullopt and a violation when invalid. An unset date
// is a violation only when `required`.
std::optional<CivilDate> ParseDate(const google::type::Date& date, const std::string& field,
                                   Violations& violations, bool required);

// ---- PostgreSQL values ----

// The one way dates travel to and from SQL: a parameter "YYYY-MM-DD", or nullopt (NULL) for an
// unset date; a column selected as text ("coalesce(d::text, '')") back as a proto date, nullopt
// for '' so that an unset date stays unset.
std::optional<std::string> DateParam(const google::type::Date& date);
std::optional<google::type::Date> DateFromText(std::string_view text);
std::optional<google::type::Date> DateFromField(const pqxx::field& field);

// A PostgreSQL array literal ('{"a","b"}') for a text[] / uuid[] / smallint[] parameter, every
// element quoted and escaped.
std::string PgArrayLiteral(const std::vector<std::string>& items);
// The elements of a one-dimensional PostgreSQL array column (text[], uuid[], smallint[]...) as
// strings; NULL elements become "". Uses libpqxx's array parser (no JSON round trip).
std::vector<std::string> ParsePgArray(const pqxx::field& field);
// The strings of a JSON array of strings (as selected with array_to_json(...)::text).
// Throws std::invalid_argument on anything else.
std::vector<std::string> ParseJsonStringArray(const std::string& json);
// The rows of a JSON array of arrays of strings (as selected with json_agg(json_build_array(...))).
std::vector<std::vector<std::string>> ParseJsonStringRows(const std::string& json);

// ---- Text ----

// Checks that `value` is valid UTF-8 without control characters and has between `min` and `max`
// characters (code points); records a violation otherwise.
void CheckText(const std::string& value, const std::string& field, size_t min, size_t max,
               Violations& violations);

// Microseconds since the epoch of `t`, and the same instant as a Timestamp (what repositories
// pass to SQL and services put in responses, from CallContext::now).
int64_t MicrosSinceEpoch(std::chrono::system_clock::time_point t);
google::protobuf::Timestamp TimestampAt(std::chrono::system_clock::time_point t);

// The instant `micros_since_epoch` as PostgreSQL reads a timestamptz in COPY text
// ("2026-12-01 11:51:16.123456+00"), exact to the microsecond.
std::string TimestampCopyText(int64_t micros_since_epoch);

// Converts epoch seconds into a Timestamp.
google::protobuf::Timestamp TimestampFromEpoch(double epoch_seconds);
// Converts the text of epoch seconds ("1796121750.974308", "-0.5", as PostgreSQL prints
// extract(epoch FROM t)::float8) into a Timestamp, digit by digit so that microseconds stay
// exact (a double does not hold them exactly); nullopt when `text` is not a number.
std::optional<google::protobuf::Timestamp> TimestampFromEpochText(std::string_view text);
// The Timestamp of a column selected as extract(epoch FROM t)::float8 (the way every repository
// reads a timestamptz); throws std::invalid_argument when it holds no number.
google::protobuf::Timestamp TimestampFromEpoch(const pqxx::field& epoch_seconds);

}  // namespace ctg
