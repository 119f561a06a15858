// The indicators service on a real PostgreSQL, with the real partners service in-process:
// definitions and their versions, streaming ingestion (all or nothing, idempotent batches,
// disconnects, oversized messages, a database connection lost mid-stream), "as of" reads after a
// correction, derived indicators, commune comparisons, progress, quality flags, the CSV round
// trip and the permission matrix.
#include <google/protobuf/util/time_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <thread>

#include "common/api.h"
#include "common/clock.h"
#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "indicators/service.h"
#include "partners/service.h"

namespace ctg::indicators {
namespace {

namespace pv1 = ::ctg::partners::v1;
using ::ctg::testing::AuthedContext;
using ::ctg::testing::TestToken;
using ::ctg::testing::ViolatedFields;

constexpr CivilDate kToday{2026, 6, 15};

std::chrono::system_clock::time_point TestNow() {
  return std::chrono::system_clock::time_point(
      std::chrono::seconds(kToday.ToDays() * 86400 + 36000));
}

// The partners service's clock is fixed; the indicators service's can be moved so that a
// correction is recorded after the first value ("as of" reads between them).
std::atomic<int64_t> g_indicators_now_micros{0};

class IndicatorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_indicators_now_micros =
        std::chrono::duration_cast<std::chrono::microseconds>(TestNow().time_since_epoch()).count();
    db_ = new ctg::testing::TestDatabase(
        {partners::PartnerServiceSpec().migrations, IndicatorServiceSpec().migrations});
    partners_ = new ctg::testing::InProcessService(partners::PartnerServiceSpec(), db_->url(), {},
                                                   FixedClock(TestNow()));
    indicators_ = new ctg::testing::InProcessService(
        IndicatorServiceSpec(std::chrono::milliseconds(0)), db_->url(),
        {{"partners", "127.0.0.1:" + std::to_string(partners_->host().port())}}, [] {
          return std::chrono::system_clock::time_point(
              std::chrono::microseconds(g_indicators_now_micros.load()));
        });
  }
  static void TearDownTestSuite() {
    delete indicators_;
    delete partners_;
    delete db_;
  }

  void SetUp() override {
    g_indicators_now_micros =
        std::chrono::duration_cast<std::chrono::microseconds>(TestNow().time_since_epoch()).count();
    db_->Truncate("partners");
    db_->Truncate("indicators");
    partners_stub_ = pv1::PartnerService::NewStub(partners_->channel());
    stub_ = v1::IndicatorService::NewStub(indicators_->channel());
    epci_ = CreateOrganisation(pv1::EPCI, "Val de Garonne Agglomération", "", "200030674", "");
    marmande_ = CreateOrganisation(pv1::COMMUNE, "Marmande", "47157", "", epci_, 17000);
    tonneins_ = CreateOrganisation(pv1::COMMUNE, "Tonneins", "47310", "", epci_, 9000);
    outsider_ = CreateOrganisation(pv1::COMMUNE, "Bordeaux", "33063", "", "", 250000);
    caf_ = CreateOrganisation(pv1::CAF, "Caf de Lot-et-Garonne", "", "", "", 0, "47");
    other_caf_ = CreateOrganisation(pv1::CAF, "Caf de la Gironde", "", "", "", 0, "33");
    cdsf_ = CreateOrganisation(pv1::CDSF, "CDSF 47", "", "", "", 0, "47");
    pv1::CreateConventionRequest req;
    auto* c = req.mutable_convention();
    c->set_title("CTG Val de Garonne");
    c->set_territory(epci_);
    *c->mutable_start_date() = CivilDate{2025, 1, 1}.ToProto();
    *c->mutable_end_date() = CivilDate{2029, 12, 31}.ToProto();
    for (const auto& org : {epci_, marmande_, tonneins_, caf_})
      c->add_parties()->set_organisation(org);
    pv1::Convention convention;
    ASSERT_TRUE(
        partners_stub_->CreateConvention(AuthedContext(CafAgent()).get(), req, &convention).ok());
    DefineMeasured("EAJE_PLACES", v1::PLACES, v1::SUM);
    DefineMeasured("CHILDREN_UNDER_3", v1::PERSONS, v1::SUM);
  }

  std::string CreateOrganisation(pv1::OrganisationKind kind, const std::string& name,
                                 const std::string& insee, const std::string& siren,
                                 const std::string& parent, int64_t population = 0,
                                 const std::string& departement = "") {
    pv1::CreateOrganisationRequest req;
    auto* o = req.mutable_organisation();
    o->set_kind(kind);
    o->set_display_name(name);
    o->set_insee_code(insee);
    o->set_siren(siren);
    o->set_parent_epci(parent);
    o->set_departement(departement);
    if (population > 0) {
      auto* p = o->add_populations();
      p->set_vintage(2023);
      p->set_municipale(population);
    }
    pv1::Organisation out;
    const auto status =
        partners_stub_->CreateOrganisation(AuthedContext(Registry()).get(), req, &out);
    EXPECT_TRUE(status.ok()) << name << ": " << status.error_message();
    return out.name();
  }

