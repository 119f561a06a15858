// consents_bench: the hot path of every exchange, ConsentService/CheckExchange (each check
// audited in its holder's hash chain), next to a bare gRPC echo and PartnerService/GetOrganisation
// measured in the same run, at 1 and 16 calls in flight, with the real binaries (ctg-partners,
// ctg-consents) on a real PostgreSQL (CTG_TEST_ADMIN_URL, set by `./ctg bench`); then
// VerifyAuditChain over 1,000,000 events next to a SQL pass that recomputes the same hashes in
// the database. CTG_BENCH_SECONDS sets the length of each run (default 3); CTG_BENCH_EVENTS the
// number of events verified (default 1,000,000).
#include <google/protobuf/util/json_util.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/api.h"
#include "common/rpc.h"
#include "consents/audit.h"
#include "ctg/consents/v1/consents.grpc.pb.h"
#include "ctg/partners/v1/partners.grpc.pb.h"
#include "e2e_support.h"
#include "gateway/loadgen.h"
#include "gateway/tests/echo_backend.h"

using namespace ctg;
using namespace ctg::e2e;
using Serving = grpc::health::v1::HealthCheckResponse;
namespace pv1 = ::ctg::partners::v1;
namespace cv1 = ::ctg::consents::v1;

namespace {

void Print(const char* label, const gateway::LoadResult& r) {
  std::printf("%-40s %s\n", label, gateway::FormatLoadResult(r).c_str());
  if (!r.first_error.empty()) std::printf("  first error: %s\n", r.first_error.c_str());
}

PGconn* Connect(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c));
  return c;
}

PGresult* Exec(PGconn* c, const std::string& sql, ExecStatusType wanted) {
  PGresult* r = PQexec(c, sql.c_str());
  if (PQresultStatus(r) != wanted) throw std::runtime_error(sql + ": " + PQerrorMessage(c));
  return r;
}

// Writes `count` chained events of one chain straight into the table (COPY), with its head: a
// trail as the service writes it, built without a million RPCs.
void FillAuditTrail(const std::string& url, int64_t count) {
  PGconn* c = Connect(url);
  PQclear(Exec(c, "BEGIN", PGRES_COMMAND_OK));
  PQclear(Exec(c,
               "COPY consents.audit_events (chain, seq, event_time, actor, organisation, "
               "operation, reference, before, after, previous_hash, hash) FROM STDIN",
               PGRES_COPY_IN));
  consents::AuditRecord r;
  r.chain = "7e1f0a4c-2b3d-4e5f-8a9b-0c1d2e3f4a5b";
  r.actor = "bench-caf-agent";
  r.organisation = "organisations/7e1f0a4c-2b3d-4e5f-8a9b-0c1d2e3f4a5b";
  r.operation = "check";
  r.reference = "exchangeRequests/6f2d3c1a-0b4e-4a8f-9c7d-1e2f3a4b5c6d";
  r.before = R"({"requester":"organisations/x","dataCategories":["CHILDCARE"],"purpose":"p"})";
  r.after = R"({"allowed":true,"consent":"exchangeRequests/6f2d3c1a-0b4e-4a8f-9c7d-1e2f3a4b5c6d"})";
  std::string buffer;
  const int64_t base_micros = 1796121750000000;
  for (int64_t n = 1; n <= count; ++n) {
    r.seq = n;
    r.time_micros = base_micros + n;
    r.previous_hash = r.hash;
    r.hash = consents::AuditHash(r);
    const std::string when = TimestampCopyText(r.time_micros);
    buffer += r.chain + '\t' + std::to_string(n) + '\t' + when + '\t' + r.actor + '\t' +
              r.organisation + '\t' + r.operation + '\t' + r.reference + '\t' + r.before + '\t' +
              r.after + '\t' + r.previous_hash + '\t' + r.hash + '\n';
    if (buffer.size() > (1 << 20) || n == count) {
      if (PQputCopyData(c, buffer.data(), static_cast<int>(buffer.size())) != 1) {
        throw std::runtime_error(PQerrorMessage(c));
      }
      buffer.clear();
    }
  }
  PQputCopyEnd(c, nullptr);
  PGresult* done = PQgetResult(c);
  if (PQresultStatus(done) != PGRES_COMMAND_OK) throw std::runtime_error(PQerrorMessage(c));
  PQclear(done);
  PQclear(Exec(c,
               "INSERT INTO consents.audit_heads (chain, seq, hash) VALUES ('" + r.chain + "', " +
                   std::to_string(count) + ", '" + r.hash + "')",
               PGRES_COMMAND_OK));
  PQclear(Exec(c, "COMMIT", PGRES_COMMAND_OK));
  PQclear(Exec(c, "VACUUM ANALYZE consents.audit_events", PGRES_COMMAND_OK));
  PQfinish(c);
}

