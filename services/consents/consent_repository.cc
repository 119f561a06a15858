#include "consents/consent_repository.h"

#include "consents/audit.h"

namespace ctg::consents {
namespace {

const std::vector<PreparedStatement>& Statements() {
  static const std::vector<PreparedStatement> statements = [] {
    std::vector<PreparedStatement> s = {
        {"req_find", "SELECT body, version FROM exchange_requests WHERE id = $1::uuid"},
        {"req_find_lock",
         "SELECT body, version FROM exchange_requests WHERE id = $1::uuid FOR UPDATE"},
        {"req_insert",
         "INSERT INTO exchange_requests (id, requester, holder, state, body, demonstration) "
         "VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6)"},
        {"req_save",
         "UPDATE exchange_requests SET state = $2, body = $3, version = version + 1 "
         "WHERE id = $1::uuid RETURNING version"},
        {"req_list",
         "SELECT seq, body, version FROM exchange_requests WHERE ($1 = '' OR requester = "
         "nullif($1, '')::uuid OR holder = nullif($1, '')::uuid) AND ($2 = 0 OR state = $2) "
         "AND seq > $3 ORDER BY seq LIMIT $4"},
        {"req_consents",
         "SELECT body, version FROM exchange_requests WHERE requester = $1::uuid AND holder = "
         "$2::uuid AND state IN (5, 8) ORDER BY seq"},
        {"exchange_insert",
         "INSERT INTO exchanges (consent, categories, volume, exchange_time, reference, author) "
         "VALUES ($1::uuid, $2::smallint[], $3, 'epoch'::timestamptz + $4::bigint * interval "
         "'1 microsecond', $5, $6)"},
    };
    for (const auto& a : AuditStatements()) s.push_back(a);
    return s;
  }();
  return statements;
}

StoredRequest FromRow(const pqxx::row& row, int body, int version) {
  StoredRequest s;
  const pqxx::binarystring bytes(row[body]);
  if (!s.request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw std::runtime_error("unreadable exchange request in the database");
  }
  s.version = row[version].as<int64_t>();
  s.request.set_etag(FormatEtag(s.version));
  return s;
}

}  // namespace

const std::vector<PreparedStatement>& ConsentStatements() { return Statements(); }

std::optional<StoredRequest> ConsentRepository::Find(const std::string& id, bool lock) {
  auto r = tx_.exec_prepared(lock ? "req_find_lock" : "req_find", id);
  if (r.empty()) return std::nullopt;
  return FromRow(r[0], 0, 1);
}

void ConsentRepository::Insert(const std::string& id, const v1::ExchangeRequest& request) {
  const std::string body = request.SerializeAsString();
  tx_.exec_prepared("req_insert", id, IdOf(request.requester()), IdOf(request.holder()),
                    static_cast<int>(request.state()), pqxx::binarystring(body.data(), body.size()),
                    request.demonstration());
}

int64_t ConsentRepository::Save(const std::string& id, const v1::ExchangeRequest& request) {
  v1::ExchangeRequest stored = request;
  stored.clear_etag();
  const std::string body = stored.SerializeAsString();
  return tx_
      .exec_prepared1("req_save", id, static_cast<int>(request.state()),
                      pqxx::binarystring(body.data(), body.size()))[0]
      .as<int64_t>();
}

Page<StoredRequest> ConsentRepository::List(const std::string& organisation_id, int state,
                                            const PageRequest& page) {
  Page<StoredRequest> out;
  auto r = tx_.exec_prepared("req_list", organisation_id, state, page.after, page.size + 1);
  for (const auto& row : r) {
    if (static_cast<int>(out.items.size()) == page.size) {
      out.more = true;
      break;
    }
    out.last_seq = row[0].as<int64_t>();
    out.items.push_back(FromRow(row, 1, 2));
  }
  return out;
}

std::vector<StoredRequest> ConsentRepository::Consents(const std::string& requester_id,
                                                       const std::string& holder_id) {
  std::vector<StoredRequest> out;
  for (const auto& row : tx_.exec_prepared("req_consents", requester_id, holder_id)) {
    out.push_back(FromRow(row, 0, 1));
  }
  return out;
}

void ConsentRepository::InsertExchange(const std::string& consent_id,
                                       const std::vector<int>& categories, int64_t volume,
                                       int64_t time_micros, const std::string& reference,
                                       const std::string& author) {
  std::vector<std::string> items;
  for (int c : categories) items.push_back(std::to_string(c));
  tx_.exec_prepared("exchange_insert", consent_id, PgArrayLiteral(items), volume, time_micros,
                    reference, author);
}

}  // namespace ctg::consents
