#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/auth.h"
#include "common/db.h"
#include "ctg/partners/v1/partners.pb.h"

namespace ctg::partners {

// The object-level rules of the partners service, in one place. Which roles may call each RPC
// is declared in partners.proto and checked by the runtime before any handler runs; these rules
// then say which objects a caller who passed that check may change. The registry itself is
// public institutional data: every caller reads it, so a refusal here is PERMISSION_DENIED
// (AIP-211: the caller may know the object exists).
//
// - A caller acts for its own organisation (the token's "org").
// - A caf_agent whose organisation is a Caf administers the conventions that Caf is a party to,
//   and acts for their parties, their territory and the territory's member communes.
// - A copil_secretariat agent administers the conventions whose secretariat its organisation
//   holds, and acts for the same organisations of those conventions.
// - A registry_admin acts for every organisation (reference data) and administers no
//   convention.
class ObjectAccess {
 public:
  ObjectAccess(pqxx::transaction_base& tx, const Principal& principal)
      : tx_(tx), principal_(principal) {}

  // Whether the caller acts for the organisation `organisation_id` (a uuid).
  bool ActsFor(const std::string& organisation_id);
  // Throws PermissionDeniedError ("not allowed to <action> ...") unless ActsFor.
  void RequireActsFor(const std::string& organisation_id, const std::string& action);

  // Whether the caller administers the convention `convention_id` (a uuid).
  bool Administers(const std::string& convention_id);
  // Throws PermissionDeniedError unless Administers.
  void RequireAdministers(const std::string& convention_id, const std::string& action);

  // Whether the caller's organisation is one of `parties` ("organisations/{uuid}") and a Caf:
  // a caf_agent may create or import a convention only for its own Caf.
  bool IsCafAmong(const std::vector<std::string>& parties);

  // Whether the caller is an agent of `organisation` ("organisations/{uuid}") itself.
  bool IsAgentOf(const std::string& organisation) const;

 private:
  pqxx::transaction_base& tx_;
  const Principal& principal_;
};

// Named statements of the access rules.
const std::vector<PreparedStatement>& AccessStatements();

}  // namespace ctg::partners
