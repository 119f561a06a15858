#include "partners/convention_import.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>

#include "common/api.h"
#include "common/tabular.h"
#include "partners/organisation_rules.h"

namespace ctg::partners {

namespace v1 = ::ctg::partners::v1;

namespace {

// ---- CSV ----

[[noreturn]] void Malformed(int line, const std::string& what) {
  throw std::invalid_argument("line " + std::to_string(line) + ": " + what);
}

std::string Trim(std::string_view s) { return std::string(TrimSpace(s)); }

// A population cell: digits only; nullopt when empty.
std::optional<int64_t> ParseCount(const std::string& cell, int line, const std::string& column) {
  if (cell.empty()) return std::nullopt;
  if (cell.size() > 12 || cell.find_first_not_of("0123456789") != std::string::npos) {
    Malformed(line, column + " must be a non-negative integer, got \"" + cell + "\"");
  }
  return std::stoll(cell);
}

// "pmun_2023" -> 2023 when the column has that prefix and a 4-digit year; 0 otherwise.
int VintageOf(const std::string& column, const std::string& prefix) {
  if (column.size() != prefix.size() + 4 || column.compare(0, prefix.size(), prefix) != 0) {
    return 0;
  }
  const auto year = column.substr(prefix.size());
  if (year.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::stoi(year);
}

// ---- Names ----

// Lower-case ASCII form of one UTF-8 letter starting at text[i] (advancing i), for the French
// accented letters; nullptr when not one of them.
const char* FoldAccent(std::string_view text, size_t& i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (i + 1 >= text.size()) return nullptr;
  const auto b1 = static_cast<unsigned char>(text[i + 1]);
  if (b0 == 0xC3) {
    const unsigned char lower = (b1 >= 0x80 && b1 <= 0x9E) ? b1 + 0x20 : b1;
    const char* out = nullptr;
    switch (lower) {
      case 0xA0:  // à
      case 0xA2:  // â
      case 0xA4:  // ä
        out = "a";
        break;
      case 0xA7:  // ç
        out = "c";
        break;
      case 0xA8:  // è
      case 0xA9:  // é
      case 0xAA:  // ê
      case 0xAB:  // ë
        out = "e";
        break;
      case 0xAE:  // î
      case 0xAF:  // ï
        out = "i";
        break;
      case 0xB4:  // ô
      case 0xB6:  // ö
        out = "o";
        break;
      case 0xB9:  // ù
      case 0xBB:  // û
      case 0xBC:  // ü
        out = "u";
        break;
      default:
        break;
    }
    if (out != nullptr) ++i;
    return out;
  }
  if (b0 == 0xC5 && (b1 == 0x92 || b1 == 0x93)) {  // Œ œ
    ++i;
    return "oe";
  }
  return nullptr;
}

// True when text[i..] is a typographic apostrophe (’ or ‘), advancing i past its first bytes.
bool TypographicApostrophe(std::string_view text, size_t& i) {
  if (i + 2 < text.size() && static_cast<unsigned char>(text[i]) == 0xE2 &&
      static_cast<unsigned char>(text[i + 1]) == 0x80 &&
      (static_cast<unsigned char>(text[i + 2]) == 0x99 ||
       static_cast<unsigned char>(text[i + 2]) == 0x98)) {
    i += 2;
    return true;
  }
  return false;
}

// "de Agmé" reads "d’Agmé", "de Le Mas" reads "du Mas".
std::string OfCommune(const std::string& name) {
  if (name.rfind("Le ", 0) == 0) return "du " + name.substr(3);
  if (name.rfind("Les ", 0) == 0) return "des " + name.substr(4);
  if (!name.empty() && (std::string("AEIOUYH").find(name[0]) != std::string::npos ||
                        name.rfind("\xC3\x89", 0) == 0)) {
    return "d\xE2\x80\x99" + name;
  }
  return "de " + name;
}

std::string Quoted(const std::string& s) { return "\xC2\xAB\xC2\xA0" + s + "\xC2\xA0\xC2\xBB"; }

bool IsCommuneBlock(int kind) { return kind == v1::COMMUNE; }

}  // namespace

std::vector<v1::MemberCommune> ReadMemberCommunesCsv(std::istream& in) {
  const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const Sheet sheet = ReadCsv(content);
  if (!sheet.errors.empty()) Malformed(std::max(sheet.errors[0].row, 1), sheet.errors[0].message);
  std::vector<std::string> header;
  // Column positions.
  int insee_col = -1, siren_col = -1, name_col = -1;
  std::map<int, int> pmun_cols, ptot_cols;  // vintage -> column
  std::vector<v1::MemberCommune> out;
  std::set<std::string> seen;
  for (const auto& [line, cells] : sheet.cells) {
    std::vector<std::string> fields(sheet.width.at(line));
    for (const auto& [col, text] : cells) fields[col] = Trim(text);
    bool blank = true;
    for (const auto& f : fields) blank = blank && f.empty();
    if (blank) continue;
    if (header.empty()) {
      header = fields;
      for (size_t i = 0; i < header.size(); ++i) {
        const auto& col = header[i];
        const int idx = static_cast<int>(i);
        int* fixed = col == "insee_code"      ? &insee_col
                     : col == "siren_commune" ? &siren_col
                     : col == "name"          ? &name_col
                                              : nullptr;
        if (fixed != nullptr) {
          if (*fixed != -1) Malformed(line, "column " + col + " given twice");
          *fixed = idx;
        } else if (int v = VintageOf(col, "pmun_")) {
          if (!pmun_cols.emplace(v, idx).second) Malformed(line, "column " + col + " twice");
        } else if (int v = VintageOf(col, "ptot_")) {
          if (!ptot_cols.emplace(v, idx).second) Malformed(line, "column " + col + " twice");
        } else {
          Malformed(line, "unknown column \"" + col + "\"");
        }
      }
      if (insee_col < 0 || siren_col < 0 || name_col < 0) {
        Malformed(line, "the header needs the columns insee_code, siren_commune and name");
      }
      for (const auto& [vintage, col] : ptot_cols) {
        if (!pmun_cols.count(vintage)) {
          Malformed(line,
                    "ptot_" + std::to_string(vintage) + " without pmun_" + std::to_string(vintage));
        }
      }
      continue;
    }
    if (fields.size() != header.size()) {
      Malformed(line, "expected " + std::to_string(header.size()) + " fields, got " +
                          std::to_string(fields.size()));
    }
    v1::MemberCommune c;
    c.set_insee_code(fields[insee_col]);
    if (!IsValidInseeCode(c.insee_code())) {
      Malformed(line, "invalid INSEE code \"" + c.insee_code() + "\"");
    }
    if (!seen.insert(c.insee_code()).second) {
      Malformed(line, "INSEE code " + c.insee_code() + " given twice");
    }
    c.set_siren(fields[siren_col]);
    if (!c.siren().empty() && !IsValidSiren(c.siren())) {
      Malformed(line, "invalid SIREN \"" + c.siren() + "\"");
    }
    c.set_display_name(fields[name_col]);
    if (c.display_name().empty()) Malformed(line, "empty name");
    for (const auto& [vintage, col] : pmun_cols) {
      const auto municipale = ParseCount(fields[col], line, header[col]);
      std::optional<int64_t> totale;
      auto tot = ptot_cols.find(vintage);
      if (tot != ptot_cols.end())
        totale = ParseCount(fields[tot->second], line, header[tot->second]);
      if (!municipale) {
        if (totale) Malformed(line, header[tot->second] + " given without " + header[col]);
        continue;
      }
      auto* p = c.add_populations();
      p->set_vintage(vintage);
      p->set_municipale(*municipale);
      p->set_totale(totale.value_or(0));
    }
    out.push_back(std::move(c));
  }
  if (header.empty()) throw std::invalid_argument("line 1: empty file, a header is expected");
  return out;
}

std::string NormaliseCommuneName(std::string_view name) {
  // 1. Fold case and accents; separators become spaces; apostrophes end their word.
  std::string folded;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (const char* ascii = FoldAccent(name, i)) {
      folded += ascii;
    } else if (c == '\'' || TypographicApostrophe(name, i)) {
      folded += "' ";
    } else if (c == '/') {
      folded += " sur ";
    } else if (c == '-' || c == ' ' || c == '.' || c == ',' || c == '\t') {
      folded += ' ';
    } else if (c >= 'A' && c <= 'Z') {
      folded += static_cast<char>(c - 'A' + 'a');
    } else {
      folded += c;
    }
  }
  // 2. Words, with the abbreviations of saint spelt out.
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < folded.size()) {
    const auto start = folded.find_first_not_of(' ', pos);
    if (start == std::string::npos) break;
    auto end = folded.find(' ', start);
    if (end == std::string::npos) end = folded.size();
    std::string word = folded.substr(start, end - start);
    if (word == "st") word = "saint";
    if (word == "ste") word = "sainte";
    words.push_back(word);
    pos = end;
  }
  // 3. A leading preposition, then a leading article.
  size_t first = 0;
  auto drop_if = [&](std::initializer_list<const char*> candidates) {
    if (first + 1 >= words.size()) return;
    for (const char* w : candidates) {
      if (words[first] == w) {
        ++first;
        return;
      }
    }
  };
  drop_if({"de", "d'", "du", "des"});
  drop_if({"le", "la", "les", "l'"});
  // 4. Join without apostrophes.
  std::string out;
  for (size_t i = first; i < words.size(); ++i) {
    for (const char c : words[i]) {
      if (c != '\'') out += c;
    }
  }
  return out;
}

