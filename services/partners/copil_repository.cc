#include "partners/copil_repository.h"

#include "partners/statements.h"

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;

namespace {

constexpr char kSelectMember[] =
    "SELECT m.id::text, m.seq, m.convention_id::text, m.college, "
    "coalesce(m.organisation_id::text, ''), m.person_name, m.role FROM copil_members m";

const std::vector<PreparedStatement>& Statements() {
  static const std::string find = std::string(kSelectMember) + " WHERE m.id = $1::uuid";
  static const std::string list = std::string(kSelectMember) +
                                  " WHERE m.convention_id = $1::uuid AND m.seq > $2"
                                  " ORDER BY m.seq LIMIT $3";
  static const std::string all =
      std::string(kSelectMember) + " WHERE m.convention_id = $1::uuid ORDER BY m.seq";
  static const std::vector<PreparedStatement> statements = {
      {"copil_convention_exists", "SELECT 1 FROM conventions WHERE id = $1::uuid"},
      {"copil_is_party",
       "SELECT 1 FROM convention_parties WHERE convention_id = $1::uuid "
       "AND organisation_id = $2::uuid"},
      {"copil_find", find.c_str()},
      {"copil_list", list.c_str()},
      {"copil_all", all.c_str()},
      {"copil_insert",
       "INSERT INTO copil_members (convention_id, college, organisation_id, person_name, role) "
       "VALUES ($1::uuid, $2, nullif($3, '')::uuid, $4, $5) RETURNING id::text"},
      {"copil_delete", "DELETE FROM copil_members WHERE id = $1::uuid RETURNING 1"},
  };
  return statements;
}

v1::CopilMember MemberFromRow(const pqxx::row& row) {
  v1::CopilMember m;
  m.set_name(CopilMemberName(row[0].as<std::string>()));
  m.set_convention(ResourceName("conventions", row[2].as<std::string>()));
  m.set_college(static_cast<v1::CopilCollege>(row[3].as<int>()));
  const auto organisation = row[4].as<std::string>();
  if (!organisation.empty()) m.set_organisation(OrganisationName(organisation));
  m.set_person_name(row[5].as<std::string>());
  m.set_role(static_cast<v1::CopilRole>(row[6].as<int>()));
  return m;
}

}  // namespace

const std::vector<PreparedStatement>& CopilStatements() { return Statements(); }

std::string CopilMemberName(const std::string& id) { return ResourceName("copilMembers", id); }

bool CopilRepository::ConventionExists(const std::string& convention_id) {
  return !tx_.exec_prepared("copil_convention_exists", convention_id).empty();
}

bool CopilRepository::IsParty(const std::string& convention_id,
                              const std::string& organisation_id) {
  return !tx_.exec_prepared("copil_is_party", convention_id, organisation_id).empty();
}

std::optional<v1::CopilMember> CopilRepository::Find(const std::string& id) {
  auto r = tx_.exec_prepared("copil_find", id);
  if (r.empty()) return std::nullopt;
  return MemberFromRow(r[0]);
}

std::string CopilRepository::Insert(const v1::CopilMember& m) {
  return tx_
      .exec_prepared1("copil_insert", IdOf(m.convention()), static_cast<int>(m.college()),
                      IdOf(m.organisation()), m.person_name(), static_cast<int>(m.role()))[0]
      .as<std::string>();
}

bool CopilRepository::Delete(const std::string& id) {
  return !tx_.exec_prepared("copil_delete", id).empty();
}

Page<v1::CopilMember> CopilRepository::List(const std::string& convention_id,
                                            const PageRequest& page) {
  auto rows = tx_.exec_prepared("copil_list", convention_id, page.after, page.size + 1);
  Page<v1::CopilMember> out;
  for (const auto& row : rows) {
    if (static_cast<int>(out.items.size()) == page.size) {
      out.more = true;
      break;
    }
    out.items.push_back(MemberFromRow(row));
    out.last_seq = row[1].as<int64_t>();
  }
  return out;
}

std::vector<v1::CopilMember> CopilRepository::All(const std::string& convention_id) {
  std::vector<v1::CopilMember> out;
  for (const auto& row : tx_.exec_prepared("copil_all", convention_id)) {
    out.push_back(MemberFromRow(row));
  }
  return out;
}

}  // namespace ctg::partners