// The floor: the database recomputing every event's hash and checking each link, in one pass.
double SqlPassSeconds(const std::string& url, int64_t* bad) {
  PGconn* c = Connect(url);
  const std::string sql =
      "SELECT count(*) FILTER (WHERE recomputed <> hash OR previous_hash <> expected_previous) "
      "FROM (SELECT hash, previous_hash, " +
      consents::AuditHashSql() +
      " AS recomputed, coalesce(lag(hash) OVER (PARTITION BY chain ORDER BY seq), '') AS "
      "expected_previous FROM consents.audit_events) e";
  const auto start = std::chrono::steady_clock::now();
  PGresult* r = Exec(c, sql, PGRES_TUPLES_OK);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *bad = std::atoll(PQgetvalue(r, 0, 0));
  PQclear(r);
  PQfinish(c);
  return seconds;
}

// The floor of an audited check in the database alone, with pgbench at `clients` connections:
// per check, the service's own read (req_consents, one statement) and one durable INSERT of an
// event of the same size as the service writes (its request and response as JSON, a 64-digit
// hash), each its own transaction as in the service - no gRPC, no token, no hashing, no group
// commit. Into a copy of audit_events (same columns and indexes), dropped afterwards, so the
// chains verified below stay the service's own.
gateway::LoadResult CheckFloor(const std::string& url, const std::string& requester,
                               const std::string& holder, const std::string& before,
                               const std::string& after, int clients, int seconds) {
  PGconn* c = Connect(url);
  PQclear(Exec(c,
               "CREATE TABLE IF NOT EXISTS consents.bench_floor_events "
               "(LIKE consents.audit_events INCLUDING DEFAULTS INCLUDING INDEXES)",
               PGRES_COMMAND_OK));
  PQfinish(c);
  // pgbench reads ":name" as a variable: JSON colons become '=' (same length).
  auto literal = [](std::string text) {
    for (char& ch : text) {
      if (ch == ':') ch = '=';
      if (ch == '\'') ch = ' ';
    }
    return "'" + text + "'";
  };
  TempDir dir;
  WriteFile(dir.File("check.sql"),
            "\\set n random(1, 2000000000)\n"
            // req_consents of consent_repository.cc, the check's read
            "SELECT body, version FROM consents.exchange_requests WHERE requester = '" +
                IdOf(requester) + "'::uuid AND holder = '" + IdOf(holder) +
                "'::uuid AND state IN (5, 8) ORDER BY seq;\n"
                "INSERT INTO consents.bench_floor_events (chain, seq, event_time, actor, "
                "organisation, operation, reference, before, after, previous_hash, hash) VALUES "
                "('" +
                IdOf(holder) + "/checks', :n, now(), 'caf-agent', '" + holder +
                "', 'check', 'exchangeRequests/6f2d3c1a-0b4e-4a8f-9c7d-1e2f3a4b5c6d', " +
                literal(before) + ", " + literal(after) + ", '" + std::string(64, 'a') + "', '" +
                std::string(64, 'b') + "');\n");
  const auto run = RunPgbench(url,
                              {"-n", "-M", "prepared", "-c", std::to_string(clients), "-j", "2",
                               "-T", std::to_string(seconds), "-f", dir.File("check.sql")},
                              seconds + 60);
  if (run.exit_code != 0) std::fprintf(stderr, "pgbench failed: %s\n", run.error.c_str());
  c = Connect(url);
  PQclear(Exec(c, "DROP TABLE consents.bench_floor_events", PGRES_COMMAND_OK));
  PQfinish(c);
  gateway::LoadResult r;
  r.qps = run.tps;
  r.p50_us = run.latency_ms * 1000;  // pgbench reports the mean, not the median
  return r;
}

}  // namespace

