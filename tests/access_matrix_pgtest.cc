// Every method of every routed service x every role, sent from outside as an institutional
// system (or an attacker) would: through the real ctg-gateway, and straight to the real
// ctg-partners, ctg-action-plan, ctg-indicators, ctg-consents and ctg-reporting binaries, with an
// empty request.
// Checks, pair by pair:
// - the gateway answers exactly what the service answers (it never refuses what the service
//   allows, and lets nothing through that the service refuses);
// - a role outside the method's declared access is refused with PERMISSION_DENIED before its
//   request is looked at (an empty request would otherwise be INVALID_ARGUMENT);
// - a role inside it is never refused for its role.
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <future>
#include <map>

#include "common/access.h"
#include "common/auth.h"
#include "ctg/action_plan/v1/action_plan.pb.h"
#include "ctg/consents/v1/consents.pb.h"
#include "ctg/indicators/v1/indicators.pb.h"
#include "ctg/partners/v1/partners.pb.h"
#include "ctg/reporting/v1/reporting.pb.h"
#include "e2e_support.h"

namespace ctg::e2e {
namespace {

using Serving = grpc::health::v1::HealthCheckResponse;

// Sends an empty request to `method` ("/pkg.Service/Method") over `channel`.
grpc::Status CallEmpty(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                       const std::string& token) {
  grpc::GenericStub stub(channel);
  auto context = Context(token);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

TEST(AccessMatrix, TheGatewayAndTheServicesAgreeOnEveryMethodAndRole) {
  EmptyDatabase db;
  PartnersProcess partners(db.url());
  ASSERT_TRUE(partners.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) << partners.log();
  ActionPlanProcess plan(db.url(), partners.address());
  ASSERT_TRUE(plan.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) << plan.log();
  IndicatorsProcess indicators(db.url(), partners.address());
  ASSERT_TRUE(indicators.WaitForHealth(Serving::SERVING, std::chrono::seconds(30)))
      << indicators.log();
  ConsentsProcess consents(db.url(), partners.address());
  ASSERT_TRUE(consents.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) << consents.log();
  ReportingProcess reporting(db.url(), {{"partners", partners.address()},
                                        {"action-plan", plan.address()},
                                        {"indicators", indicators.address()},
                                        {"consents", consents.address()}});
  ASSERT_TRUE(reporting.WaitForHealth(Serving::SERVING, std::chrono::seconds(30)))
      << reporting.log();
  GatewayProcess gateway("ctg.partners.v1.PartnerService = " + partners.address() + "\n" +
                             "ctg.action_plan.v1.ActionPlanService = " + plan.address() + "\n" +
                             "ctg.indicators.v1.IndicatorService = " + indicators.address() + "\n" +
                             "ctg.consents.v1.ConsentService = " + consents.address() + "\n" +
                             "ctg.reporting.v1.ReportingService = " + reporting.address() + "\n",
                         partners.key_file(), {"--rate-limit-rps=0"});
  ASSERT_TRUE(gateway.WaitForHealth(Serving::SERVING, std::chrono::seconds(30))) << gateway.log();

  const std::map<std::string, std::shared_ptr<grpc::Channel>> direct = {
      {ctg::partners::v1::Organisation::descriptor()->file()->service(0)->full_name(),
       partners.channel()},
      {ctg::action_plan::v1::Action::descriptor()->file()->service(0)->full_name(), plan.channel()},
      {ctg::indicators::v1::Indicator::descriptor()->file()->service(0)->full_name(),
       indicators.channel()},
      {ctg::consents::v1::ExchangeRequest::descriptor()->file()->service(0)->full_name(),
       consents.channel()},
      {ctg::reporting::v1::ReportJob::descriptor()->file()->service(0)->full_name(),
       reporting.channel()}};
  // Every caller acts for an organisation (unknown to the registry), as real tokens do.
  const std::string organisation = "organisations/6f2d3c1a-0b4e-4a8f-9c7d-1e2f3a4b5c6d";
  int pairs = 0, allowed_pairs = 0;
  for (const auto& [service, channel] : direct) {
    for (const auto& policy : ServicePolicies(service)) {
      const std::string method = "/" + policy.FullName();
      for (Role role : AllRoles()) {
        const std::string token = Token({std::string(RoleName(role))}, organisation);
        const grpc::Status straight = CallEmpty(channel, method, token);
        const grpc::Status through = CallEmpty(gateway.channel(), method, token);
        const bool allowed = policy.Allows(Principal{"matrix", organisation, {role}});
        ++pairs;
        allowed_pairs += allowed;
        const std::string pair = policy.FullName() + " x " + std::string(RoleName(role));
        EXPECT_EQ(through.error_code(), straight.error_code())
            << pair << ": gateway said " << through.error_message() << "; service said "
            << straight.error_message();
        if (allowed) {
          EXPECT_NE(straight.error_code(), grpc::StatusCode::PERMISSION_DENIED)
              << pair << ": " << straight.error_message();
        } else {
          EXPECT_EQ(straight.error_code(), grpc::StatusCode::PERMISSION_DENIED)
              << pair << ": " << straight.error_message();
        }
      }
    }
  }
  // 25 partners + 13 action plan + 11 indicators + 12 consents + 5 reporting methods today, 8
  // roles each.
  EXPECT_GE(pairs, 66 * 8);
  EXPECT_GT(allowed_pairs, 0);
  std::printf("access matrix: %d method x role pairs, %d allowed, gateway == service on all\n",
              pairs, allowed_pairs);
}

}  // namespace
}  // namespace ctg::e2e
