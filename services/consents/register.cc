#include "consents/register.h"

#include "common/log.h"
#include "common/tabular.h"
#include "consents/consent_rules.h"

namespace ctg::consents {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : " ; ") + i;
  return out.empty() ? "—" : out;
}

std::string LegalBasisText(v1::LegalBasis b) {
  switch (b) {
    case v1::CONSENT:
      return "Consentement (art. 6.1.a RGPD)";
    case v1::CONTRACT:
      return "Exécution d'un contrat (art. 6.1.b)";
    case v1::LEGAL_OBLIGATION:
      return "Obligation légale (art. 6.1.c)";
    case v1::VITAL_INTERESTS:
      return "Sauvegarde des intérêts vitaux (art. 6.1.d)";
    case v1::PUBLIC_INTEREST_TASK:
      return "Mission d'intérêt public (art. 6.1.e)";
    case v1::LEGITIMATE_INTEREST:
      return "Intérêt légitime (art. 6.1.f)";
    default:
      return "—";
  }
}

std::string SubjectText(v1::DataSubject s) {
  switch (s) {
    case v1::ALLOCATAIRES:
      return "Allocataires";
    case v1::ENFANTS:
      return "Enfants";
    case v1::FAMILLES:
      return "Familles";
    case v1::AGENTS:
      return "Agents";
    case v1::USAGERS:
      return "Usagers";
    case v1::PROFESSIONNELS:
      return "Professionnels";
    default:
      return "—";
  }
}

std::string CategoryText(v1::DataCategory c) {
  switch (c) {
    case v1::IDENTITY:
      return "État civil, identité";
    case v1::CONTACT:
      return "Coordonnées";
    case v1::FAMILY_SITUATION:
      return "Situation familiale";
    case v1::ECONOMIC_FINANCIAL:
      return "Informations d'ordre économique et financier";
    case v1::SOCIAL_BENEFITS:
      return "Prestations sociales";
    case v1::LOCATION:
      return "Données de localisation";
    case v1::CHILDCARE:
      return "Mode d'accueil des enfants";
    case v1::EDUCATION:
      return "Scolarité";
    case v1::PROFESSIONAL:
      return "Vie professionnelle";
    case v1::NIR:
      return "Numéro d'inscription au répertoire (NIR)";
    case v1::HEALTH:
      return "Santé";
    case v1::DISABILITY:
      return "Handicap";
    case v1::ETHNIC_ORIGIN:
      return "Origine raciale ou ethnique";
    case v1::RELIGION:
      return "Convictions religieuses ou philosophiques";
    case v1::POLITICAL_OPINION:
      return "Opinions politiques";
    case v1::TRADE_UNION:
      return "Appartenance syndicale";
    case v1::SEXUAL_LIFE:
      return "Vie sexuelle ou orientation sexuelle";
    case v1::GENETIC:
      return "Données génétiques";
    case v1::BIOMETRIC:
      return "Données biométriques";
    case v1::OFFENCES:
      return "Infractions, condamnations";
    default:
      return "—";
  }
}

std::string ConditionText(v1::SpecialCategoryCondition c) {
  switch (c) {
    case v1::EXPLICIT_CONSENT:
      return "Consentement explicite (art. 9.2.a)";
    case v1::EMPLOYMENT_SOCIAL_PROTECTION:
      return "Protection sociale (art. 9.2.b)";
    case v1::VITAL_INTERESTS_INCAPABLE:
      return "Intérêts vitaux (art. 9.2.c)";
    case v1::SUBSTANTIAL_PUBLIC_INTEREST:
      return "Intérêt public important (art. 9.2.g)";
    case v1::HEALTH_OR_SOCIAL_CARE:
      return "Prise en charge sanitaire ou sociale (art. 9.2.h)";
    case v1::PUBLIC_HEALTH:
      return "Santé publique (art. 9.2.i)";
    case v1::ARCHIVING_RESEARCH_STATISTICS:
      return "Archives, recherche, statistiques (art. 9.2.j)";
    default:
      return "—";
  }
}

std::string RetentionText(const v1::Retention& r) {
  const char* unit = r.unit() == v1::DAYS ? "jour(s)" : r.unit() == v1::MONTHS ? "mois" : "an(s)";
  const char* end = r.end() == v1::DELETION        ? "suppression"
                    : r.end() == v1::ANONYMISATION ? "anonymisation"
                                                   : "archivage intermédiaire";
  return std::to_string(r.duration()) + " " + unit + ", puis " + end;
}

std::string SafeguardText(v1::TransferSafeguard s) {
  switch (s) {
    case v1::ADEQUACY_DECISION:
      return "décision d'adéquation";
    case v1::STANDARD_CONTRACTUAL_CLAUSES:
      return "clauses contractuelles types";
    case v1::BINDING_CORPORATE_RULES:
      return "règles d'entreprise contraignantes";
    default:
      return "—";
  }
}

