#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "action_plan/service.h"
#include "common/api.h"
#include "common/clock.h"
#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "partners/service.h"

namespace ctg::action_plan {

// Base fixture of the action plan pgtests: one throwaway database per test binary with the real
// partners service and the action plan service hosted in-process (the plan checks conventions
// through the partners API). Before each test: emptied schemas, and a convention 2025-2029 of
// the EPCI (holding the secretariat), Marmande, Tonneins and the Caf (not "Ailleurs", an
// outsider) with axis 1. Both services run on a clock stopped on kToday.
class ActionPlanServiceTest : public ::testing::Test {
 protected:
  static constexpr CivilDate kToday{2026, 6, 15};
  static std::chrono::system_clock::time_point TestNow() {
    return std::chrono::system_clock::time_point(
        std::chrono::seconds(kToday.ToDays() * 86400 + 36000));
  }

  static void SetUpTestSuite() {
    db_ = new ctg::testing::TestDatabase(
        {partners::PartnerServiceSpec().migrations, ActionPlanServiceSpec().migrations});
    partners_ = new ctg::testing::InProcessService(partners::PartnerServiceSpec(), db_->url(), {},
                                                   FixedClock(TestNow()));
    plan_ = new ctg::testing::InProcessService(
        ActionPlanServiceSpec(), db_->url(),
        {{"partners", "127.0.0.1:" + std::to_string(partners_->host().port())}},
        FixedClock(TestNow()));
  }
  static void TearDownTestSuite() {
    delete plan_;
    delete partners_;
    delete db_;
    plan_ = partners_ = nullptr;
    db_ = nullptr;
  }

  void SetUp() override {
    db_->Truncate("partners");
    db_->Truncate("action_plan");
    partners_stub_ = ::ctg::partners::v1::PartnerService::NewStub(partners_->channel());
    stub_ = v1::ActionPlanService::NewStub(plan_->channel());
    epci_ = CreateOrganisation(::ctg::partners::v1::EPCI, "Val de Garonne Agglomération", "");
    marmande_ = CreateOrganisation(::ctg::partners::v1::COMMUNE, "Marmande", "47157");
    tonneins_ = CreateOrganisation(::ctg::partners::v1::COMMUNE, "Tonneins", "47310");
    outsider_ = CreateOrganisation(::ctg::partners::v1::COMMUNE, "Ailleurs", "33063");
    caf_ = CreateOrganisation(::ctg::partners::v1::CAF, "Caf de Lot-et-Garonne", "", "47");
    secretariat_org_ = epci_;
    ::ctg::partners::v1::CreateConventionRequest req;
    auto* c = req.mutable_convention();
    c->set_title("CTG Val de Garonne");
    c->set_territory(epci_);
    *c->mutable_start_date() = CivilDate{2025, 1, 1}.ToProto();
    *c->mutable_end_date() = CivilDate{2029, 12, 31}.ToProto();
    for (const auto& org : {epci_, marmande_, tonneins_, caf_}) {
      c->add_parties()->set_organisation(org);
    }
    ::ctg::partners::v1::Convention convention;
    ASSERT_TRUE(
        partners_stub_
            ->CreateConvention(ctg::testing::AuthedContext(CafAgent()).get(), req, &convention)
            .ok());
    convention_ = convention.name();
    v1::CreateAxisRequest axis_req;
    axis_req.mutable_axis()->set_convention(convention_);
    axis_req.mutable_axis()->set_number(1);
    axis_req.mutable_axis()->set_title("Garantir l'équité d'accès et la qualité des accueils");
    v1::Axis axis;
    ASSERT_TRUE(
        stub_->CreateAxis(ctg::testing::AuthedContext(Secretariat()).get(), axis_req, &axis).ok());
    axis_ = axis.name();
  }

  // Creates an organisation through the partners API and returns its name.
  std::string CreateOrganisation(::ctg::partners::v1::OrganisationKind kind,
                                 const std::string& name, const std::string& insee,
                                 const std::string& departement = "") {
    ::ctg::partners::v1::CreateOrganisationRequest req;
    req.mutable_organisation()->set_kind(kind);
    req.mutable_organisation()->set_display_name(name);
    req.mutable_organisation()->set_insee_code(insee);
    req.mutable_organisation()->set_departement(departement);
    ::ctg::partners::v1::Organisation out;
    EXPECT_TRUE(
        partners_stub_->CreateOrganisation(ctg::testing::AuthedContext(Registry()).get(), req, &out)
            .ok());
    return out.name();
  }

  static std::string Registry() {
    return ctg::testing::TestToken({Role::kRegistryAdmin}, "", "registry");
  }
  // The COPIL secretariat of the test convention (an agent of the EPCI, which holds it).
  static std::string Secretariat() {
    return ctg::testing::TestToken({Role::kCopilSecretariat}, secretariat_org_, "secretariat");
  }
  // An agent of the test convention's Caf.
  std::string CafAgent() const { return ctg::testing::TestToken({Role::kCafAgent}, caf_, "caf"); }
  static std::string AgentOf(const std::string& org) {
    return ctg::testing::TestToken({Role::kCollectivityAgent}, org, "agent");
  }

  static inline ctg::testing::TestDatabase* db_ = nullptr;
  static inline ctg::testing::InProcessService* partners_ = nullptr;
  static inline ctg::testing::InProcessService* plan_ = nullptr;
  std::unique_ptr<::ctg::partners::v1::PartnerService::Stub> partners_stub_;
  std::unique_ptr<v1::ActionPlanService::Stub> stub_;
  std::string epci_, marmande_, tonneins_, outsider_, caf_, convention_, axis_;
  static inline std::string secretariat_org_;
};

}  // namespace ctg::action_plan
