// The steering committee (COPIL, art. 8): its members and the check of its composition.
#include "common/api.h"
#include "partners/access.h"
#include "partners/copil_repository.h"
#include "partners/copil_rules.h"
#include "partners/organisation_repository.h"
#include "partners/service.h"

namespace ctg::partners {
namespace {

// Checks the caller-settable fields of a new member under "member.", returning the ids of its
// convention and (optional) organisation.
void ValidateMember(const v1::CopilMember& m, std::optional<std::string>* convention_id,
                    std::optional<std::string>* organisation_id, Violations& v) {
  *convention_id = ParseResourceName(m.convention(), "conventions", "member.convention", v);
  const bool college_known =
      m.college() != v1::COPIL_COLLEGE_UNSPECIFIED && v1::CopilCollege_IsValid(m.college());
  if (!college_known) {
    v.Add("member.college",
          "required: one of COLLEGE_CAF, COLLEGE_AGGLOMERATION, COLLEGE_COMMUNES, "
          "COLLEGE_DEPARTEMENT, COLLEGE_STATE, COLLEGE_CONSULTATIVE");
  }
  if (m.role() == v1::COPIL_ROLE_UNSPECIFIED || !v1::CopilRole_IsValid(m.role())) {
    v.Add("member.role", "required: one of MEMBER, CO_CHAIR, SECRETARIAT");
  }
  // Only resource persons with a consultative voice may sit without an organisation.
  const bool organisation_required = m.college() != v1::COLLEGE_CONSULTATIVE;
  *organisation_id = ParseResourceName(m.organisation(), "organisations", "member.organisation", v,
                                       organisation_required);
  CheckText(m.person_name(), "member.person_name", 1, 200, v);
}

v1::CopilMember LoadMember(CopilRepository& repo, const std::string& id) {
  auto m = repo.Find(id);
  if (!m) throw NotFoundError(CopilMemberName(id) + " not found");
  return *m;
}

void RequireConvention(CopilRepository& repo, const std::string& id) {
  if (!repo.ConventionExists(id)) {
    throw NotFoundError(ResourceName("conventions", id) + " not found");
  }
}

}  // namespace

void PartnerService::CreateCopilMember(const CallContext& call,
                                       const v1::CreateCopilMemberRequest& req,
                                       v1::CopilMember& resp) {
  const auto& m = req.member();
  Violations v;
  std::optional<std::string> convention_id, organisation_id;
  ValidateMember(m, &convention_id, &organisation_id, v);
  CheckRequestId(req.request_id(), "request_id", v);
  v.ThrowIfAny();
  WithTransaction(pool_, [&](pqxx::work& tx) {
    CopilRepository repo(tx);
    IdempotencyKey key(tx, call, req);
    if (auto done = key.Previous()) {
      resp = LoadMember(repo, IdOf(*done));
      return;
    }
    RequireConvention(repo, *convention_id);
    ObjectAccess(tx, call.principal).RequireAdministers(*convention_id, "appoint COPIL members");
    if (organisation_id) {
      const int kind = OrganisationRepository(tx).KindOf(*organisation_id);
      if (kind == 0) throw NotFoundError("member.organisation: " + m.organisation() + " not found");
      // Art. 8: the COPIL gathers representatives of the parties; only resource persons with a
      // consultative voice come from outside the convention.
      if (m.college() != v1::COLLEGE_CONSULTATIVE &&
          !repo.IsParty(*convention_id, *organisation_id)) {
        throw ValidationError("member.organisation",
                              "must be a party to the convention (art. 8); only consultative "
                              "members come from outside");
      }
      if (!KindFitsCollege(static_cast<v1::OrganisationKind>(kind), m.college())) {
        Violations wrong;
        wrong.Add("member.organisation",
                  "an organisation of kind " +
                      v1::OrganisationKind_Name(static_cast<v1::OrganisationKind>(kind)) +
                      " cannot sit in " + v1::CopilCollege_Name(m.college()));
        wrong.ThrowIfAny();
      }
    }
    const auto id = repo.Insert(m);
    key.Remember(CopilMemberName(id));
    resp = LoadMember(repo, id);
  });
}

void PartnerService::ListCopilMembers(const CallContext& call,
                                      const v1::ListCopilMembersRequest& req,
                                      v1::ListCopilMembersResponse& resp) {
  Violations v;
  auto convention_id = ParseResourceName(req.convention(), "conventions", "convention", v);
  auto page = ParsePage(call, req, v);
  v.ThrowIfAny();
  WithReadTransaction(pool_, [&](pqxx::transaction_base& tx) {
    CopilRepository repo(tx);
    RequireConvention(repo, *convention_id);
    auto result = repo.List(*convention_id, page);
    for (auto& m : result.items) *resp.add_members() = std::move(m);
    if (result.more) resp.set_next_page_token(NextPageToken(call, req, result.last_seq));
  });
}

void PartnerService::DeleteCopilMember(const CallContext& call,
                                       const v1::DeleteCopilMemberRequest& req,
                                       v1::DeleteCopilMemberResponse& resp) {
  Violations v;
  auto id = ParseResourceName(req.name(), "copilMembers", "name", v);
  v.ThrowIfAny();
  WithTransaction(pool_, [&](pqxx::work& tx) {
    CopilRepository repo(tx);
    const auto member = LoadMember(repo, *id);
    ObjectAccess(tx, call.principal)
        .RequireAdministers(IdOf(member.convention()), "remove COPIL members");
    if (!repo.Delete(*id)) throw NotFoundError(CopilMemberName(*id) + " not found");
  });
}

void PartnerService::CheckCopilComposition(const CallContext& call,
                                           const v1::CheckCopilCompositionRequest& req,
                                           v1::CopilComposition& resp) {
  Violations v;
  auto convention_id = ParseResourceName(req.convention(), "conventions", "convention", v);
  v.ThrowIfAny();
  WithReadTransaction(pool_, [&](pqxx::transaction_base& tx) {
    CopilRepository repo(tx);
    RequireConvention(repo, *convention_id);
    resp = CheckComposition(repo.All(*convention_id));
  });
}

}  // namespace ctg::partners
