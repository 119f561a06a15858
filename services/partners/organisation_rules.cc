#include "partners/organisation_rules.h"

#include <set>

#include "common/api.h"

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;

bool IsValidSiren(std::string_view siren) {
  if (siren.size() != 9) return false;
  int sum = 0;
  for (size_t i = 0; i < 9; ++i) {
    const char c = siren[8 - i];
    if (c < '0' || c > '9') return false;
    int d = c - '0';
    if (i % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

bool IsValidInseeCode(std::string_view code) {
  if (code.size() != 5) return false;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const bool department =
      (digit(code[0]) && digit(code[1])) || (code[0] == '2' && (code[1] == 'A' || code[1] == 'B'));
  return department && digit(code[2]) && digit(code[3]) && digit(code[4]);
}

bool IsValidDepartement(std::string_view code) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (code.size() == 2) {
    return (digit(code[0]) && digit(code[1]) && code != "00" && code != "20") || code == "2A" ||
           code == "2B";
  }
  return code.size() == 3 && code[0] == '9' && code[1] == '7' && code[2] >= '1' && code[2] <= '8';
}

std::string DepartementOfInsee(std::string_view insee_code) {
  if (!IsValidInseeCode(insee_code)) return "";
  const std::string_view d = insee_code.substr(0, insee_code.substr(0, 2) == "97" ? 3 : 2);
  return IsValidDepartement(d) ? std::string(d) : "";
}

void DeriveOrganisationFields(v1::Organisation& o) {
  if (o.kind() == v1::COMMUNE && o.departement().empty()) {
    o.set_departement(DepartementOfInsee(o.insee_code()));
  }
}

void ValidateOrganisation(const v1::Organisation& o, const std::string& prefix,
                          Violations& violations) {
  if (!o.departement().empty() && !IsValidDepartement(o.departement())) {
    violations.Add(prefix + "departement", "must be a département code (\"47\", \"2A\", \"974\")");
  } else if (o.kind() == v1::COMMUNE && !o.departement().empty() &&
             IsValidInseeCode(o.insee_code()) &&
             o.departement() != DepartementOfInsee(o.insee_code())) {
    violations.Add(prefix + "departement", "differs from the département of the INSEE code");
  }
  if (o.kind() == v1::ORGANISATION_KIND_UNSPECIFIED || !v1::OrganisationKind_IsValid(o.kind())) {
    violations.Add(prefix + "kind", "required: one of EPCI, COMMUNE, CAF, ...");
  }
  CheckText(o.display_name(), prefix + "display_name", 1, 200, violations);
  if (!o.siren().empty() && !IsValidSiren(o.siren())) {
    violations.Add(prefix + "siren", "must be 9 digits with a valid checksum");
  }
  if (o.kind() == v1::COMMUNE) {
    if (!IsValidInseeCode(o.insee_code())) {
      violations.Add(prefix + "insee_code", "a commune needs its 5-character INSEE code");
    }
  } else {
    if (!o.insee_code().empty()) {
      violations.Add(prefix + "insee_code", "only communes have an INSEE commune code");
    }
    if (!o.parent_epci().empty()) {
      violations.Add(prefix + "parent_epci", "only communes belong to an EPCI");
    }
    if (o.ao_competence_transferred()) {
      violations.Add(prefix + "ao_competence_transferred", "only a commune transfers it");
    }
  }
  if (!o.parent_epci().empty()) {
    ParseResourceName(o.parent_epci(), "organisations", prefix + "parent_epci", violations);
  }
  if (o.ao_competence_transferred() && o.parent_epci().empty()) {
    violations.Add(prefix + "ao_competence_transferred",
                   "a commune transfers the AO competence to its EPCI: set parent_epci");
  }
  std::set<int> vintages;
  for (int i = 0; i < o.populations_size(); ++i) {
    const auto& p = o.populations(i);
    const std::string field = prefix + "populations[" + std::to_string(i) + "]";
    if (p.vintage() < 1900 || p.vintage() > 2200) {
      violations.Add(field + ".vintage", "must be a year between 1900 and 2200");
    } else if (!vintages.insert(p.vintage()).second) {
      violations.Add(field + ".vintage", "vintage given twice");
    }
    if (p.municipale() < 0) violations.Add(field + ".municipale", "must not be negative");
    if (p.totale() < 0) violations.Add(field + ".totale", "must not be negative");
    if (p.totale() > 0 && p.totale() < p.municipale()) {
      violations.Add(field + ".totale", "the population totale includes the municipale");
    }
  }
}

void ValidateRepresentative(const v1::Representative& r, const std::string& prefix,
                            Violations& violations) {
  CheckText(r.person_name(), prefix + "person_name", 1, 200, violations);
  CheckText(r.title(), prefix + "title", 1, 200, violations);
  auto start = ParseDate(r.mandate_start(), prefix + "mandate_start", violations, false);
  auto end = ParseDate(r.mandate_end(), prefix + "mandate_end", violations, false);
  if (start && end && *end < *start) {
    violations.Add(prefix + "mandate_end", "must not be before mandate_start");
  }
}

}  // namespace ctg::partners
