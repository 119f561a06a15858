#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/db.h"
#include "ctg/partners/v1/partners.pb.h"

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;

// Filters of ListOrganisations; empty / zero fields do not filter.
struct OrganisationFilter {
  int kind = 0;
  std::string parent_epci_id;
  std::string insee_code;
};

// Organisations and representatives in the partners schema. Functions take the caller's
// transaction: the service layer owns transaction boundaries.
class OrganisationRepository {
 public:
  explicit OrganisationRepository(pqxx::transaction_base& tx) : tx_(tx) {}

  // The organisation with this id, with its populations; nullopt if none. `version` receives the
  // row version when not null. `for_update` locks the row until the transaction ends (so that
  // an etag check and the write that follows cannot interleave with another update).
  std::optional<v1::Organisation> Find(const std::string& id, int64_t* version = nullptr,
                                       bool for_update = false);
  // Locks the row until the transaction ends (no-op when it does not exist), so that an etag
  // check and the write that follows cannot interleave with another update.
  void LockRepresentative(const std::string& id);
  // The organisation's kind (0 when it does not exist). Cheap existence/kind check.
  int KindOf(const std::string& id);
  // Inserts and returns the new id. Populations are inserted too.
  std::string Insert(const v1::Organisation& organisation);
  // Overwrites the mutable columns (and the populations when `populations_changed`), bumping
  // the version; sets the new etag and update time on `organisation`, which is then what a
  // fresh read would return. With `expected_version` (not 0) only while the row still has that
  // version: false, and nothing written, when it has another (see RetryOptimisticUpdate).
  bool Update(const std::string& id, v1::Organisation& organisation,
              bool populations_changed = true, int64_t expected_version = 0);
  Page<v1::Organisation> List(const OrganisationFilter& filter, const PageRequest& page);
  // The organisation holding this INSEE code / SIREN, if any.
  std::optional<std::string> FindIdByInsee(const std::string& insee_code);
  std::optional<std::string> FindIdBySiren(const std::string& siren);

  std::optional<v1::Representative> FindRepresentative(const std::string& id,
                                                       int64_t* version = nullptr);
  std::string InsertRepresentative(const v1::Representative& representative);
  void UpdateRepresentative(const std::string& id, const v1::Representative& representative);
  Page<v1::Representative> ListRepresentatives(const std::string& organisation_id,
                                               const PageRequest& page);

 private:
  void ReplacePopulations(const std::string& id, const v1::Organisation& organisation);
  pqxx::transaction_base& tx_;
};

// "organisations/{id}" for an organisation id.
std::string OrganisationName(const std::string& id);

}  // namespace ctg::partners
