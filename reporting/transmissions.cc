// Agreements and transmissions to the CDSF (convention art. 8 and 11): SQL first, then the RPCs
// of ReportingService that use them.
#include "reporting/transmissions.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/api.h"
#include "common/auth.h"
#include "common/errors.h"
#include "reporting/outbox.h"
#include "reporting/service.h"

namespace ctg::reporting {
namespace {

namespace pv1 = ::ctg::partners::v1;

const std::vector<PreparedStatement> kStatements = {
    {"agreement_insert",
     "INSERT INTO agreements (report, collectivity, agreed_by, agreed_on, reference, recorded_by, "
     "recorded_at) VALUES ($1::uuid, $2, $3, $4::date, $5, $6, 'epoch'::timestamptz + $7::bigint "
     "* interval '1 microsecond') ON CONFLICT (report, collectivity) DO NOTHING"},
    {"agreements_of",
     "SELECT report::text, collectivity, agreed_by, agreed_on::text, reference, recorded_by, "
     "(extract(epoch FROM recorded_at) * 1000000)::bigint FROM agreements WHERE report = "
     "$1::uuid ORDER BY seq"},
    {"transmission_insert",
     "INSERT INTO transmissions (id, report, by_signatories, sender, sent_by, recipient, channel, "
     "package, manifest_sha256, sent_at) VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9, "
     "'epoch'::timestamptz + $10::bigint * interval '1 microsecond') ON CONFLICT (report) DO "
     "NOTHING"},
    {"transmission_of",
     "SELECT id::text, report::text, by_signatories, sender, sent_by, recipient, channel, "
     "package, manifest_sha256, (extract(epoch FROM sent_at) * 1000000)::bigint, "
     "coalesce(acknowledged_on::text, ''), acknowledgement FROM transmissions WHERE report = "
     "$1::uuid"},
    {"transmission_acknowledge",
     "UPDATE transmissions SET acknowledged_on = $2::date, acknowledgement = $3 WHERE report = "
     "$1::uuid AND acknowledged_on IS NULL"},
};

google::protobuf::Timestamp AtMicros(int64_t micros) {
  return TimestampAt(std::chrono::system_clock::time_point(std::chrono::microseconds(micros)));
}

}  // namespace

const std::vector<PreparedStatement>& TransmissionStatements() { return kStatements; }

std::vector<v1::Agreement> AgreementsOf(pqxx::transaction_base& tx, const std::string& report_id) {
  std::vector<v1::Agreement> out;
  for (const auto& row : tx.exec_prepared("agreements_of", report_id)) {
    v1::Agreement a;
    a.set_report(ResourceName("reports", row[0].as<std::string>()));
    a.set_collectivity(row[1].as<std::string>());
    a.set_agreed_by(row[2].as<std::string>());
    *a.mutable_agreed_on() = CivilDate::Parse(row[3].as<std::string>()).ToProto();
    a.set_reference(row[4].as<std::string>());
    a.set_recorded_by(row[5].as<std::string>());
    *a.mutable_record_time() = AtMicros(row[6].as<int64_t>());
    out.push_back(std::move(a));
  }
  return out;
}

std::optional<v1::Transmission> TransmissionOf(pqxx::transaction_base& tx,
                                               const std::string& report_id) {
  const auto r = tx.exec_prepared("transmission_of", report_id);
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  v1::Transmission t;
  t.set_name(ResourceName("transmissions", row[0].as<std::string>()));
  t.set_report(ResourceName("reports", row[1].as<std::string>()));
  t.set_by_signatories(row[2].as<bool>());
  t.set_sender(row[3].as<std::string>());
  t.set_sent_by(row[4].as<std::string>());
  t.set_recipient(row[5].as<std::string>());
  t.set_channel(row[6].as<std::string>());
  t.set_package(row[7].as<std::string>());
  t.set_manifest_sha256(row[8].as<std::string>());
  *t.mutable_send_time() = AtMicros(row[9].as<int64_t>());
  if (const std::string on = row[10].as<std::string>(); !on.empty()) {
    *t.mutable_acknowledged_on() = CivilDate::Parse(on).ToProto();
  }
  t.set_acknowledgement(row[11].as<std::string>());
  return t;
}

std::string PackageManifest(const std::string& report, const std::string& sender,
                            const std::string& recipient, const std::string& channel,
                            const std::string& sent_at,
                            const std::vector<std::pair<std::string, std::string>>& files) {
  google::protobuf::Struct m;
  auto& f = *m.mutable_fields();
  f["rapport"].set_string_value(report);
  f["expediteur"].set_string_value(sender);
  f["destinataire"].set_string_value(recipient);
  f["canal"].set_string_value(channel);
  f["envoye_le"].set_string_value(sent_at);
  auto* list = f["fichiers"].mutable_list_value();
  for (const auto& [name, content] : files) {
    auto& entry = *list->add_values()->mutable_struct_value()->mutable_fields();
    entry["nom"].set_string_value(name);
    entry["octets"].set_number_value(static_cast<double>(content.size()));
    entry["sha256"].set_string_value(Sha256Hex(content));
  }
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  return json;
}

// ---- RPCs ------------------------------------------------------------------------------------

void ReportingService::RecordAgreement(const CallContext& call,
                                       const v1::RecordAgreementRequest& req, v1::Agreement& resp) {
  Violations v;
  ParseResourceName(req.collectivity(), "organisations", "collectivity", v);
  CheckText(req.agreed_by(), "agreed_by", 1, 200, v);
  CheckText(req.reference(), "reference", 1, 200, v);
  const auto agreed_on = ParseDate(req.agreed_on(), "agreed_on", v, true);
  if (agreed_on && CivilDate::InParis(call.now) < *agreed_on) {
    v.Add("agreed_on", "not after today");
  }
  v.ThrowIfAny();
  const StoredReport report = SeenReport(call.principal, req.report(), "report");
  ReportScope scope;
  const auto convention = SeenConvention(call.principal, report.key.convention, "report", &scope);
  const std::string& org = call.principal.organisation;
  const bool own = call.principal.Has(Role::kCollectivityAgent) && org == req.collectivity();
  const bool secretariat =
      call.principal.Has(Role::kCopilSecretariat) && !org.empty() && org == convention.secretariat;
  if (!own && !secretariat) {
    throw PermissionDeniedError(
        "an agreement is recorded by an agent of the collectivity or by the secretariat");
  }
  if (!partners_.AoCollectivities(convention, CivilDate::Parse(report.key.cutoff))
           .count(req.collectivity())) {
    throw FailedPreconditionError(req.collectivity() +
                                  " is not an AO collectivity of the convention");
  }
  bool inserted = false;
  WithAutocommit(pool_, [&](pqxx::transaction_base& tx) {
    inserted = tx.exec_prepared("agreement_insert", report.id, req.collectivity(), req.agreed_by(),
                                agreed_on->ToString(), req.reference(), call.principal.subject,
                                MicrosSinceEpoch(call.now))
                   .affected_rows() == 1;
  });
  if (!inserted) {
    throw AlreadyExistsError("the agreement of " + req.collectivity() + " is recorded already");
  }
  resp.set_report(req.report());
  resp.set_collectivity(req.collectivity());
  resp.set_collectivity_name(partners_.DisplayNames({req.collectivity()}).at(req.collectivity()));
  resp.set_agreed_by(req.agreed_by());
  *resp.mutable_agreed_on() = agreed_on->ToProto();
  resp.set_reference(req.reference());
  resp.set_recorded_by(call.principal.subject);
  *resp.mutable_record_time() = TimestampAt(call.now);
}

void ReportingService::ListAgreements(const CallContext& call, const v1::ListAgreementsRequest& req,
                                      v1::ListAgreementsResponse& resp) {
  const StoredReport report = SeenReport(call.principal, req.report(), "report");
  ReportScope scope;
  const auto convention = SeenConvention(call.principal, report.key.convention, "report", &scope);
  std::set<std::string> missing =
      partners_.AoCollectivities(convention, CivilDate::Parse(report.key.cutoff));
  std::vector<v1::Agreement> agreements;
  WithSingleStatementRead(
      pool_, [&](pqxx::transaction_base& tx) { agreements = AgreementsOf(tx, report.id); });
  std::set<std::string> names;
  for (const auto& a : agreements) names.insert(a.collectivity());
  const auto display = partners_.DisplayNames(names);
  for (auto& a : agreements) {
    missing.erase(a.collectivity());
    a.set_collectivity_name(display.at(a.collectivity()));
    *resp.add_agreements() = std::move(a);
  }
  for (const auto& m : missing) resp.add_missing(m);
}

void ReportingService::TransmitReport(const CallContext& call, const v1::TransmitReportRequest& req,
                                      v1::Transmission& resp) {
  Violations v;
  ParseResourceName(req.recipient(), "organisations", "recipient", v);
  if (req.by_signatories()) {
    CheckText(req.channel(), "channel", 1, 100, v);
  } else if (!req.channel().empty()) {
    v.Add("channel", "only for a transmission by the signatories (the Caf's goes to the outbox)");
  }
  v.ThrowIfAny();
  const StoredReport report = SeenReport(call.principal, req.report(), "report");
  ReportScope scope;
  const auto convention = SeenConvention(call.principal, report.key.convention, "report", &scope);
  const std::string& org = call.principal.organisation;
  if (req.by_signatories()) {
    if (!scope.request || call.principal.Has(Role::kService)) {
      throw PermissionDeniedError("recorded by an agent of a party or of the secretariat");
    }
  } else if (!call.principal.Has(Role::kCafAgent) || !convention.cafs.count(org)) {
    throw PermissionDeniedError("the Caf's sending is recorded by an agent of a Caf party");
  }
  // The recipient must be a CDSF.
  {
    pv1::GetOrganisationRequest get;
    get.set_name(req.recipient());
    pv1::Organisation recipient;
    grpc::ClientContext context;
    identity_.Prepare(context);
    const auto status = partners_stub_->GetOrganisation(&context, get, &recipient);
    if (!status.ok()) ThrowDependencyError(status, "recipient: " + req.recipient());
    if (recipient.kind() != pv1::CDSF) {
      Violations r;
      r.Add("recipient", "a CDSF (comité départemental des services aux familles)");
      r.ThrowIfAny();
    }
  }
  std::optional<v1::Transmission> sent;
  std::vector<v1::Agreement> agreements;
  WithReadTransaction(pool_, [&](pqxx::transaction_base& tx) {
    sent = TransmissionOf(tx, report.id);
    agreements = AgreementsOf(tx, report.id);
  });
  if (sent) throw AlreadyExistsError(req.report() + " was sent already");
  std::string package, manifest_sha, channel = req.channel();
  if (!req.by_signatories()) {
    std::set<std::string> missing =
        partners_.AoCollectivities(convention, CivilDate::Parse(report.key.cutoff));
    for (const auto& a : agreements) missing.erase(a.collectivity());
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      throw FailedPreconditionError(
          "the Caf sends with the express agreement of every AO "
          "collectivity; still missing: " +
          list);
    }
    if (outbox_.empty()) {
      throw FailedPreconditionError("no outbox is configured (--report-outbox-dir)");
    }
    std::vector<ArtefactFile> files;
    WithReadTransaction(pool_, [&](pqxx::transaction_base& tx) {
      for (const auto& a : report.artefacts) {
        files.push_back(
            {a.name, a.media_type, ReadArtefact(tx, report.id, a.name).value_or(""), a.sha256});
      }
    });
    std::vector<std::pair<std::string, std::string>> contents;
    for (const auto& f : files) contents.emplace_back(f.name, f.content);
    channel = "outbox";
    const std::string manifest = PackageManifest(
        req.report(), org, req.recipient(), channel,
        google::protobuf::util::TimeUtil::ToString(TimestampAt(call.now)), contents);
    package = "ctg-" + report.id;
    bool placed = false;
    try {
      placed = PlacePackage(outbox_, package, files, manifest);
    } catch (const OutboxError& e) {
      throw UnavailableError(std::string("the outbox cannot be written; nothing was sent: ") +
                             e.what());
    }
    if (placed) {
      manifest_sha = Sha256Hex(manifest);
    } else {
      // Placed by an earlier attempt that could not record it: the package is the record.
      std::ifstream in(outbox_ + "/" + package + "/manifest.json", std::ios::binary);
      std::stringstream existing;
      existing << in.rdbuf();
      manifest_sha = Sha256Hex(existing.str());
    }
  }
  bool recorded = false;
  const std::string id = NewUuid();
  WithAutocommit(pool_, [&](pqxx::transaction_base& tx) {
    recorded = tx.exec_prepared("transmission_insert", id, report.id, req.by_signatories(), org,
                                call.principal.subject, req.recipient(), channel, package,
                                manifest_sha, MicrosSinceEpoch(call.now))
                   .affected_rows() == 1;
  });
  if (!recorded) throw AlreadyExistsError(req.report() + " was sent already");
  WithSingleStatementRead(
      pool_, [&](pqxx::transaction_base& tx) { resp = *TransmissionOf(tx, report.id); });
}