int MatchCommuneName(std::string_view written, const std::vector<std::string>& official_names) {
  const auto key = NormaliseCommuneName(written);
  if (key.empty()) return -1;
  std::vector<std::string> keys;
  keys.reserve(official_names.size());
  for (const auto& n : official_names) keys.push_back(NormaliseCommuneName(n));
  int exact = -1;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) {
      if (exact != -1) return -1;  // two communes with one name: ambiguous
      exact = static_cast<int>(i);
    }
  }
  if (exact != -1) return exact;
  int prefix = -1;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].compare(0, key.size(), key) == 0) {
      if (prefix != -1) return -1;
      prefix = static_cast<int>(i);
    }
  }
  return prefix;
}

ImportPlan PlanImport(const v1::ImportConventionRequest& req) {
  ImportPlan plan;
  std::vector<std::string> official;
  for (const auto& m : req.member_communes()) official.push_back(m.display_name());
  const size_t members = official.size();
  plan.member_listed.assign(members, false);
  plan.member_signed.assign(members, false);
  plan.communes_loaded = static_cast<int>(members);

  std::vector<PlannedWarning> unknown, not_listed, unsigned_parties, signature_only, counts;

  // Parties.
  std::vector<int> first_block(members, -1);
  std::set<int> party_kinds;
  for (int i = 0; i < req.parties_size(); ++i) {
    const auto& p = req.parties(i);
    int member = -1;
    int duplicate = -1;
    if (IsCommuneBlock(p.kind())) {
      ++plan.communes_listed_as_parties;
      member = MatchCommuneName(p.written_name(), official);
      if (member < 0) {
        unknown.push_back({"UNKNOWN_COMMUNE",
                           "La commune " + Quoted(p.written_name()) +
                               " de la liste des parties ne correspond à aucune commune membre "
                               "de l\xE2\x80\x99"
                               "EPCI.",
                           -1, i});
      } else if (first_block[member] != -1) {
        duplicate = first_block[member];
      } else {
        first_block[member] = i;
        plan.member_listed[member] = true;
      }
    } else {
      party_kinds.insert(p.kind());
    }
    plan.party_member.push_back(member);
    plan.duplicate_of.push_back(duplicate);
  }

  // Signature blocks.
  std::set<int> signed_kinds;
  for (int i = 0; i < req.signature_blocks_size(); ++i) {
    const auto& s = req.signature_blocks(i);
    int member = -1;
    if (IsCommuneBlock(s.kind())) {
      ++plan.commune_signature_blocks;
      member = MatchCommuneName(s.written_name(), official);
      if (member < 0) {
        unknown.push_back({"UNKNOWN_COMMUNE",
                           "Le bloc de signature de la commune " + Quoted(s.written_name()) +
                               " ne correspond à aucune commune membre de l\xE2\x80\x99"
                               "EPCI.",
                           -1, -1});
      } else {
        if (!plan.member_listed[member] && !plan.member_signed[member]) {
          signature_only.push_back({"SIGNATURE_WITHOUT_PARTY",
                                    "La commune " + OfCommune(official[member]) +
                                        " a un bloc de signature (" + Quoted(s.written_name()) +
                                        ") mais ne figure pas dans la liste des parties.",
                                    member, -1});
        }
        plan.member_signed[member] = true;
      }
    } else {
      if (!party_kinds.count(s.kind()) && !signed_kinds.count(s.kind())) {
        signature_only.push_back({"SIGNATURE_WITHOUT_PARTY",
                                  "Le bloc de signature " + Quoted(s.written_name()) +
                                      " ne correspond à aucune partie de la convention.",
                                  -1, -1});
      }
      signed_kinds.insert(s.kind());
    }
    plan.signature_member.push_back(member);
  }

  for (size_t m = 0; m < members; ++m) {
    if (!plan.member_listed[m]) {
      const auto& c = req.member_communes(static_cast<int>(m));
      not_listed.push_back({"MEMBER_NOT_LISTED_AS_PARTY",
                            "La commune " + OfCommune(c.display_name()) + " (INSEE " +
                                c.insee_code() +
                                "), membre de l\xE2\x80\x99"
                                "EPCI, ne figure pas dans la liste "
                                "des parties de la convention.",
                            static_cast<int>(m), -1});
    }
  }
  for (int i = 0; i < req.parties_size(); ++i) {
    const auto& p = req.parties(i);
    const int member = plan.party_member[i];
    if (IsCommuneBlock(p.kind())) {
      if (member >= 0 && plan.duplicate_of[i] < 0 && !plan.member_signed[member]) {
        unsigned_parties.push_back({"PARTY_WITHOUT_SIGNATURE",
                                    "La commune " + OfCommune(official[member]) +
                                        " figure dans la liste des parties mais n\xE2\x80\x99"
                                        "a pas de bloc de "
                                        "signature.",
                                    member, i});
      }
    } else if (!signed_kinds.count(p.kind())) {
      unsigned_parties.push_back({"PARTY_WITHOUT_SIGNATURE",
                                  "La partie " + Quoted(p.written_name()) +
                                      " n\xE2\x80\x99"
                                      "a pas de bloc de signature.",
                                  -1, i});
    }
  }
  if (plan.communes_loaded != plan.communes_listed_as_parties ||
      plan.communes_listed_as_parties != plan.commune_signature_blocks) {
    counts.push_back({"COUNT_MISMATCH",
                      "Le texte est incohérent : l\xE2\x80\x99"
                      "EPCI compte " +
                          std::to_string(plan.communes_loaded) +
                          " communes membres, la liste des parties nomme " +
                          std::to_string(plan.communes_listed_as_parties) +
                          " communes et les pages de signature portent " +
                          std::to_string(plan.commune_signature_blocks) +
                          " blocs de signature de commune.",
                      -1, -1});
  }
  for (auto* group : {&unknown, &not_listed, &unsigned_parties, &signature_only, &counts}) {
    plan.warnings.insert(plan.warnings.end(), group->begin(), group->end());
  }
  return plan;
}

