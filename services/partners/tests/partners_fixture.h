#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "common/testing/test_database.h"
#include "common/testing/test_host.h"
#include "partners/service.h"

namespace ctg::partners {

// Base fixture of the partners pgtests: one throwaway database and one in-process service per
// test binary, emptied before each test, and a fresh stub.
class PartnersServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new ctg::testing::TestDatabase({PartnerServiceSpec().migrations});
    service_ = new ctg::testing::InProcessService(PartnerServiceSpec(), db_->url());
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

  static inline ctg::testing::TestDatabase* db_ = nullptr;
  static inline ctg::testing::InProcessService* service_ = nullptr;
  std::unique_ptr<v1::PartnerService::Stub> stub_;
};

}  // namespace ctg::partners
