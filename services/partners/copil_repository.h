#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/api.h"
#include "ctg/partners/v1/partners.pb.h"
#include "partners/organisation_repository.h"

namespace ctg::partners {

// COPIL members (art. 8) in the partners schema. Functions take the caller's transaction: the
// service layer owns transaction boundaries.
class CopilRepository {
 public:
  explicit CopilRepository(pqxx::transaction_base& tx) : tx_(tx) {}

  // True when the convention with this id exists (read directly from the conventions table).
  bool ConventionExists(const std::string& convention_id);
  // True when the organisation is one of the convention's parties.
  bool IsParty(const std::string& convention_id, const std::string& organisation_id);
  // The member with this id; nullopt if none.
  std::optional<::ctg::partners::v1::CopilMember> Find(const std::string& id);
  // Inserts a member (its `convention` and `organisation` are resource names already validated)
  // and returns the new id.
  std::string Insert(const ::ctg::partners::v1::CopilMember& member);
  // Deletes the member; false when it did not exist.
  bool Delete(const std::string& id);
  // One page of the members of a convention, in creation order.
  Page<::ctg::partners::v1::CopilMember> List(const std::string& convention_id,
                                              const PageRequest& page);
  // Every member of a convention, in creation order.
  std::vector<::ctg::partners::v1::CopilMember> All(const std::string& convention_id);

 private:
  pqxx::transaction_base& tx_;
};

// "copilMembers/{id}" for a member id.
std::string CopilMemberName(const std::string& id);

}  // namespace ctg::partners
