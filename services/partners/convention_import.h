#pragma once

#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.h"
#include "ctg/partners/v1/partners.pb.h"

// Import of a convention document: the reference list of member communes (CSV), the matching of
// the names written in the text to the official commune names, and the import plan with the
// text's inconsistencies. Everything here is pure (no database); the ImportConvention RPC
// applies the plan.
namespace ctg::partners {

// Reads the member communes of an EPCI from CSV in the format of data/vga_communes.csv: a header
// "insee_code,siren_commune,name" followed by any number of "pmun_YYYY" (population municipale
// of vintage YYYY) and "ptot_YYYY" (population totale) columns, in any order; one commune per
// line. Each vintage with a pmun column gives one LegalPopulation (totale 0 when there is no
// ptot column for it, or its cell is empty; a commune whose pmun cell is empty has no population
// for that vintage). Populations are sorted by vintage. Fields may be double-quoted; CRLF line
// ends, a UTF-8 BOM and blank lines are accepted. Throws std::invalid_argument naming the line
// number on malformed input (unknown or missing column, wrong field count, bad INSEE code or
// SIREN, empty name, non-numeric population, ptot without pmun, INSEE code given twice).
std::vector<::ctg::partners::v1::MemberCommune> ReadMemberCommunesCsv(std::istream& in);

// The comparison key of a commune name: lower case, French accents removed, "st"/"ste" words
// read "saint"/"sainte", "/" read " sur ", a leading preposition "de"/"d'"/"du"/"des" and a
// leading article "le"/"la"/"les"/"l'" dropped, then apostrophes, hyphens, dots and spaces
// removed. "Le Mas-d'Agenais" and "du Mas d’Agenais" both give "masdagenais".
std::string NormaliseCommuneName(std::string_view name);

// The index in `official_names` of the commune `written` designates: the one whose normalised
// name is equal, else the only one whose normalised name starts with the normalised written name
// ("Fourques" for "Fourques-sur-Garonne"). -1 when there is none or several.
int MatchCommuneName(std::string_view written, const std::vector<std::string>& official_names);

// One warning of the plan. `member` is the index of the member commune concerned and `party`
// the index of the party block concerned (-1 when not applicable); the RPC turns them into
// organisation names.
struct PlannedWarning {
  std::string code;
  std::string message;
  int member = -1;
  int party = -1;
};

// What an import does with the text, decided before touching the database.
struct ImportPlan {
  // Per party block: the member commune it designates (-1 for other kinds or unknown names).
  std::vector<int> party_member;
  // Per signature block: the member commune it designates (-1 for other kinds or unknown names).
  std::vector<int> signature_member;
  // Per member commune: whether a party block / a signature block designates it.
  std::vector<bool> member_listed;
  std::vector<bool> member_signed;
  // Per party block: a second party block designating the same commune (index of the first),
  // -1 otherwise. The request is refused when any is found.
  std::vector<int> duplicate_of;
  int communes_loaded = 0;
  int communes_listed_as_parties = 0;
  int commune_signature_blocks = 0;
  // In order: UNKNOWN_COMMUNE, MEMBER_NOT_LISTED_AS_PARTY, PARTY_WITHOUT_SIGNATURE,
  // SIGNATURE_WITHOUT_PARTY, COUNT_MISMATCH. Messages are in French.
  std::vector<PlannedWarning> warnings;
};

// Matches the party and signature blocks of the request with its member communes and lists the
// text's inconsistencies: member communes missing from the parties, parties without a signature
// block, signature blocks without a party, names matching no member, and differing counts.
// Non-commune blocks are matched by kind.
ImportPlan PlanImport(const ::ctg::partners::v1::ImportConventionRequest& request);

// Checks an ImportConventionRequest field by field (title, period, EPCI, party blocks and their
// representatives, signature blocks, member communes, request id), recording violations with
// their request paths ("parties[3].written_name", "member_communes[0].insee_code", ...).
void ValidateImportRequest(const ::ctg::partners::v1::ImportConventionRequest& request,
                           Violations& violations);

}  // namespace ctg::partners
