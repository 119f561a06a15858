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

ServerUnaryReactor* PartnerService::CreateCopilMember(CallbackServerContext* c,
                                                      const v1::CreateCopilMemberRequest* req,
                                                      v1::CopilMember* resp) {
  return runner_.Run(c, "CreateCopilMember", [this, req, resp](const CallContext& call) {
    RequireAdministrator(call.principal, "appoint COPIL members");
    const auto& m = req->member();
    Violations v;
    std::optional<std::string> convention_id, organisation_id;
    ValidateMember(m, &convention_id, &organisation_id, v);
    CheckRequestId(req->request_id(), "request_id", v);
    v.ThrowIfAny();
    WithTransaction(pool_, [&](pqxx::work& tx) {
      CopilRepository repo(tx);
      if (auto done = FindRequest(tx, req->request_id(), "CreateCopilMember")) {
        *resp = LoadMember(repo, IdOf(*done));
        return;
      }
      RequireConvention(repo, *convention_id);
      if (organisation_id) {
        const int kind = OrganisationRepository(tx).KindOf(*organisation_id);
        if (kind == 0)
          throw NotFoundError("member.organisation: " + m.organisation() + " not found");
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
      RememberRequest(tx, req->request_id(), "CreateCopilMember", CopilMemberName(id));
      *resp = LoadMember(repo, id);
    });
  });
}

ServerUnaryReactor* PartnerService::ListCopilMembers(CallbackServerContext* c,
                                                     const v1::ListCopilMembersRequest* req,
                                                     v1::ListCopilMembersResponse* resp) {
  return runner_.Run(c, "ListCopilMembers", [this, req, resp](const CallContext&) {
    Violations v;
    auto convention_id = ParseResourceName(req->convention(), "conventions", "convention", v);
    auto page = ParsePageRequest(req->page_size(), req->page_token(), v);
    v.ThrowIfAny();
    WithReadTransaction(pool_, [&](pqxx::transaction_base& tx) {
      CopilRepository repo(tx);
      RequireConvention(repo, *convention_id);
      auto result = repo.List(*convention_id, page);
      for (auto& m : result.items) *resp->add_members() = std::move(m);
      if (result.more) resp->set_next_page_token(NextPageToken(result.last_seq));
    });
  });
}

ServerUnaryReactor* PartnerService::DeleteCopilMember(CallbackServerContext* c,
                                                      const v1::DeleteCopilMemberRequest* req,
                                                      v1::DeleteCopilMemberResponse* resp) {
  return runner_.Run(c, "DeleteCopilMember", [this, req](const CallContext& call) {
    RequireAdministrator(call.principal, "remove COPIL members");
    Violations v;
    auto id = ParseResourceName(req->name(), "copilMembers", "name", v);
    v.ThrowIfAny();
    WithTransaction(pool_, [&](pqxx::work& tx) {
      if (!CopilRepository(tx).Delete(*id)) {
        throw NotFoundError(CopilMemberName(*id) + " not found");
      }
    });
  });
}

ServerUnaryReactor* PartnerService::CheckCopilComposition(
    CallbackServerContext* c, const v1::CheckCopilCompositionRequest* req,
    v1::CopilComposition* resp) {
  return runner_.Run(c, "CheckCopilComposition", [this, req, resp](const CallContext&) {
    Violations v;
    auto convention_id = ParseResourceName(req->convention(), "conventions", "convention", v);
    v.ThrowIfAny();
    WithReadTransaction(pool_, [&](pqxx::transaction_base& tx) {
      CopilRepository repo(tx);
      RequireConvention(repo, *convention_id);
      *resp = CheckComposition(repo.All(*convention_id));
    });
  });
}

}  // namespace ctg::partners
