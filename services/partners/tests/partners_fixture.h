#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "common/api.h"
#include "common/clock.h"
#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "partners/service.h"

namespace ctg::partners {

// "Today" for every partners pgtest: the service runs on a clock stopped at 10:00 UTC that day,
// so no test depends on the real date.
inline constexpr CivilDate kToday{2026, 6, 15};
inline std::chrono::system_clock::time_point TestNow() {
  return std::chrono::system_clock::time_point(
      std::chrono::seconds(kToday.ToDays() * 86400 + 36000));
}
// The date `offset` days from kToday.
inline google::type::Date Days(int offset) {
  return CivilDate::FromDays(kToday.ToDays() + offset).ToProto();
}

// Base fixture of the partners pgtests: one throwaway database and one in-process service per
// test binary, emptied before each test, and a fresh stub.
class PartnersServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new ctg::testing::TestDatabase({PartnerServiceSpec().migrations});
    service_ = new ctg::testing::InProcessService(PartnerServiceSpec(), db_->url(), {},
                                                  FixedClock(TestNow()));
  }
  static void TearDownTestSuite() {
    delete service_;
    delete db_;
    service_ = nullptr;
    db_ = nullptr;
  }
  void SetUp() override {
    db_->Truncate("partners");
    stub_ = v1::PartnerService::NewStub(service_->channel());
  }

  // The registry's administrator: creates and corrects every organisation.
  static std::string Registry() {
    return ctg::testing::TestToken({Role::kRegistryAdmin}, "", "registry");
  }
  // An agent of `organisation` ("organisations/{uuid}") with `role`.
  static std::string AgentOf(const std::string& organisation,
                             Role role = Role::kCollectivityAgent) {
    return ctg::testing::TestToken({role}, organisation, "agent");
  }

  static inline ctg::testing::TestDatabase* db_ = nullptr;
  static inline ctg::testing::InProcessService* service_ = nullptr;
  std::unique_ptr<v1::PartnerService::Stub> stub_;
};

}  // namespace ctg::partners