std::string DateText(const google::type::Date& d) {
  char out[16];
  std::snprintf(out, sizeof out, "%02d/%02d/%04d", d.day(), d.month(), d.year());
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> RegisterFields(const RegisterEntry& e) {
  const auto& r = e.request;
  std::vector<std::string> subjects, categories, sensitive, transfers;
  bool nir = false;
  for (int s : r.data_subjects()) subjects.push_back(SubjectText(static_cast<v1::DataSubject>(s)));
  for (int c : r.data_categories()) {
    const auto category = static_cast<v1::DataCategory>(c);
    if (IsSpecialCategory(category)) {
      sensitive.push_back(CategoryText(category));
    } else {
      categories.push_back(CategoryText(category));
    }
    nir = nir || category == v1::NIR;
  }
  for (const auto& t : r.transfers()) {
    transfers.push_back(t.country() + " — " + t.recipient() + " (" + SafeguardText(t.safeguard()) +
                        ")");
  }
  std::string sensitive_text = Join(sensitive);
  if (!sensitive.empty())
    sensitive_text += " — condition : " + ConditionText(r.special_category_condition());
  std::vector<std::string> recipients(r.recipients().begin(), r.recipients().end());
  if (!e.receives) recipients.push_back(e.counterpart + " (destinataire de la communication)");
  return {
      {"Nom du traitement", r.title()},
      {"Référence", r.name()},
      {"Nature", e.receives ? "Traitement créé par la réception de données de " + e.counterpart
                            : "Communication de données à " + e.counterpart},
      {"Finalité", r.purpose()},
      {"Base légale", LegalBasisText(r.legal_basis())},
      {"Justification de la base légale", r.legal_basis_justification()},
      {"Catégories de personnes concernées", Join(subjects)},
      {"Catégories de données", Join(categories)},
      {"Données sensibles", sensitive_text},
      {"NIR", nir ? "Oui — " + r.nir_authorisation() : "Non"},
      {"Durée de conservation", RetentionText(r.retention())},
      {"Destinataires", Join(recipients)},
      {"Sous-traitants", Join({r.processors().begin(), r.processors().end()})},
      {"Transferts hors Union européenne", transfers.empty() ? "Aucun" : Join(transfers)},
      {"Mesures de sécurité", Join({r.security_measures().begin(), r.security_measures().end()})},
      {"Période", "du " + DateText(r.start_date()) + " au " + DateText(r.end_date())},
      {"Avis du DPO", v1::OpinionVerdict_Name(r.opinion().verdict())},
      {"État", v1::ExchangeState_Name(r.state())},
      {"Données de démonstration", r.demonstration() ? "Oui" : "Non"},
  };
}

std::string RegisterCsv(const Register& reg) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : reg.entries) {
    const auto fields = RegisterFields(e);
    if (rows.empty()) {
      std::vector<std::string> header = {"Organisme"};
      for (const auto& [label, value] : fields) header.push_back(label);
      rows.push_back(header);
    }
    std::vector<std::string> row = {reg.organisation};
    for (const auto& [label, value] : fields) row.push_back(value);
    rows.push_back(row);
  }
  if (rows.empty()) rows.push_back({"Organisme", "Nom du traitement"});
  return WriteCsv(rows);
}

std::string RegisterJson(const Register& reg) {
  std::string out = "{\"organisme\":\"";
  AppendJsonEscaped(out, reg.organisation);
  out += "\",\"reference\":\"";
  AppendJsonEscaped(out, reg.organisation_name);
  out += "\",\"date\":\"" + reg.generated_at + "\",\"traitements\":[";
  for (size_t i = 0; i < reg.entries.size(); ++i) {
    out += i ? ",{" : "{";
    bool first = true;
    for (const auto& [label, value] : RegisterFields(reg.entries[i])) {
      out += first ? "\"" : ",\"";
      first = false;
      AppendJsonEscaped(out, label);
      out += "\":\"";
      AppendJsonEscaped(out, value);
      out += "\"";
    }
    out += "}";
  }
  return out + "]}";
}

std::string RegisterXlsx(const Register& reg, std::chrono::system_clock::time_point created) {
  using Style = XlsxWorkbook::Style;
  XlsxWorkbook book("Registre des activités de traitement (art. 30 RGPD)", reg.organisation,
                    created);
  const int common = book.AddSheet("Registre");
  book.SetColumn(common, 0, 40, Style::kText);
  book.SetColumn(common, 1, 80, Style::kText);
  int row = 0;
  book.WriteText(common, row++, 0, "Registre des activités de traitement", Style::kHeader);
  book.WriteText(common, row, 0, "Organisme", Style::kHeader);
  book.WriteText(common, row++, 1, reg.organisation, Style::kText);
  book.WriteText(common, row, 0, "Délégué à la protection des données", Style::kHeader);
  book.WriteText(common, row++, 1, "à compléter par l'organisme", Style::kText);
  book.WriteText(common, row, 0, "Date", Style::kHeader);
  book.WriteText(common, row++, 1, reg.generated_at, Style::kText);
  ++row;
  book.WriteText(common, row, 0, "Traitement", Style::kHeader);
  book.WriteText(common, row++, 1, "Nature", Style::kHeader);
  for (size_t i = 0; i < reg.entries.size(); ++i) {
    const auto fields = RegisterFields(reg.entries[i]);
    book.WriteText(common, row, 0, fields[0].second, Style::kText);
    book.WriteText(common, row++, 1, fields[2].second, Style::kText);
    const int sheet = book.AddSheet("Traitement " + std::to_string(i + 1));
    book.SetColumn(sheet, 0, 40, Style::kText);
    book.SetColumn(sheet, 1, 90, Style::kText);
    int r = 0;
    for (const auto& [label, value] : fields) {
      book.WriteText(sheet, r, 0, label, Style::kHeader);
      book.WriteText(sheet, r++, 1, value, Style::kText);
    }
  }
  return book.Finish();
}

}  // namespace ctg::consents
