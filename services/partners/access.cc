#include "partners/access.h"

#include "common/api.h"
#include "common/errors.h"

namespace ctg::partners {
namespace {

const std::vector<PreparedStatement>& Statements() {
  static const std::vector<PreparedStatement> statements = {
      // $1 caller's organisation, $2 organisation acted for, $3 caller is a caf_agent,
      // $4 caller is a copil_secretariat agent. A convention "covers" an organisation that is
      // one of its parties, its territory or a member commune of its territory.
      {"access_acts_for",
       "SELECT EXISTS (SELECT 1 FROM conventions c WHERE "
       "  (c.territory_id = $2::uuid "
       "   OR EXISTS (SELECT 1 FROM convention_parties p "
       "              WHERE p.convention_id = c.id AND p.organisation_id = $2::uuid) "
       "   OR EXISTS (SELECT 1 FROM organisations m "
       "              WHERE m.id = $2::uuid AND m.parent_epci = c.territory_id)) "
       "  AND (($3 AND EXISTS (SELECT 1 FROM convention_parties q JOIN organisations k "
       "                       ON k.id = q.organisation_id WHERE q.convention_id = c.id "
       "                       AND q.organisation_id = $1::uuid AND k.kind = 3)) "
       "       OR ($4 AND c.secretariat_id = $1::uuid)))"},
      // $1 convention, $2 caller's organisation, $3 caf_agent, $4 copil_secretariat.
      {"access_administers",
       "SELECT ($3 AND EXISTS (SELECT 1 FROM convention_parties p JOIN organisations o "
       "                       ON o.id = p.organisation_id WHERE p.convention_id = $1::uuid "
       "                       AND p.organisation_id = $2::uuid AND o.kind = 3)) "
       "    OR ($4 AND EXISTS (SELECT 1 FROM conventions c WHERE c.id = $1::uuid "
       "                       AND c.secretariat_id = $2::uuid))"},
      {"access_is_caf", "SELECT kind = 3 FROM organisations WHERE id = $1::uuid"},
  };
  return statements;
}

// The caller's organisation id, or "" when the token names none (or not in canonical form).
std::string CallerOrganisationId(const Principal& principal) {
  const std::string prefix = "organisations/";
  if (principal.organisation.rfind(prefix, 0) != 0) return "";
  const std::string id = principal.organisation.substr(prefix.size());
  return IsUuid(id) ? id : "";
}

}  // namespace

const std::vector<PreparedStatement>& AccessStatements() { return Statements(); }

bool ObjectAccess::IsAgentOf(const std::string& organisation) const {
  return !organisation.empty() && !CallerOrganisationId(principal_).empty() &&
         principal_.organisation == organisation;
}

bool ObjectAccess::ActsFor(const std::string& organisation_id) {
  if (principal_.Has(Role::kRegistryAdmin)) return true;
  const std::string own = CallerOrganisationId(principal_);
  if (own.empty()) return false;
  if (own == organisation_id) return true;
  const bool caf = principal_.Has(Role::kCafAgent);
  const bool secretariat = principal_.Has(Role::kCopilSecretariat);
  if (!caf && !secretariat) return false;
  return tx_.exec_prepared1("access_acts_for", own, organisation_id, caf, secretariat)[0]
      .as<bool>();
}

void ObjectAccess::RequireActsFor(const std::string& organisation_id, const std::string& action) {
  if (!ActsFor(organisation_id)) {
    throw PermissionDeniedError("not allowed to " + action + ": the caller does not act for " +
                                ResourceName("organisations", organisation_id));
  }
}

bool ObjectAccess::Administers(const std::string& convention_id) {
  const std::string own = CallerOrganisationId(principal_);
  if (own.empty()) return false;
  const bool caf = principal_.Has(Role::kCafAgent);
  const bool secretariat = principal_.Has(Role::kCopilSecretariat);
  if (!caf && !secretariat) return false;
  return tx_.exec_prepared1("access_administers", convention_id, own, caf, secretariat)[0]
      .as<bool>();
}

void ObjectAccess::RequireAdministers(const std::string& convention_id, const std::string& action) {
  if (!Administers(convention_id)) {
    throw PermissionDeniedError(
        "not allowed to " + action +
        ": only the Caf party to the convention and the organisation holding its secretariat "
        "administer it");
  }
}

bool ObjectAccess::IsCafAmong(const std::vector<std::string>& parties) {
  if (!principal_.Has(Role::kCafAgent)) return false;
  const std::string own = CallerOrganisationId(principal_);
  if (own.empty()) return false;
  bool listed = false;
  for (const auto& p : parties) listed = listed || p == principal_.organisation;
  if (!listed) return false;
  auto r = tx_.exec_prepared("access_is_caf", own);
  return !r.empty() && r[0][0].as<bool>();
}

}  // namespace ctg::partners