  v1::Indicator Measured(const std::string& code, v1::Unit unit, v1::Aggregation aggregation) {
    v1::Indicator i;
    i.set_code(code);
    i.set_label("Indicateur " + code);
    i.set_kind(v1::REALISATION);
    i.set_unit(unit);
    i.set_periodicity(v1::YEARLY);
    i.set_level(v1::COMMUNE);
    i.set_aggregation(aggregation);
    i.set_source(v1::CAF);
    i.mutable_bounds()->set_hard_min(0);
    i.mutable_bounds()->set_soft_max(5000);
    return i;
  }

  grpc::Status Define(const v1::Indicator& indicator, v1::Indicator* out = nullptr) {
    v1::CreateIndicatorRequest req;
    *req.mutable_indicator() = indicator;
    v1::Indicator ignored;
    return stub_->CreateIndicator(AuthedContext(CafAgent()).get(), req, out ? out : &ignored);
  }

  void DefineMeasured(const std::string& code, v1::Unit unit, v1::Aggregation aggregation) {
    const auto status = Define(Measured(code, unit, aggregation));
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  static v1::ValueInput Value(const std::string& indicator, const std::string& territory,
                              const std::string& period, double value) {
    v1::ValueInput v;
    v.set_indicator(indicator);
    v.set_territory(territory);
    v.set_period(period);
    v.set_value(value);
    v.set_status(v1::FINAL);
    return v;
  }

  // Streams `messages` (the first carries `batch_id`) and returns the call's status.
  grpc::Status Ingest(const std::string& token, const std::string& batch_id,
                      const std::vector<std::vector<v1::ValueInput>>& messages,
                      v1::IngestValuesResponse* response = nullptr) {
    auto context = AuthedContext(token);
    v1::IngestValuesResponse ignored;
    auto writer = stub_->IngestValues(context.get(), response ? response : &ignored);
    for (size_t m = 0; m < messages.size(); ++m) {
      v1::IngestValuesRequest req;
      if (m == 0) req.set_batch_id(batch_id);
      req.set_complete(m + 1 == messages.size());
      for (const auto& v : messages[m]) *req.add_values() = v;
      if (!writer->Write(req)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  static int64_t CountValues() {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    return tx.exec1("SELECT count(*) FROM indicators.indicator_values")[0].as<int64_t>();
  }

  v1::Series Series(const std::string& token, const std::string& indicator,
                    const std::string& territory, const std::string& from, const std::string& to,
                    grpc::Status* status_out = nullptr,
                    std::optional<google::protobuf::Timestamp> as_of = std::nullopt) {
    v1::GetSeriesRequest req;
    req.set_indicator("indicators/" + indicator);
    req.set_territory(territory);
    req.set_from_period(from);
    req.set_to_period(to);
    if (as_of) *req.mutable_as_of() = *as_of;
    v1::Series out;
    const auto status = stub_->GetSeries(AuthedContext(token).get(), req, &out);
    if (status_out) {
      *status_out = status;
    } else {
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
    return out;
  }

  static std::string Registry() { return TestToken({Role::kRegistryAdmin}, "", "registry"); }
  std::string CafAgent() const { return TestToken({Role::kCafAgent}, caf_, "caf"); }
  static std::string AgentOf(const std::string& org, const std::string& subject = "agent") {
    return TestToken({Role::kCollectivityAgent}, org, subject);
  }

  static inline ctg::testing::TestDatabase* db_ = nullptr;
  static inline ctg::testing::InProcessService* partners_ = nullptr;
  static inline ctg::testing::InProcessService* indicators_ = nullptr;
  std::unique_ptr<pv1::PartnerService::Stub> partners_stub_;
  std::unique_ptr<v1::IndicatorService::Stub> stub_;
  std::string epci_, marmande_, tonneins_, outsider_, caf_, other_caf_, cdsf_;
};

const char kBatch1[] = "0b6a8f1e-6a55-4d2b-9d7e-1f0c2a3b4c01";
const char kBatch2[] = "0b6a8f1e-6a55-4d2b-9d7e-1f0c2a3b4c02";
const char kBatch3[] = "0b6a8f1e-6a55-4d2b-9d7e-1f0c2a3b4c03";

TEST_F(IndicatorsTest, DefinitionsAreVersionedAndOldVersionsStayReadable) {
  v1::GetIndicatorRequest get;
  get.set_name("indicators/EAJE_PLACES");
  v1::Indicator current;
  ASSERT_TRUE(stub_->GetIndicator(AuthedContext(AgentOf(marmande_)).get(), get, &current).ok());
  EXPECT_EQ(current.version(), 1);

  v1::UpdateIndicatorRequest update;
  update.mutable_indicator()->set_name("indicators/EAJE_PLACES");
  update.mutable_indicator()->set_etag(current.etag());
  update.mutable_indicator()->set_label("Places en EAJE (crèches)");
  update.mutable_update_mask()->add_paths("label");
  v1::Indicator updated;
  ASSERT_TRUE(stub_->UpdateIndicator(AuthedContext(CafAgent()).get(), update, &updated).ok());
  EXPECT_EQ(updated.version(), 2);
  EXPECT_EQ(updated.label(), "Places en EAJE (crèches)");
  EXPECT_EQ(updated.unit(), v1::PLACES);  // untouched fields kept

  // The same etag again is stale; nothing changes.
  v1::Indicator ignored;
  EXPECT_EQ(stub_->UpdateIndicator(AuthedContext(CafAgent()).get(), update, &ignored).error_code(),
            grpc::StatusCode::ABORTED);
  get.set_version(1);
  v1::Indicator old;
  ASSERT_TRUE(stub_->GetIndicator(AuthedContext(CafAgent()).get(), get, &old).ok());
  EXPECT_EQ(old.label(), "Indicateur EAJE_PLACES");
  get.set_version(3);
  EXPECT_EQ(stub_->GetIndicator(AuthedContext(CafAgent()).get(), get, &old).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // A collectivity agent reads the catalogue but does not change it.
  EXPECT_EQ(stub_->UpdateIndicator(AuthedContext(AgentOf(marmande_)).get(), update, &ignored)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(IndicatorsTest, BadDefinitionsNameEveryBadFieldAndWriteNothing) {
  v1::Indicator bad = Measured("lower", v1::UNIT_UNSPECIFIED, v1::AGGREGATION_UNSPECIFIED);
  bad.set_periodicity(v1::PERIODICITY_UNSPECIFIED);
  bad.mutable_bounds()->set_soft_min(std::nan(""));
  const auto status = Define(bad);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const auto fields = ViolatedFields(status);
  for (const char* f : {"indicator.code", "indicator.unit", "indicator.periodicity",
                        "indicator.aggregation", "indicator.bounds.soft_min"}) {
    EXPECT_NE(std::find(fields.begin(), fields.end(), f), fields.end()) << f;
  }
  EXPECT_EQ(Define(Measured("EAJE_PLACES", v1::PLACES, v1::SUM)).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  v1::ListIndicatorsRequest list;
  v1::ListIndicatorsResponse listed;
  ASSERT_TRUE(stub_->ListIndicators(AuthedContext(CafAgent()).get(), list, &listed).ok());
  EXPECT_EQ(listed.indicators_size(), 2);
}

TEST_F(IndicatorsTest, FormulasAreCheckedAtDefinitionTime) {
  auto derived = [&](const std::string& code, const std::string& formula) {
    v1::Indicator i = Measured(code, v1::PERCENT, v1::NONE);
    i.set_source(v1::DERIVED);
    i.set_formula(formula);
    i.set_level(v1::EPCI);
    return i;
  };
  auto s = Define(derived("BAD_SYNTAX", "100 * (EAJE_PLACES"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolatedFields(s), std::vector<std::string>{"indicator.formula"});
  s = Define(derived("UNKNOWN_REF", "EAJE_PLACES / NOT_DEFINED"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_details().find("NOT_DEFINED"), std::string::npos);
  s = Define(derived("SELF_REF", "SELF_REF + 1"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // A cycle through an update: A uses B, then B is changed to use A.
  ASSERT_TRUE(Define(derived("RATE_B", "sum(EAJE_PLACES)")).ok());
  ASSERT_TRUE(Define(derived("RATE_A", "RATE_B * 2")).ok());
  v1::UpdateIndicatorRequest update;
  update.mutable_indicator()->set_name("indicators/RATE_B");
  update.mutable_indicator()->set_etag(FormatEtag(1));
  update.mutable_indicator()->set_formula("RATE_A + 1");
  update.mutable_update_mask()->add_paths("formula");
  v1::Indicator ignored;
  s = stub_->UpdateIndicator(AuthedContext(CafAgent()).get(), update, &ignored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolatedFields(s), std::vector<std::string>{"indicator.formula"});
}

TEST_F(IndicatorsTest, StreamedValuesAreReadBackWithProvenance) {
  v1::IngestValuesResponse response;
  const auto status = Ingest(
      CafAgent(), kBatch1,
      {{Value("EAJE_PLACES", "47157", "2025", 120), Value("EAJE_PLACES", "47310", "2025", 40)},
       {Value("EAJE_PLACES", "47157", "2026", 130)}},
      &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.values_written(), 3);
  EXPECT_FALSE(response.already_committed());
  const auto series = Series(AgentOf(marmande_), "EAJE_PLACES", "47157", "2024", "2026");
  ASSERT_EQ(series.points_size(), 3);
  EXPECT_FALSE(series.points(0).has_value());
  EXPECT_EQ(series.points(0).missing_reason(), "no value recorded");
  EXPECT_EQ(series.points(1).value(), 120);
  EXPECT_EQ(series.points(2).value(), 130);
  EXPECT_EQ(series.points(1).provenance().author(), "caf");
  EXPECT_EQ(series.points(1).provenance().batch_id(), kBatch1);
  EXPECT_EQ(series.points(1).provenance().source(), v1::CAF);
  EXPECT_EQ(series.points(1).provenance().indicator_version(), 1);
  // The EPCI's series of a commune-level indicator is aggregated from its communes.
  const auto epci = Series(CafAgent(), "EAJE_PLACES", "200030674", "2025", "2026");
  EXPECT_EQ(epci.points(0).value(), 160);
  EXPECT_FALSE(epci.points(1).has_value());  // Tonneins has no 2026 value
  EXPECT_EQ(epci.points(1).missing_reason(), "1 of 2 communes have no value");
}

TEST_F(IndicatorsTest, ABadRowInTheMiddleRejectsTheWholeBatchWithEveryBadRow) {
  std::vector<v1::ValueInput> first = {Value("EAJE_PLACES", "47157", "2025", 120),
                                       Value("EAJE_PLACES", "47310", "2025-Q1", 40)};
  std::vector<v1::ValueInput> second = {
      Value("EAJE_PLACES", "47157", "2026", -5), Value("NO_SUCH", "47157", "2026", 1),
      Value("EAJE_PLACES", "99999", "2026", 1),
      Value("EAJE_PLACES", "47157", "2024", std::numeric_limits<double>::infinity())};
  const auto status = Ingest(CafAgent(), kBatch1, {first, second});
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolatedFields(status),
            (std::vector<std::string>{"values[1].period", "values[2].value", "values[3].indicator",
                                      "values[4].territory", "values[5].value"}));
  EXPECT_EQ(CountValues(), 0);
  // The batch id was not used up: the corrected batch goes through.
  first[1].set_period("2025");
  ASSERT_TRUE(Ingest(CafAgent(), kBatch1, {first}).ok());
  EXPECT_EQ(CountValues(), 2);
}

TEST_F(IndicatorsTest, AResentBatchIsANoOpAndAReusedIdWithOtherValuesIsRefused) {
  const std::vector<std::vector<v1::ValueInput>> batch = {
      {Value("EAJE_PLACES", "47157", "2025", 120), Value("EAJE_PLACES", "47310", "2025", 40)}};
  v1::IngestValuesResponse first, again;
  ASSERT_TRUE(Ingest(CafAgent(), kBatch1, batch, &first).ok());
  ASSERT_TRUE(Ingest(CafAgent(), kBatch1, batch, &again).ok());
  EXPECT_TRUE(again.already_committed());
  EXPECT_EQ(again.values_written(), 2);
  EXPECT_EQ(CountValues(), 2);
  auto changed = batch;
  changed[0][1].set_value(41);
  const auto status = Ingest(CafAgent(), kBatch1, changed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolatedFields(status), std::vector<std::string>{"batch_id"});
  EXPECT_EQ(CountValues(), 2);
  // The key belongs to its principal: the secretariat's batch with the same id is its own.
  const std::string secretariat = TestToken({Role::kCopilSecretariat}, epci_, "secretariat");
  v1::IngestValuesResponse own;
  ASSERT_TRUE(Ingest(secretariat, kBatch1, changed, &own).ok());
  EXPECT_FALSE(own.already_committed());
  EXPECT_EQ(CountValues(), 4);
}

TEST_F(IndicatorsTest, ACorrectionKeepsWhatWasKnownBeforeReadable) {
  ASSERT_TRUE(Ingest(CafAgent(), kBatch1, {{Value("EAJE_PLACES", "47157", "2025", 120)}}).ok());
  const auto before_correction = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      g_indicators_now_micros.load() + 1000000);
  g_indicators_now_micros += 3600LL * 1000000;  // one hour later
  auto corrected = Value("EAJE_PLACES", "47157", "2025", 125);
  ASSERT_TRUE(Ingest(CafAgent(), kBatch2, {{corrected}}).ok());
  const auto now = Series(CafAgent(), "EAJE_PLACES", "47157", "2025", "2025");
  EXPECT_EQ(now.points(0).value(), 125);
  EXPECT_EQ(now.points(0).revisions(), 1);
  const auto then =
      Series(CafAgent(), "EAJE_PLACES", "47157", "2025", "2025", nullptr, before_correction);
  EXPECT_EQ(then.points(0).value(), 120);
  EXPECT_EQ(then.points(0).revisions(), 0);
  EXPECT_EQ(then.points(0).provenance().batch_id(), kBatch1);
}

TEST_F(IndicatorsTest, AClientThatCancelsMidStreamWritesNothing) {
  auto context = AuthedContext(CafAgent());
  v1::IngestValuesResponse response;
  auto writer = stub_->IngestValues(context.get(), &response);
  v1::IngestValuesRequest req;
  req.set_batch_id(kBatch1);
  *req.add_values() = Value("EAJE_PLACES", "47157", "2025", 120);
  ASSERT_TRUE(writer->Write(req));
  req.clear_batch_id();
  ASSERT_TRUE(writer->Write(req));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the rows reach the COPY
  context->TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(CountValues(), 0);
  ASSERT_TRUE(Ingest(CafAgent(), kBatch1, {{Value("EAJE_PLACES", "47157", "2025", 120)}}).ok());
}

TEST_F(IndicatorsTest, AnOversizedMessageMidStreamWritesNothing) {
  auto context = AuthedContext(CafAgent());
  v1::IngestValuesResponse response;
  auto writer = stub_->IngestValues(context.get(), &response);
  v1::IngestValuesRequest req;
  req.set_batch_id(kBatch1);
  *req.add_values() = Value("EAJE_PLACES", "47157", "2025", 120);
  ASSERT_TRUE(writer->Write(req));
  v1::IngestValuesRequest huge;
  *huge.add_values() = Value("EAJE_PLACES", std::string(kMaxMessageBytes + 1024, '4'), "2026", 1);
  huge.set_complete(true);
  writer->Write(huge);
  writer->WritesDone();
  const auto status = writer->Finish();
  EXPECT_FALSE(status.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(CountValues(), 0);
}

TEST_F(IndicatorsTest, AMalformedMessageMidStreamWritesNothing) {
  // Raw bytes on the wire, as a broken or hostile client sends them: a valid first message, one
  // that is not a protobuf, then a valid last message marked complete.
  grpc::GenericStub generic(indicators_->channel());
  grpc::CompletionQueue cq;
  auto context = AuthedContext(CafAgent());
  auto call =
      generic.PrepareCall(context.get(), "/ctg.indicators.v1.IndicatorService/IngestValues", &cq);
  auto await = [&cq](intptr_t expected) {
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), expected);
    return ok;
  };
  auto bytes = [](const std::string& data) {
    grpc::Slice slice(data);
    return grpc::ByteBuffer(&slice, 1);
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(await(1));
  v1::IngestValuesRequest first;
  first.set_batch_id(kBatch1);
  *first.add_values() = Value("EAJE_PLACES", "47157", "2025", 120);
  call->Write(bytes(first.SerializeAsString()), reinterpret_cast<void*>(2));
  await(2);
  call->Write(bytes(std::string("\xff\xff\xff\xff\xff\xff", 6)), reinterpret_cast<void*>(3));
  await(3);
  v1::IngestValuesRequest last;
  last.set_complete(true);
  *last.add_values() = Value("EAJE_PLACES", "47157", "2026", 130);
  call->Write(bytes(last.SerializeAsString()), reinterpret_cast<void*>(4));
  await(4);
  call->WritesDone(reinterpret_cast<void*>(5));
  await(5);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(6));
  await(6);
  EXPECT_FALSE(status.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(CountValues(), 0);
}

TEST_F(IndicatorsTest, AStreamEndingWithoutItsLastMessageWritesNothing) {
  auto context = AuthedContext(CafAgent());
  v1::IngestValuesResponse response;
  auto writer = stub_->IngestValues(context.get(), &response);
  v1::IngestValuesRequest req;
  req.set_batch_id(kBatch1);
  *req.add_values() = Value("EAJE_PLACES", "47157", "2025", 120);
  ASSERT_TRUE(writer->Write(req));
  writer->WritesDone();
  const auto status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolatedFields(status), std::vector<std::string>{"complete"});
  EXPECT_EQ(CountValues(), 0);
}

TEST_F(IndicatorsTest, TooManyValuesInOneMessageIsRefused) {
  std::vector<v1::ValueInput> many(kMaxValuesPerMessage + 1,
                                   Value("EAJE_PLACES", "47157", "2025", 1));
  const auto status =
      Ingest(CafAgent(), kBatch1, {{Value("EAJE_PLACES", "47157", "2024", 1)}, many});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CountValues(), 0);
}

TEST_F(IndicatorsTest, ADatabaseConnectionLostMidStreamWritesNothing) {
  auto context = AuthedContext(CafAgent());
  v1::IngestValuesResponse response;
  auto writer = stub_->IngestValues(context.get(), &response);
  v1::IngestValuesRequest req;
  req.set_batch_id(kBatch1);
  *req.add_values() = Value("EAJE_PLACES", "47157", "2025", 120);
  ASSERT_TRUE(writer->Write(req));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    // What a PostgreSQL restart does to the service's connection: the server ends it.
    pqxx::connection admin(db_->url());
    pqxx::nontransaction tx(admin);
    const auto r = tx.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND query ILIKE 'COPY%'");
    ASSERT_EQ(r.size(), 1u);
  }
  req.clear_batch_id();
  req.mutable_values(0)->set_period("2026");
  req.set_complete(true);
  writer->Write(req);
  writer->WritesDone();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CountValues(), 0);
  // The pool recovers: the re-sent batch is written.
  ASSERT_TRUE(Ingest(CafAgent(), kBatch1, {{Value("EAJE_PLACES", "47157", "2025", 120)}}).ok());
  EXPECT_EQ(CountValues(), 1);
}

TEST_F(IndicatorsTest, WritesFollowTheSourceAndTheConvention) {
  // A commune records its own values, not its neighbour's; nothing of a refused batch is kept.
  EXPECT_TRUE(
      Ingest(AgentOf(marmande_), kBatch1, {{Value("EAJE_PLACES", "47157", "2025", 1)}}).ok());
  auto s = Ingest(
      AgentOf(marmande_), kBatch2,
      {{Value("EAJE_PLACES", "47157", "2026", 1), Value("EAJE_PLACES", "47310", "2026", 1)}});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CountValues(), 1);
  // The EPCI records for its communes; the secretariat and the Caf party for the convention.
  EXPECT_TRUE(Ingest(AgentOf(epci_), kBatch2, {{Value("EAJE_PLACES", "47310", "2026", 2)}}).ok());
  EXPECT_TRUE(Ingest(TestToken({Role::kCopilSecretariat}, epci_, "sec"), kBatch3,
                     {{Value("EAJE_PLACES", "47310", "2025", 3)}})
                  .ok());
  // Another département's Caf, a territory outside the convention: refused.
  EXPECT_EQ(Ingest(TestToken({Role::kCafAgent}, other_caf_, "gironde"), kBatch1,
                   {{Value("EAJE_PLACES", "47157", "2024", 1)}})
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Ingest(CafAgent(), kBatch1, {{Value("EAJE_PLACES", "33063", "2024", 1)}}).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Roles without the right to write are stopped by the declaration.
  EXPECT_EQ(Ingest(TestToken({Role::kCdsf}, cdsf_, "cdsf"), kBatch1,
                   {{Value("EAJE_PLACES", "47157", "2024", 1)}})
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CountValues(), 3);
}

TEST_F(IndicatorsTest, ReadsFollowTheConventionAndUnreadableTerritoriesDoNotExist) {
  ASSERT_TRUE(Ingest(CafAgent(), kBatch1, {{Value("EAJE_PLACES", "47310", "2025", 40)}}).ok());
  // A party's agent reads the convention's territories; the CDSF of the département too.
  grpc::Status status;
  Series(AgentOf(marmande_), "EAJE_PLACES", "47310", "2025", "2025", &status);
  EXPECT_TRUE(status.ok());
  Series(TestToken({Role::kCdsf}, cdsf_, "cdsf"), "EAJE_PLACES", "47310", "2025", "2025", &status);
  EXPECT_TRUE(status.ok());
  // An outsider's agent: the territory answers like one that does not exist.
  Series(AgentOf(outsider_), "EAJE_PLACES", "47310", "2025", "2025", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status unknown;
  Series(AgentOf(outsider_), "EAJE_PLACES", "00000", "2025", "2025", &unknown);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "territory: territory 47310 not found");
  EXPECT_EQ(unknown.error_message(), "territory: territory 00000 not found");
  // A period of another periodicity is a bad argument.
  Series(CafAgent(), "EAJE_PLACES", "47310", "2025-Q1", "2025", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(IndicatorsTest, CommunesAreRankedAndAggregatedWithCoverage) {
  ASSERT_TRUE(Ingest(CafAgent(), kBatch1,
                     {{Value("EAJE_PLACES", "47157", "2025", 120),
                       Value("EAJE_PLACES", "47310", "2025", 40)}})
                  .ok());
  v1::CompareCommunesRequest req;
  req.set_indicator("indicators/EAJE_PLACES");
  req.set_epci("200030674");
  req.set_period("2025");
  v1::CommuneComparison out;
  ASSERT_TRUE(stub_->CompareCommunes(AuthedContext(CafAgent()).get(), req, &out).ok());
  ASSERT_EQ(out.communes_size(), 2);
  EXPECT_EQ(out.communes(0).commune(), "47157");
  EXPECT_EQ(out.communes(0).rank(), 1);
  EXPECT_EQ(out.communes(1).rank(), 2);
  EXPECT_EQ(out.epci_value(), 160);
  EXPECT_EQ(out.reporting_communes(), 2);
  EXPECT_EQ(out.total_communes(), 2);
  req.set_period("2026");
  ASSERT_TRUE(stub_->CompareCommunes(AuthedContext(CafAgent()).get(), req, &out).ok());
  EXPECT_EQ(out.reporting_communes(), 0);
  EXPECT_FALSE(out.has_epci_value());
  EXPECT_FALSE(out.epci_missing_reason().empty());
}

TEST_F(IndicatorsTest, DerivedIndicatorsAreEvaluatedAndDivisionByZeroIsAMissingValue) {
  v1::Indicator tcg = Measured("TCG", v1::PERCENT, v1::NONE);
  tcg.set_kind(v1::CHANGEMENT_TERRITORIAL);
  tcg.set_level(v1::EPCI);
  tcg.set_source(v1::DERIVED);
  tcg.set_formula("100 * sum(EAJE_PLACES) / sum(CHILDREN_UNDER_3)");
  tcg.mutable_baseline()->set_value(40);
  *tcg.mutable_baseline()->mutable_date() = CivilDate{2024, 12, 31}.ToProto();
  tcg.mutable_target()->set_value(60);
  *tcg.mutable_target()->mutable_date() = CivilDate{2029, 12, 31}.ToProto();
  ASSERT_TRUE(Define(tcg).ok());
  ASSERT_TRUE(
      Ingest(
          CafAgent(), kBatch1,
          {{Value("EAJE_PLACES", "47157", "2025", 120), Value("EAJE_PLACES", "47310", "2025", 40),
            Value("CHILDREN_UNDER_3", "47157", "2025", 250),
            Value("CHILDREN_UNDER_3", "47310", "2025", 150),
            Value("EAJE_PLACES", "47157", "2026", 1), Value("EAJE_PLACES", "47310", "2026", 1),
            Value("CHILDREN_UNDER_3", "47157", "2026", 0),
            Value("CHILDREN_UNDER_3", "47310", "2026", 0)}})
          .ok());
  // A derived value is computed, never recorded.
  EXPECT_EQ(Ingest(CafAgent(), kBatch2, {{Value("TCG", "200030674", "2025", 1)}}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  const auto series = Series(CafAgent(), "TCG", "200030674", "2024", "2026");
  ASSERT_EQ(series.points_size(), 3);
  EXPECT_FALSE(series.points(0).has_value());
  EXPECT_NE(series.points(0).missing_reason().find("EAJE_PLACES"), std::string::npos);
  EXPECT_DOUBLE_EQ(series.points(1).value(), 40.0);  // 100 * 160 / 400
  EXPECT_FALSE(series.points(2).has_value());
  EXPECT_EQ(series.points(2).missing_reason(), "division by zero");

  v1::GetProgressRequest progress_req;
  progress_req.set_indicator("indicators/TCG");
  progress_req.set_territory("200030674");
  v1::Progress progress;
  ASSERT_TRUE(stub_->GetProgress(AuthedContext(CafAgent()).get(), progress_req, &progress).ok());
  EXPECT_EQ(progress.latest_period(), "2025");
  EXPECT_DOUBLE_EQ(progress.latest_value(), 40.0);
  EXPECT_DOUBLE_EQ(progress.progress_percent(), 0.0);
}

TEST_F(IndicatorsTest, QualityFlagsMissingPeriodsAndSoftBounds) {
  ASSERT_TRUE(Ingest(CafAgent(), kBatch1,
                     {{Value("EAJE_PLACES", "47157", "2022", 120),
                       Value("EAJE_PLACES", "47157", "2024", 6000)}})
                  .ok());
  v1::GetQualityReportRequest req;
  req.set_indicator("indicators/EAJE_PLACES");
  req.set_territory("47157");
  req.set_from_period("2022");
  req.set_to_period("2024");
  v1::QualityReport report;
  ASSERT_TRUE(stub_->GetQualityReport(AuthedContext(CafAgent()).get(), req, &report).ok());
  std::map<v1::QualityFlagKind, std::string> flags;
  for (const auto& f : report.flags()) flags[f.kind()] = f.period();
  EXPECT_EQ(flags[v1::MISSING_PERIOD], "2023");
  EXPECT_EQ(flags[v1::OUT_OF_BOUNDS], "2024");
  EXPECT_EQ(flags.count(v1::STALE_SOURCE), 0u);  // 2024 is within 2 years of 2026
}

TEST_F(IndicatorsTest, EveryQueryRefusesBadArgumentsWithTheirFields) {
  v1::Indicator ignored;
  // Update: the code and the periodicity never change; an unknown indicator is NOT_FOUND.
  v1::UpdateIndicatorRequest update;
  update.mutable_indicator()->set_name("indicators/EAJE_PLACES");
  update.mutable_indicator()->set_etag(FormatEtag(1));
  update.mutable_update_mask()->add_paths("periodicity");
  auto s = stub_->UpdateIndicator(AuthedContext(CafAgent()).get(), update, &ignored);
  EXPECT_EQ(ViolatedFields(s), std::vector<std::string>{"update_mask"});
  update.mutable_update_mask()->Clear();
  update.mutable_indicator()->set_name("indicators/NOPE");
  EXPECT_EQ(stub_->UpdateIndicator(AuthedContext(CafAgent()).get(), update, &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Get and List.
  v1::GetIndicatorRequest get;
  get.set_name("EAJE_PLACES");
  EXPECT_EQ(ViolatedFields(stub_->GetIndicator(AuthedContext(CafAgent()).get(), get, &ignored)),
            std::vector<std::string>{"name"});
  v1::ListIndicatorsRequest list;
  list.set_page_token("forged");
  v1::ListIndicatorsResponse listed;
  EXPECT_EQ(ViolatedFields(stub_->ListIndicators(AuthedContext(CafAgent()).get(), list, &listed)),
            std::vector<std::string>{"page_token"});
  // Progress and quality: unknown indicator, bad options.
  v1::GetProgressRequest progress;
  progress.set_indicator("indicators/NOPE");
  progress.set_territory("47157");
  v1::Progress p;
  EXPECT_EQ(stub_->GetProgress(AuthedContext(CafAgent()).get(), progress, &p).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::GetQualityReportRequest quality;
  quality.set_indicator("indicators/EAJE_PLACES");
  quality.set_territory("47157");
  quality.set_from_period("2026");
  quality.set_to_period("2022");
  quality.set_jump_sigmas(-1);
  v1::QualityReport report;
  s = stub_->GetQualityReport(AuthedContext(CafAgent()).get(), quality, &report);
  EXPECT_EQ(ViolatedFields(s), std::vector<std::string>{"jump_sigmas"});
  quality.set_jump_sigmas(0);
  s = stub_->GetQualityReport(AuthedContext(CafAgent()).get(), quality, &report);
  EXPECT_EQ(ViolatedFields(s), std::vector<std::string>{"to_period"});
  // Series: too many periods; comparison on a commune instead of an EPCI.
  grpc::Status status;
  Series(CafAgent(), "EAJE_PLACES", "47157", "1900", "2400", &status);
  EXPECT_EQ(ViolatedFields(status), std::vector<std::string>{"to_period"});
  v1::CompareCommunesRequest compare;
  compare.set_indicator("indicators/EAJE_PLACES");
  compare.set_epci("47157");
  compare.set_period("2025");
  v1::CommuneComparison comparison;
  EXPECT_EQ(
      ViolatedFields(stub_->CompareCommunes(AuthedContext(CafAgent()).get(), compare, &comparison)),
      std::vector<std::string>{"epci"});
  // Import: not a UUID batch id, a header that is not the export's.
  v1::ImportValuesRequest import;
  import.set_batch_id("batch-1");
  import.set_csv("a,b\r\n");
  v1::IngestValuesResponse imported;
  EXPECT_EQ(ViolatedFields(stub_->ImportValues(AuthedContext(CafAgent()).get(), import, &imported)),
            std::vector<std::string>{"batch_id"});
  import.set_batch_id(kBatch1);
  EXPECT_EQ(ViolatedFields(stub_->ImportValues(AuthedContext(CafAgent()).get(), import, &imported)),
            std::vector<std::string>{"csv"});
  EXPECT_EQ(CountValues(), 0);
}

TEST_F(IndicatorsTest, TheCsvExportReimportsUnchanged) {
  auto demo = Value("EAJE_PLACES", "47157", "2025", 120.25);
  demo.set_demonstration(true);
  demo.set_status(v1::PROVISIONAL);
  ASSERT_TRUE(Ingest(CafAgent(), kBatch1,
                     {{demo, Value("EAJE_PLACES", "47310", "2025", -0.0),
                       Value("CHILDREN_UNDER_3", "47310", "2025", 1e-7)}})
                  .ok());
  v1::ExportValuesRequest req;
  v1::ExportedValues first;
  ASSERT_TRUE(stub_->ExportValues(AuthedContext(CafAgent()).get(), req, &first).ok());
  EXPECT_EQ(first.rows(), 3);
  db_->Truncate("indicators");
  DefineMeasured("EAJE_PLACES", v1::PLACES, v1::SUM);
  DefineMeasured("CHILDREN_UNDER_3", v1::PERSONS, v1::SUM);
  v1::ImportValuesRequest import;
  import.set_batch_id(kBatch2);
  import.set_csv(first.content());
  v1::IngestValuesResponse imported;
  const auto status = stub_->ImportValues(AuthedContext(CafAgent()).get(), import, &imported);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(imported.values_written(), 3);
  v1::ExportedValues second;
  ASSERT_TRUE(stub_->ExportValues(AuthedContext(CafAgent()).get(), req, &second).ok());
  EXPECT_EQ(second.content(), first.content());
  // An agent of a commune outside the convention exports nothing of it.
  v1::ExportedValues outsider;
  ASSERT_TRUE(stub_->ExportValues(AuthedContext(AgentOf(outsider_)).get(), req, &outsider).ok());
  EXPECT_EQ(outsider.rows(), 0);
  // A CSV line that is not a value names its line.
  import.set_batch_id(kBatch3);
  import.set_csv(
      "indicator,territory,period,value,status,source,demonstration\r\n"
      "EAJE_PLACES,47157,2026,beaucoup,FINAL,CAF,false\r\n");
  const auto bad = stub_->ImportValues(AuthedContext(CafAgent()).get(), import, &imported);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolatedFields(bad), std::vector<std::string>{"values[2].value"});
}

}  // namespace
}  // namespace ctg::indicators
