#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/db.h"
#include "ctg/consents/v1/consents.pb.h"

namespace ctg::consents {

namespace v1 = ::ctg::consents::v1;

// Named statements of the exchange requests (prepared on every pooled connection).
const std::vector<PreparedStatement>& ConsentStatements();

// A stored request with its etag version.
struct StoredRequest {
  v1::ExchangeRequest request;  // name, etag set; state as stored
  int64_t version = 0;
};

// Exchange requests and recorded exchanges in the consents schema. Functions take the caller's
// transaction: the service layer owns transaction boundaries.
class ConsentRepository {
 public:
  explicit ConsentRepository(pqxx::transaction_base& tx) : tx_(tx) {}

  // The request `id`; `lock` holds its row until the transaction ends.
  std::optional<StoredRequest> Find(const std::string& id, bool lock = false);
  void Insert(const std::string& id, const v1::ExchangeRequest& request);
  // Writes `request` and bumps the version; returns the new version.
  int64_t Save(const std::string& id, const v1::ExchangeRequest& request);
  // The requests `organisation_id` is party to ("" : all), in one stored state (0: all).
  Page<StoredRequest> List(const std::string& organisation_id, int state, const PageRequest& page);
  // Every request between `requester_id` and `holder_id` that may be a consent (approved or
  // suspended).
  std::vector<StoredRequest> Consents(const std::string& requester_id,
                                      const std::string& holder_id);
  void InsertExchange(const std::string& consent_id, const std::vector<int>& categories,
                      int64_t volume, int64_t time_micros, const std::string& reference,
                      const std::string& author);

 private:
  pqxx::transaction_base& tx_;
};

}  // namespace ctg::consents
