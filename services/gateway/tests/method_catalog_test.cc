// The method catalog on real descriptor files (the Echo test service and the action plan API,
// which imports google/type/date.proto): call shapes, symbol lookup, dependency closure,
// replacement of a file, rejection of bytes that are no descriptor, and the reflection answers.
#include "gateway/method_catalog.h"

#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include "ctg/action_plan/v1/action_plan.pb.h"
#include "ctg/testing/v1/echo.pb.h"

namespace ctg::gateway {
namespace {

using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;

// `file` and every file it imports, transitively, serialized.
std::vector<std::string> Serialized(const FileDescriptor* file) {
  std::vector<std::string> out;
  FileDescriptorProto proto;
  file->CopyTo(&proto);
  out.push_back(proto.SerializeAsString());
  for (int i = 0; i < file->dependency_count(); ++i) {
    auto deps = Serialized(file->dependency(i));
    out.insert(out.end(), deps.begin(), deps.end());
  }
  return out;
}

std::vector<std::string> Names(const std::vector<std::string>& files) {
  std::vector<std::string> names;
  for (const auto& f : files) {
    FileDescriptorProto proto;
    EXPECT_TRUE(proto.ParseFromString(f));
    names.push_back(proto.name());
  }
  return names;
}

TEST(MethodCatalogTest, ShapesComeFromTheDescribedMethods) {
  MethodCatalog catalog;
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Echo"), CallShape::kUnknown);
  ASSERT_TRUE(catalog.AddFiles(Serialized(ctg::testing::v1::EchoRequest::descriptor()->file())));
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Echo"), CallShape::kUnary);
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Collect"), CallShape::kClientStreaming);
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Expand"), CallShape::kServerStreaming);
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Chat"), CallShape::kBidiStreaming);
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Missing"), CallShape::kUnknown);
  EXPECT_EQ(catalog.Shape("ctg.testing.v1.EchoService/Echo"), CallShape::kUnknown);
  EXPECT_EQ(catalog.Services(), std::vector<std::string>{"ctg.testing.v1.EchoService"});
}

TEST(MethodCatalogTest, SymbolsResolveToTheirFileThenItsDependencies) {
  MethodCatalog catalog;
  ASSERT_TRUE(catalog.AddFiles(Serialized(ctg::action_plan::v1::Action::descriptor()->file())));
  ASSERT_TRUE(catalog.AddFiles(Serialized(ctg::testing::v1::EchoRequest::descriptor()->file())));
  const std::string plan_file = ctg::action_plan::v1::Action::descriptor()->file()->name();
  for (const std::string symbol :
       {"ctg.action_plan.v1.ActionPlanService", "ctg.action_plan.v1.Action",
        "ctg.action_plan.v1.ActionPlanService.GetAction"}) {
    std::vector<std::string> files;
    ASSERT_TRUE(catalog.FileContainingSymbol(symbol, &files)) << symbol;
    const auto names = Names(files);
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names[0], plan_file) << symbol;
    // Its imports follow, each once.
    EXPECT_EQ(std::count(names.begin(), names.end(), "google/type/date.proto"), 1);
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  }
  std::vector<std::string> files;
  EXPECT_FALSE(catalog.FileContainingSymbol("ctg.action_plan.v1.Nothing", &files));
  EXPECT_TRUE(files.empty());
  ASSERT_TRUE(catalog.FileByName("google/type/date.proto", &files));
  EXPECT_EQ(Names(files), std::vector<std::string>{"google/type/date.proto"});
  EXPECT_EQ(catalog.Services().size(), 2u);
}

TEST(MethodCatalogTest, ANewVersionOfAFileReplacesTheOldOne) {
  MethodCatalog catalog;
  FileDescriptorProto v1;
  v1.set_name("svc.proto");
  v1.set_package("p");
  auto* m = v1.add_service();
  m->set_name("S");
  auto* get = m->add_method();
  get->set_name("Get");
  ASSERT_TRUE(catalog.AddFiles({v1.SerializeAsString()}));
  EXPECT_EQ(catalog.Shape("/p.S/Get"), CallShape::kUnary);
  FileDescriptorProto v2 = v1;
  v2.mutable_service(0)->mutable_method(0)->set_name("Watch");
  v2.mutable_service(0)->mutable_method(0)->set_server_streaming(true);
  ASSERT_TRUE(catalog.AddFiles({v2.SerializeAsString()}));
  EXPECT_EQ(catalog.Shape("/p.S/Watch"), CallShape::kServerStreaming);
  EXPECT_EQ(catalog.Shape("/p.S/Get"), CallShape::kUnknown);  // gone with the old version
}

TEST(MethodCatalogTest, BytesThatAreNoDescriptorAddNothing) {
  MethodCatalog catalog;
  auto good = Serialized(ctg::testing::v1::EchoRequest::descriptor()->file());
  good.push_back(std::string("\xff\xff\xff\xff\x0f", 5));
  EXPECT_FALSE(catalog.AddFiles(good));
  EXPECT_EQ(catalog.Shape("/ctg.testing.v1.EchoService/Echo"), CallShape::kUnknown);
  EXPECT_TRUE(catalog.Services().empty());
}

TEST(MethodCatalogTest, ReflectionAnswersMirrorTheRequest) {
  MethodCatalog catalog;
  ASSERT_TRUE(catalog.AddFiles(Serialized(ctg::testing::v1::EchoRequest::descriptor()->file())));
  internal::ServerReflectionRequest request;
  request.set_host("gw");
  request.set_file_containing_symbol("ctg.testing.v1.EchoRequest");
  std::string bytes;
  ASSERT_TRUE(AnswerReflection(catalog, request.SerializeAsString(), &bytes));
  internal::ServerReflectionResponse response;
  ASSERT_TRUE(response.ParseFromString(bytes));
  EXPECT_EQ(response.valid_host(), "gw");
  EXPECT_EQ(response.original_request().file_containing_symbol(), "ctg.testing.v1.EchoRequest");
  EXPECT_EQ(Names({response.file_descriptor_response().file_descriptor_proto().begin(),
                   response.file_descriptor_response().file_descriptor_proto().end()})[0],
            "ctg/testing/v1/echo.proto");

  request.set_all_extension_numbers_of_type("ctg.testing.v1.EchoRequest");
  ASSERT_TRUE(AnswerReflection(catalog, request.SerializeAsString(), &bytes));
  ASSERT_TRUE(response.ParseFromString(bytes));
  EXPECT_EQ(response.error_response().error_code(), 5);  // NOT_FOUND: no extensions here

  EXPECT_FALSE(AnswerReflection(catalog, std::string("\xff\xff\xff", 3), &bytes));
}

}  // namespace
}  // namespace ctg::gateway