int main() {
  const int seconds =
      std::getenv("CTG_BENCH_SECONDS") ? std::atoi(std::getenv("CTG_BENCH_SECONDS")) : 3;
  const int64_t events =
      std::getenv("CTG_BENCH_EVENTS") ? std::atoll(std::getenv("CTG_BENCH_EVENTS")) : 1000000;
  EmptyDatabase db;
  PartnersProcess partners(db.url());
  if (!partners.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) {
    std::fprintf(stderr, "ctg-partners did not become healthy: %s\n", partners.log().c_str());
    return 1;
  }
  ConsentsProcess consents(db.url(), partners.address());
  if (!consents.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) {
    std::fprintf(stderr, "ctg-consents did not become healthy: %s\n", consents.log().c_str());
    return 1;
  }
  gateway::testing::EchoBackend echo("bench");

  // ---- an active consent from the agglomeration to the Caf
  auto partners_stub = pv1::PartnerService::NewStub(partners.channel());
  auto create = [&](pv1::OrganisationKind kind, const std::string& name) {
    pv1::CreateOrganisationRequest req;
    req.mutable_organisation()->set_kind(kind);
    req.mutable_organisation()->set_display_name(name);
    pv1::Organisation out;
    const auto s =
        partners_stub->CreateOrganisation(Context(Token({"registry_admin"})).get(), req, &out);
    if (!s.ok()) throw std::runtime_error(name + ": " + s.error_message());
    return out.name();
  };
  const std::string caf = create(pv1::CAF, "Caf");
  const std::string epci = create(pv1::EPCI, "Agglomération");
  // Three people: the study, the opinion and the decision are not taken by the same one.
  const std::string requester = Token({"collectivity_agent"}, epci, "epci-agent");
  const std::string holder = Token({"caf_agent"}, caf, "caf-agent");
  const std::string dpo = Token({"dpo"}, caf, "caf-dpo");
  auto stub = cv1::ConsentService::NewStub(consents.channel());
  cv1::ExchangeRequest current;
  {
    cv1::CreateExchangeRequestRequest req;
    auto* r = req.mutable_exchange_request();
    r->set_requester(epci);
    r->set_holder(caf);
    r->set_title("Observatoire");
    r->set_purpose("Diagnostic territorial");
    r->set_legal_basis(cv1::PUBLIC_INTEREST_TASK);
    r->set_legal_basis_justification("Mission de service public");
    r->add_data_subjects(cv1::FAMILLES);
    r->add_data_categories(cv1::CHILDCARE);
    r->add_recipients("Service petite enfance");
    r->mutable_retention()->set_duration(3);
    r->mutable_retention()->set_unit(cv1::YEARS);
    r->mutable_retention()->set_end(cv1::DELETION);
    r->add_security_measures("Chiffrement");
    r->set_frequency(cv1::DAILY);
    r->set_volume(10);
    r->mutable_start_date()->set_year(2020);
    r->mutable_start_date()->set_month(1);
    r->mutable_start_date()->set_day(1);
    r->mutable_end_date()->set_year(2100);
    r->mutable_end_date()->set_month(12);
    r->mutable_end_date()->set_day(31);
    const auto s = stub->CreateExchangeRequest(Context(requester).get(), req, &current);
    if (!s.ok()) throw std::runtime_error("create: " + s.error_message());
  }
  for (auto [step, token] :
       std::vector<std::pair<cv1::Step, std::string>>{{cv1::SUBMIT, requester},
                                                      {cv1::RECORD_STUDY, holder},
                                                      {cv1::GIVE_OPINION, dpo},
                                                      {cv1::DECIDE, holder}}) {
    cv1::TakeStepRequest req;
    req.set_name(current.name());
    req.set_etag(current.etag());
    req.set_step(step);
    req.mutable_study()->set_opportunity("o");
    req.mutable_study()->set_feasibility("f");
    req.mutable_study()->set_compliance("c");
    req.mutable_opinion()->set_verdict(cv1::FAVOURABLE);
    req.mutable_opinion()->set_text("avis");
    req.mutable_decision()->set_approved(true);
    if (step != cv1::RECORD_STUDY) req.clear_study();
    if (step != cv1::GIVE_OPINION) req.clear_opinion();
    if (step != cv1::DECIDE) req.clear_decision();
    cv1::ExchangeRequest next;
    const auto s = stub->TakeStep(Context(token).get(), req, &next);
    if (!s.ok()) throw std::runtime_error(cv1::Step_Name(step) + ": " + s.error_message());
    current = next;
  }
  if (current.state() != cv1::ACTIVE) throw std::runtime_error("the consent is not active");

  cv1::CheckExchangeRequest check;
  check.set_requester(epci);
  check.set_holder(caf);
  check.add_data_categories(cv1::CHILDCARE);
  check.set_purpose("Diagnostic territorial");
  const std::string check_request = check.SerializeAsString();
  pv1::GetOrganisationRequest get;
  get.set_name(caf);
  const std::string check_method = "/ctg.consents.v1.ConsentService/CheckExchange";
  const std::string get_method = "/ctg.partners.v1.PartnerService/GetOrganisation";
  const std::string echo_method = "/ctg.testing.v1.EchoService/Echo";

  const auto echo1 = gateway::RunFor(echo.address(), echo_method, "", holder, 1, seconds);
  const auto echo16 = gateway::RunFor(echo.address(), echo_method, "", holder, 16, seconds);
  const auto get1 =
      gateway::RunFor(partners.address(), get_method, get.SerializeAsString(), holder, 1, seconds);
  const auto check1 =
      gateway::RunFor(consents.address(), check_method, check_request, holder, 1, seconds);
  const auto get16 =
      gateway::RunFor(partners.address(), get_method, get.SerializeAsString(), holder, 16, seconds);
  const auto check16 =
      gateway::RunFor(consents.address(), check_method, check_request, holder, 16, seconds);
  // What an event of a check holds: the request and the response, as JSON.
  cv1::CheckExchangeResponse answer;
  if (!stub->CheckExchange(Context(holder).get(), check, &answer).ok()) {
    throw std::runtime_error("check failed");
  }
  std::string before, after;
  (void)google::protobuf::util::MessageToJsonString(check, &before);
  (void)google::protobuf::util::MessageToJsonString(answer, &after);
  const auto floor1 = CheckFloor(db.url(), epci, caf, before, after, 1, seconds);
  const auto floor16 = CheckFloor(db.url(), epci, caf, before, after, 16, seconds);
  Print("bare echo, 1 in flight", echo1);
  Print("bare echo, 16 in flight", echo16);
  Print("GetOrganisation, 1 in flight", get1);
  Print("CheckExchange (audited), 1 in flight", check1);
  Print("GetOrganisation, 16 in flight", get16);
  Print("CheckExchange (audited), 16 in flight", check16);
  std::printf(
      "floor: the check's read + one durable event INSERT per check, in PostgreSQL alone "
      "(pgbench, mean latency):\n");
  std::printf("  1 connection:   %.0f/s, %.0f us    16 connections: %.0f/s, %.0f us\n", floor1.qps,
              floor1.p50_us, floor16.qps, floor16.p50_us);

  // ---- the audit chain: the checks above plus a million-event trail of another holder
  FillAuditTrail(db.url(), events);
  const auto start = std::chrono::steady_clock::now();
  cv1::AuditChainVerification verification;
  const auto status = stub->VerifyAuditChain(
      Context(Token({"auditor"}), std::chrono::seconds(600)).get(), {}, &verification);
  const double verify_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!status.ok() || !verification.valid()) {
    std::fprintf(stderr, "verification failed: %s %s %s\n", status.error_message().c_str(),
                 verification.first_bad_event().c_str(), verification.problem().c_str());
    return 1;
  }
  int64_t bad = -1;
  const double sql_seconds = SqlPassSeconds(db.url(), &bad);
  std::printf(
      "VerifyAuditChain: %lld events in %d chains, %.2f s; the SQL pass recomputing the "
      "same hashes: %.2f s (%lld mismatches)\n",
      static_cast<long long>(verification.events_checked()), verification.chains_checked(),
      verify_seconds, sql_seconds, static_cast<long long>(bad));

  std::printf("\ntargets (issue 12):\n");
  std::printf("  CheckExchange >= 5000 checks/s, each audited: %.0f/s at 16 in flight  %s\n",
              check16.qps, check16.qps >= 5000 ? "MET" : "NOT MET");
  std::printf(
      "    (%.2fx the database-only floor at 16 connections; %.2fx GetOrganisation's "
      "throughput at 16 in flight)\n",
      check16.qps / floor16.qps, check16.qps / get16.qps);
  std::printf("  CheckExchange p50 <= 2 x GetOrganisation p50: %.0f vs %.0f us = %.2fx  %s\n",
              check1.p50_us, get1.p50_us, check1.p50_us / get1.p50_us,
              check1.p50_us <= 2 * get1.p50_us ? "MET" : "NOT MET");
  std::printf(
      "    (GetOrganisation p50 + the floor's mean at 1 connection: %.0f us; the check "
      "is %.2fx that)\n",
      get1.p50_us + floor1.p50_us, check1.p50_us / (get1.p50_us + floor1.p50_us));
  std::printf("  VerifyAuditChain within 2 x the SQL pass: %.2f vs %.2f s = %.2fx  %s\n",
              verify_seconds, sql_seconds, verify_seconds / sql_seconds,
              verify_seconds <= 2 * sql_seconds ? "MET" : "NOT MET");
  return 0;
}
