#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/db.h"
#include "ctg/partners/v1/partners.pb.h"
#include "partners/organisation_repository.h"

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;

// Conventions in the partners schema: the convention row with its termination, its parties
// and their designated signers, its signatures and its amendments. Functions take the caller's
// transaction: the service layer owns transaction boundaries. The state is never stored: the
// loaded convention leaves `state` unset for the service to compute.
class ConventionRepository {
 public:
  explicit ConventionRepository(pqxx::transaction_base& tx) : tx_(tx) {}

  // The full convention with this id; nullopt if none. `version` receives the row version when
  // not null. `for_update` locks the convention row until the end of the transaction, so
  // concurrent signatures and amendments of one convention are serialised.
  std::optional<v1::Convention> Find(const std::string& id, int64_t* version = nullptr,
                                     bool for_update = false);
  // A page of conventions in creation order, optionally only those of one territory (an
  // organisation id; "" for all).
  Page<v1::Convention> List(const std::string& territory_id, const PageRequest& page);
  // Inserts the convention's own fields and parties (with designated signers); returns its id.
  std::string Insert(const v1::Convention& convention);
  // Overwrites title, territory, period, secretariat and parties (with designated signers), bumping
  // the version.
  void Update(const std::string& id, const v1::Convention& convention);
  // Records a signature and bumps the convention's version.
  void AddSignature(const std::string& id, const std::string& organisation_id,
                    const std::string& representative_id, const CivilDate& signed_on);
  // Records an amendment numbered one more than the highest recorded, bumps the version and
  // returns the number given.
  int AddAmendment(const std::string& id, const CivilDate& signed_on,
                   const std::vector<std::string>& changes);
  // Records the termination (ground, initiator, dates, reason) and bumps the version.
  void RecordTermination(const std::string& id, const v1::Termination& termination);

  // Serialises imports until the end of the transaction (transaction-level advisory lock).
  void LockImports();
  // The first convention with exactly this territory, title and period (import idempotency).
  std::optional<std::string> FindIdByKey(const std::string& territory_id, const std::string& title,
                                         const CivilDate& start, const CivilDate& end);
  // The first organisation of this kind and display name (import of organisations without a
  // SIREN or INSEE code).
  std::optional<std::string> FindOrganisationIdByKindAndName(int kind,
                                                             const std::string& display_name);
  // The first representative of the organisation with this person name.
  std::optional<std::string> FindRepresentativeIdByName(const std::string& organisation_id,
                                                        const std::string& person_name);

 private:
  void InsertParties(const std::string& id, const v1::Convention& convention);
  v1::Convention Complete(const pqxx::row& row, int64_t* version);
  pqxx::transaction_base& tx_;
};

// "conventions/{id}" for a convention id.
std::string ConventionName(const std::string& id);

// The organisation holding the convention's permanent secretariat: `secretariat`, or the
// territory when it is not set (art. 8: the agglomeration).
const std::string& SecretariatOf(const v1::Convention& convention);

}  // namespace ctg::partners