void ValidateImportRequest(const v1::ImportConventionRequest& req, Violations& v) {
  CheckText(req.title(), "title", 1, 300, v);
  auto start = ParseDate(req.start_date(), "start_date", v, true);
  auto end = ParseDate(req.end_date(), "end_date", v, true);
  if (start && end && *end < *start) v.Add("end_date", "must not be before start_date");
  CheckText(req.epci_name(), "epci_name", 1, 200, v);
  if (!req.epci_siren().empty() && !IsValidSiren(req.epci_siren())) {
    v.Add("epci_siren", "must be 9 digits with a valid checksum");
  }
  if (req.parties_size() == 0) v.Add("parties", "at least one party block is required");
  int epci_blocks = 0;
  for (int i = 0; i < req.parties_size(); ++i) {
    const auto& p = req.parties(i);
    const std::string field = "parties[" + std::to_string(i) + "]";
    if (p.kind() == v1::ORGANISATION_KIND_UNSPECIFIED || !v1::OrganisationKind_IsValid(p.kind())) {
      v.Add(field + ".kind", "required: one of EPCI, COMMUNE, CAF, ...");
    }
    if (p.kind() == v1::EPCI && ++epci_blocks > 1) {
      v.Add(field + ".kind", "only one party block is the EPCI's");
    }
    CheckText(p.written_name(), field + ".written_name", 1, 200, v);
    if (p.kind() != v1::COMMUNE && p.kind() != v1::EPCI) {
      CheckText(p.official_name(), field + ".official_name", 1, 200, v);
    }
    if (!p.siren().empty() && !IsValidSiren(p.siren())) {
      v.Add(field + ".siren", "must be 9 digits with a valid checksum");
    }
    for (int j = 0; j < p.representatives_size(); ++j) {
      const std::string rep = field + ".representatives[" + std::to_string(j) + "]";
      CheckText(p.representatives(j).person_name(), rep + ".person_name", 1, 200, v);
      CheckText(p.representatives(j).title(), rep + ".title", 1, 200, v);
    }
  }
  for (int i = 0; i < req.signature_blocks_size(); ++i) {
    const auto& s = req.signature_blocks(i);
    const std::string field = "signature_blocks[" + std::to_string(i) + "]";
    if (s.kind() == v1::ORGANISATION_KIND_UNSPECIFIED || !v1::OrganisationKind_IsValid(s.kind())) {
      v.Add(field + ".kind", "required: one of EPCI, COMMUNE, CAF, ...");
    }
    CheckText(s.written_name(), field + ".written_name", 1, 200, v);
    for (int j = 0; j < s.person_names_size(); ++j) {
      CheckText(s.person_names(j), field + ".person_names[" + std::to_string(j) + "]", 1, 200, v);
    }
  }
  if (req.member_communes_size() == 0) {
    v.Add("member_communes", "required: the official member communes of the EPCI");
  }
  std::set<std::string> insee_codes;
  for (int i = 0; i < req.member_communes_size(); ++i) {
    const auto& m = req.member_communes(i);
    const std::string field = "member_communes[" + std::to_string(i) + "].";
    v1::Organisation o;
    o.set_kind(v1::COMMUNE);
    o.set_display_name(m.display_name());
    o.set_siren(m.siren());
    o.set_insee_code(m.insee_code());
    *o.mutable_populations() = m.populations();
    ValidateOrganisation(o, field, v);
    if (IsValidInseeCode(m.insee_code()) && !insee_codes.insert(m.insee_code()).second) {
      v.Add(field + "insee_code", "this commune is listed twice");
    }
  }
  CheckRequestId(req.request_id(), "request_id", v);
  if (v.empty()) {
    const auto plan = PlanImport(req);
    for (size_t i = 0; i < plan.duplicate_of.size(); ++i) {
      if (plan.duplicate_of[i] >= 0) {
        v.Add(
            "parties[" + std::to_string(i) + "].written_name",
            "designates the same commune as parties[" + std::to_string(plan.duplicate_of[i]) + "]");
      }
    }
  }
}

}  // namespace ctg::partners