void ReportingService::AcknowledgeTransmission(const CallContext& call,
                                               const v1::AcknowledgeTransmissionRequest& req,
                                               v1::Transmission& resp) {
  Violations v;
  CheckText(req.acknowledgement(), "acknowledgement", 1, 500, v);
  const auto on = ParseDate(req.acknowledged_on(), "acknowledged_on", v, true);
  if (on && CivilDate::InParis(call.now) < *on) v.Add("acknowledged_on", "not after today");
  v.ThrowIfAny();
  const StoredReport report = SeenReport(call.principal, req.report(), "report");
  ReportScope scope;
  const auto convention = SeenConvention(call.principal, report.key.convention, "report", &scope);
  std::optional<v1::Transmission> sent;
  WithSingleStatementRead(
      pool_, [&](pqxx::transaction_base& tx) { sent = TransmissionOf(tx, report.id); });
  if (!sent) throw FailedPreconditionError(req.report() + " has not been sent");
  const std::string& org = call.principal.organisation;
  const bool allowed =
      (call.principal.Has(Role::kCdsf) && org == sent->recipient()) ||
      (call.principal.Has(Role::kCopilSecretariat) && org == convention.secretariat) ||
      (!org.empty() && org == sent->sender());
  if (!allowed) {
    throw PermissionDeniedError(
        "acknowledged by the CDSF it was sent to, the sender or the secretariat");
  }
  bool changed = false;
  WithAutocommit(pool_, [&](pqxx::transaction_base& tx) {
    changed = tx.exec_prepared("transmission_acknowledge", report.id, on->ToString(),
                               req.acknowledgement())
                  .affected_rows() == 1;
  });
  if (!changed) throw FailedPreconditionError("the transmission is acknowledged already");
  WithSingleStatementRead(
      pool_, [&](pqxx::transaction_base& tx) { resp = *TransmissionOf(tx, report.id); });
}

}  // namespace ctg::reporting
