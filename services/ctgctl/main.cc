// ctgctl: the command-line client of the CTG backend.
//
//   ctgctl token --role ROLE [--role ROLE...] [--org organisations/UUID] [--sub NAME]
//                [--ttl-hours N] [--key-file F | --private-key-file PEM [--kid K]]
//                [--issuer I] [--audience A]
//   ctgctl call [--addr HOST:PORT] [--token T] [--timeout-seconds N] FULL_METHOD [JSON|@FILE|-]
//   ctgctl methods
//   ctgctl access-table
//   ctgctl import-convention [--addr ...] [--token ...] [--timeout-seconds N]
//                            --document FILE.json [--communes FILE.csv]
//   ctgctl load-action-plan --plan FILE.json [--addr ...] [--partners-addr ...] [--token ...]
//                           [--convention conventions/UUID] [--timeout-seconds N]
//
// `call` works for any unary RPC whose descriptors are linked into this binary: the request is
// built from JSON with the compiled-in descriptors and sent with the generic stub, so a new RPC
// needs no change here.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "common/access.h"
#include "common/auth.h"
#include "common/config.h"
#include "common/jwt_keys.h"
#include "common/metrics.h"
#include "common/rpc.h"
#include "ctg/action_plan/v1/action_plan.grpc.pb.h"
#include "ctg/consents/v1/consents.grpc.pb.h"
#include "ctg/indicators/v1/indicators.grpc.pb.h"
#include "ctg/partners/v1/partners.grpc.pb.h"
#include "ctg/partners/v1/partners.pb.h"
#include "ctg/reporting/v1/reporting.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "partners/convention_import.h"

namespace ctg::ctgctl {
namespace {

namespace pb = google::protobuf;

constexpr char kUsage[] =
    R"(usage:
  ctgctl token --role ROLE [--role ROLE...] [--org organisations/UUID] [--sub NAME]
               [--ttl-hours N] [--key-file FILE] [--issuer I] [--audience A]
      Prints an HS256 token valid 12 hours (10 minutes with the service role; the backend
      refuses longer lives unless configured otherwise). Key: --key-file, else CTG_JWT_KEY_FILE,
      else CTG_JWT_KEY.
      With --private-key-file PEM [--kid K]: an RS256 or ES256 token instead (RSA or P-256 key).
      Issuer/audience: CTG_JWT_ISSUER / CTG_JWT_AUDIENCE, else "ctg-dev" / "ctg".
  ctgctl call [--addr HOST:PORT] [--token T] [--timeout-seconds N] FULL_METHOD [JSON|@FILE|-]
      Calls a unary RPC, or a server-streaming one (each response on its own line), e.g.
      ctg.partners.v1.PartnerService/ListOrganisations '{"pageSize": 50}'.
      Address: --addr, else CTG_ADDR, else 127.0.0.1:50051. Token: --token, else CTG_TOKEN.
  ctgctl download-report --report reports/UUID [--artefact NAME] [--out-dir DIR]
      Downloads a report's artefacts (report.json, ...) into DIR (default: here), each checked
      against the SHA-256 the reporting service gives for it.
  ctgctl methods
      Lists every RPC this client knows.
  ctgctl access-table
      Prints, from the access declared in the protos, who may call each method (Markdown; the
      README's role tables are this output).
  ctgctl import-convention [--addr ...] [--token ...] [--timeout-seconds N]
                           --document FILE.json [--communes FILE.csv]
      Imports a convention document (JSON ImportConventionRequest) with the member communes of
      the CSV file, and prints a summary.
  ctgctl load-action-plan --plan FILE.json [--addr HOST:PORT] [--partners-addr HOST:PORT]
                          [--token T] [--convention conventions/UUID] [--timeout-seconds N]
      Loads an action plan (axes, actions, demonstration progress reports) into the convention
      of the territory the file names (or --convention), creating only what is missing, and
      prints a summary. Address: --addr, else CTG_ACTION_PLAN_ADDR, else 127.0.0.1:50052;
      partners: --partners-addr, else CTG_PARTNERS_ADDR, else CTG_ADDR, else 127.0.0.1:50051.
      Demonstration reports need a token with the `copil_secretariat` role.
  ctgctl load-indicators --catalogue FILE.json [--addr HOST:PORT] [--partners-addr HOST:PORT]
                         [--action-plan-addr HOST:PORT] [--token T]
      Loads an indicator catalogue (definitions linked to the plan's actions by number) and
      its demonstration values for the member communes of the territory it names, creating
      only what is missing. Address: --addr, else CTG_INDICATORS_ADDR, else 127.0.0.1:50053.
      Needs a caf_agent token of the convention's Caf.
  ctgctl load-consents --set demo --key-file FILE [--addr HOST:PORT] [--partners-addr HOST:PORT]
                       [--territory-siren SIREN]
      Development only: loads demonstration exchange requests from the agglomeration to its
      convention's Caf in several states (active, waiting on the decision, on the study, draft),
      signing the actors' tokens with the development key. Address: --addr, else
      CTG_CONSENTS_ADDR, else 127.0.0.1:50054.
Connection flags of call, import-convention, load-action-plan, load-indicators and load-consents: --ca-file FILE (else
CTG_CA_FILE) switches to TLS, trusting that CA (the gateway's public port; `./ctg up` writes
.ctg/tls/ca.pem); --client-cert-file / --client-key-file (else CTG_CLIENT_CERT_FILE /
CTG_CLIENT_KEY_FILE) present a client certificate (mTLS).
Exit status: 0 on success, 1 on a failed call or bad input, 2 on a usage error.
)";

// A wrong command line: exit 2 with the usage hint.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input or a failed operation: exit 1 with the message.
class CommandError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A failed RPC, already printed to stderr: exit 1.
class CallFailed : public std::exception {};

// The command line after the sub-command: flags (all take a value) and positional arguments.
struct Args {
  std::map<std::string, std::vector<std::string>> flags;
  std::vector<std::string> positional;

  // The last value of `flag`, or `fallback`.
  std::string Get(const std::string& flag, const std::string& fallback = "") const {
    auto it = flags.find(flag);
    return it == flags.end() ? fallback : it->second.back();
  }
  bool Has(const std::string& flag) const { return flags.count(flag) != 0; }
};

// Parses "--name value" and "--name=value" forms; "-" alone is a positional argument (stdin).
// Values are never echoed in errors: a flag may carry a token.
Args ParseArgs(int argc, char** argv, int first, const std::set<std::string>& known) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() < 2 || arg.rfind("--", 0) != 0) {
      args.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    const auto eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      if (known.count(name) != 0 && i + 1 >= argc) {
        throw UsageError("flag --" + name + " needs a value");
      }
      if (known.count(name) != 0) value = argv[++i];
    }
    if (known.count(name) == 0) throw UsageError("unknown flag --" + name);
    args.flags[name].push_back(value);
  }
  return args;
}

// The value of environment variable `name`, or `fallback` when unset or empty.
std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// Parses a positive integer flag value.
int PositiveInt(const std::string& value, const std::string& flag, int max) {
  try {
    size_t used = 0;
    const int v = std::stoi(value, &used);
    if (used == value.size() && v > 0 && v <= max) return v;
  } catch (const std::exception&) {
  }
  throw UsageError("flag --" + flag + " must be an integer between 1 and " + std::to_string(max));
}

// Reads a whole file, or stdin for "-".
std::string ReadInput(const std::string& path, const std::string& what) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CommandError("cannot read " + what + " file " + path);
  ss << in.rdbuf();
  return ss.str();
}

// ---- descriptors ------------------------------------------------------------------------------

// The proto files of every service this binary can call: the protos of the source tree whose
// generated code is linked in (CTGCTL_PROTO_FILES, see CMakeLists.txt), then gRPC's reflection
// protocol when libgrpc++_reflection is loaded. Naming the partners and health descriptors here
// also makes sure the linker keeps them.
std::vector<const pb::FileDescriptor*> LinkedFiles() {
  std::vector<const pb::FileDescriptor*> files = {
      ::ctg::partners::v1::Organisation::descriptor()->file(),
      ::grpc::health::v1::HealthCheckRequest::descriptor()->file(),
  };
  const auto* pool = pb::DescriptorPool::generated_pool();
  std::vector<std::string> names;
  std::stringstream list(CTGCTL_PROTO_FILES);
  for (std::string name; std::getline(list, name, ',');) names.push_back(name);
  names.push_back("src/proto/grpc/reflection/v1alpha/reflection.proto");
  for (const auto& name : names) {
    const auto* file = pool->FindFileByName(name);
    if (file != nullptr && std::find(files.begin(), files.end(), file) == files.end()) {
      files.push_back(file);
    }
  }
  return files;
}

// "package.Service/Method" (also accepted: a leading "/", or "package.Service.Method").
const pb::MethodDescriptor* FindMethod(std::string full_name) {
  LinkedFiles();
  if (!full_name.empty() && full_name[0] == '/') full_name.erase(0, 1);
  auto sep = full_name.rfind('/');
  if (sep == std::string::npos) sep = full_name.rfind('.');
  if (sep == std::string::npos || sep == 0 || sep + 1 == full_name.size()) return nullptr;
  const auto* service =
      pb::DescriptorPool::generated_pool()->FindServiceByName(full_name.substr(0, sep));
  return service == nullptr ? nullptr : service->FindMethodByName(full_name.substr(sep + 1));
}

// ---- calls --------------------------------------------------------------------------------------

// Connection settings shared by the sub-commands that call a service.
struct Target {
  std::string address;
  std::string token;
  int timeout_seconds = 30;
  // TLS (the gateway's public port): the CA that signed the server's certificate, and for mTLS
  // the client's own certificate and key, all PEM. Plaintext when no CA is given.
  std::string tls_ca;
  std::string tls_client_cert;
  std::string tls_client_key;
};

Target TargetFrom(const Args& args, int default_timeout) {
  Target t;
  t.address = args.Get("addr", EnvOr("CTG_ADDR", "127.0.0.1:50051"));
  t.token = args.Get("token", EnvOr("CTG_TOKEN", ""));
  // A bearer token is printable ASCII without spaces (RFC 6750's b64token, which JWTs are): gRPC
  // aborts the process on a header value with anything else (a pasted error message, a line
  // break), so it is refused here, without echoing it.
  for (const char c : t.token) {
    if (c <= 0x20 || c >= 0x7F) {
      throw UsageError(
          "the token (--token or CTG_TOKEN) holds a space, a line break or a character outside "
          "printable ASCII: it cannot be a bearer token (was it the output of a failed "
          "'ctgctl token'?)");
    }
  }
  t.timeout_seconds = default_timeout;
  if (const std::string ca = args.Get("ca-file", EnvOr("CTG_CA_FILE", "")); !ca.empty()) {
    t.tls_ca = ReadSecretFile(ca, "--ca-file (CTG_CA_FILE)");
  }
  const std::string cert = args.Get("client-cert-file", EnvOr("CTG_CLIENT_CERT_FILE", ""));
  const std::string key = args.Get("client-key-file", EnvOr("CTG_CLIENT_KEY_FILE", ""));
  if (cert.empty() != key.empty()) {
    throw UsageError("--client-cert-file and --client-key-file go together");
  }
  if (!cert.empty()) {
    if (t.tls_ca.empty()) throw UsageError("a client certificate needs --ca-file (TLS)");
    t.tls_client_cert = ReadSecretFile(cert, "--client-cert-file (CTG_CLIENT_CERT_FILE)");
    t.tls_client_key = ReadSecretFile(key, "--client-key-file (CTG_CLIENT_KEY_FILE)");
  }
  if (args.Has("timeout-seconds")) {
    t.timeout_seconds = PositiveInt(args.Get("timeout-seconds"), "timeout-seconds", 86400);
  }
  return t;
}

std::shared_ptr<grpc::Channel> Connect(const Target& target) {
  grpc::ChannelArguments channel_args;
  ApplyChannelLimits(channel_args);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!target.tls_ca.empty()) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = target.tls_ca;
    tls.pem_cert_chain = target.tls_client_cert;
    tls.pem_private_key = target.tls_client_key;
    credentials = grpc::SslCredentials(tls);
  }
  return grpc::CreateCustomChannel(target.address, credentials, channel_args);
}

// A context with the bearer token (when any) and the deadline.
void Prepare(const Target& target, grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(target.timeout_seconds));
  if (!target.token.empty()) context->AddMetadata("authorization", "Bearer " + target.token);
}

// Sends `request` to the unary method `path` ("/package.Service/Method") with the generic stub
// and parses the answer into `response`.
grpc::Status GenericUnaryCall(const Target& target, const std::string& path,
                              const pb::Message& request, pb::Message* response) {
  std::string bytes;
  if (!request.SerializeToString(&bytes)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "cannot serialise the request");
  }
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::ClientContext context;
  Prepare(target, &context);
  grpc::GenericStub stub(Connect(target));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, path, grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) return status;
  if (!response->ParseFromString(ByteBufferToString(response_buffer))) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "the response is not a valid " + response->GetTypeName());
  }
  return status;
}

// Calls server-streaming method `path` with `request` and hands each response's bytes to
// `on_response` as it arrives; returns the call's final status.
grpc::Status GenericServerStreamCall(const Target& target, const std::string& path,
                                     const pb::Message& request,
                                     const std::function<void(const std::string&)>& on_response) {
  // One request then the responses, as a bidirectional generic call (the framing is the same).
  class Reactor : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    Reactor(grpc::ByteBuffer request, const std::function<void(const std::string&)>& on_response)
        : request_(std::move(request)), on_response_(on_response) {}
    void Start() {
      StartWrite(&request_, grpc::WriteOptions().set_last_message());
      StartRead(&response_);
      StartCall();
    }
    void OnReadDone(bool ok) override {
      if (!ok) return;
      on_response_(ByteBufferToString(response_));
      StartRead(&response_);
    }
    void OnDone(const grpc::Status& status) override { done_.set_value(status); }
    grpc::Status Wait() { return done_.get_future().get(); }

   private:
    grpc::ByteBuffer request_, response_;
    const std::function<void(const std::string&)>& on_response_;
    std::promise<grpc::Status> done_;
  };
  std::string bytes;
  if (!request.SerializeToString(&bytes)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "cannot serialise the request");
  }
  grpc::Slice slice(bytes);
  grpc::ClientContext context;
  Prepare(target, &context);
  grpc::GenericStub stub(Connect(target));
  Reactor reactor(grpc::ByteBuffer(&slice, 1), on_response);
  stub.PrepareBidiStreamingCall(&context, path, grpc::StubOptions(), &reactor);
  reactor.Start();
  return reactor.Wait();
}

// Prints "ERROR <CODE>: message" and the details of a google.rpc.Status (field violations,
// precondition failures, error info) to stderr.
void PrintError(const grpc::Status& status) {
  std::cerr << "ERROR " << StatusCodeName(status.error_code()) << ": " << status.error_message()
            << "\n";
  if (status.error_details().empty()) return;
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return;
  for (const auto& detail : rich.details()) {
    google::rpc::BadRequest bad_request;
    google::rpc::PreconditionFailure precondition;
    google::rpc::ErrorInfo info;
    if (detail.UnpackTo(&bad_request)) {
      for (const auto& v : bad_request.field_violations()) {
        std::cerr << "  " << v.field() << ": " << v.description() << "\n";
      }
    } else if (detail.UnpackTo(&precondition)) {
      for (const auto& v : precondition.violations()) {
        std::cerr << "  " << v.type() << " " << v.subject() << ": " << v.description() << "\n";
      }
    } else if (detail.UnpackTo(&info)) {
      std::cerr << "  reason: " << info.reason() << "\n";
    } else {
      std::cerr << "  (detail " << detail.type_url() << ")\n";
    }
  }
}

// `message` as indented JSON ending with a newline, or on one line when `compact` (streams).
std::string ToJson(const pb::Message& message, bool compact = false) {
  pb::util::JsonPrintOptions options;
  options.add_whitespace = !compact;
  options.always_print_primitive_fields = false;
  options.preserve_proto_field_names = false;
  std::string json;
  const auto status = pb::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    throw CommandError("cannot print the response as JSON: " + std::string(status.message()));
  }
  if (json.empty() || json.back() != '\n') json += '\n';
  return json;
}

// Fills `message` from JSON; unknown fields are an error.
void FromJson(const std::string& json, pb::Message* message) {
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = pb::util::JsonStringToMessage(json, message, options);
  if (!status.ok()) {
    throw CommandError("invalid JSON for " + message->GetTypeName() + ": " +
                       std::string(status.message()));
  }
}

// ---- sub-commands -------------------------------------------------------------------------------

int Token(const Args& args) {
  if (!args.positional.empty()) throw UsageError("token takes no positional argument");
  TokenClaims claims;
  for (const auto& name :
       args.flags.count("role") ? args.flags.at("role") : std::vector<std::string>{}) {
    const auto role = ParseRole(name);
    if (!role) {
      throw UsageError("unknown role '" + name +
                       "' (known: caf_agent, collectivity_agent, copil_secretariat, dpo, cdsf, "
                       "auditor, service)");
    }
    claims.roles.push_back(*role);
  }
  if (claims.roles.empty()) throw UsageError("token needs at least one --role");
  claims.organisation = args.Get("org");
  if (!claims.organisation.empty() && claims.organisation.rfind("organisations/", 0) != 0) {
    throw UsageError("--org must be \"organisations/{uuid}\"");
  }
  claims.subject = args.Get("sub", EnvOr("USER", "ctgctl"));
  claims.issuer = args.Get("issuer", EnvOr("CTG_JWT_ISSUER", "ctg-dev"));
  claims.audience = args.Get("audience", EnvOr("CTG_JWT_AUDIENCE", "ctg"));
  // Within the lifetimes the backend accepts by default: 12 hours, 15 minutes for a service.
  const bool service =
      std::find(claims.roles.begin(), claims.roles.end(), Role::kService) != claims.roles.end();
  if (service) claims.lifetime = std::chrono::minutes(10);
  if (args.Has("ttl-hours")) {
    claims.lifetime = std::chrono::hours(PositiveInt(args.Get("ttl-hours"), "ttl-hours", 168));
  }
  if (args.Has("private-key-file")) {
    // Production-style token: RS256 or ES256, as an identity provider signs them.
    const std::string pem = ReadSecretFile(args.Get("private-key-file"), "--private-key-file");
    std::cout << MintAsymmetricToken(claims, pem, args.Get("kid")) << "\n";
    return 0;
  }
  std::string key;
  if (args.Has("key-file")) {
    key = ReadSecretFile(args.Get("key-file"), "--key-file");
  } else if (const std::string file = EnvOr("CTG_JWT_KEY_FILE", ""); !file.empty()) {
    key = ReadSecretFile(file, "CTG_JWT_KEY_FILE");
  } else {
    key = EnvOr("CTG_JWT_KEY", "");
  }
  if (key.empty())
    throw CommandError("no signing key: give --key-file, CTG_JWT_KEY_FILE or CTG_JWT_KEY");
  if (key.size() < 32) throw CommandError("the signing key must be at least 32 bytes long");
  std::cout << MintHs256Token(claims, key) << "\n";
  return 0;
}

int Call(const Args& args) {
  if (args.positional.empty() || args.positional.size() > 2) {
    throw UsageError("call needs FULL_METHOD and a JSON request");
  }
  const Target target = TargetFrom(args, 30);
  const auto* method = FindMethod(args.positional[0]);
  if (method == nullptr) {
    throw CommandError("unknown method '" + args.positional[0] +
                       "' (ctgctl methods lists them; write package.Service/Method)");
  }
  if (method->client_streaming()) {
    throw CommandError("method " + method->full_name() +
                       " is client-streaming; ctgctl calls unary and server-streaming methods");
  }
  std::string json = args.positional.size() == 2 ? args.positional[1] : "{}";
  if (json == "-") {
    json = ReadInput("-", "request");
  } else if (!json.empty() && json[0] == '@') {
    json = ReadInput(json.substr(1), "request");
  }
  pb::DynamicMessageFactory factory;
  std::unique_ptr<pb::Message> request(factory.GetPrototype(method->input_type())->New());
  std::unique_ptr<pb::Message> response(factory.GetPrototype(method->output_type())->New());
  FromJson(json, request.get());
  const std::string path = "/" + method->service()->full_name() + "/" + method->name();
  if (method->server_streaming()) {
    // Each response as it arrives, one JSON document per line.
    const grpc::Status status =
        GenericServerStreamCall(target, path, *request, [&](const std::string& bytes) {
          if (!response->ParseFromString(bytes)) return;
          std::cout << ToJson(*response, /*compact=*/true) << std::flush;
        });
    if (!status.ok()) {
      PrintError(status);
      throw CallFailed();
    }
    return 0;
  }
  const grpc::Status status = GenericUnaryCall(target, path, *request, response.get());
  if (!status.ok()) {
    PrintError(status);
    throw CallFailed();
  }
  std::cout << ToJson(*response);
  return 0;
}

int Methods(const Args& args) {
  if (!args.positional.empty()) throw UsageError("methods takes no argument");
  for (const auto* file : LinkedFiles()) {
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const auto* method = service->method(m);
        std::cout << service->full_name() << "/" << method->name() << "  ("
                  << method->input_type()->full_name() << " -> "
                  << method->output_type()->full_name() << ")";
        if (method->client_streaming() || method->server_streaming()) std::cout << " [streaming]";
        std::cout << "\n";
      }
    }
  }
  return 0;
}

// Markdown: one table per service of who may call each method, printed from the declarations
// compiled in (the README embeds this output; a test keeps the two equal).
int AccessTable(const Args& args) {
  if (!args.positional.empty()) throw UsageError("access-table takes no argument");
  for (const auto* file : LinkedFiles()) {
    for (int s = 0; s < file->service_count(); ++s) {
      const auto* service = file->service(s);
      if (service->full_name().rfind("ctg.", 0) != 0) continue;
      std::cout << "`" << service->full_name() << "`\n\n"
                << "| method | roles | object-level rule | reserved fields |\n"
                << "|---|---|---|---|\n";
      for (const auto& policy : ServicePolicies(*service)) {
        std::string fields;
        for (const auto& f : policy.fields) {
          MethodPolicy only;
          only.roles = f.roles;
          fields += (fields.empty() ? "" : "; ") + ("`" + f.path + "`: " + DescribeRoles(only));
        }
        std::cout << "| " << policy.method << (policy.read_only ? " (read)" : "") << " | "
                  << DescribeRoles(policy) << " | " << policy.object_rule << " | " << fields
                  << " |\n";
      }
      std::cout << "\n";
    }
  }
  return 0;
}

std::string FormatDate(const google::type::Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year(), d.month(), d.day());
  return buf;
}

int ImportConvention(const Args& args) {
  if (!args.positional.empty()) throw UsageError("import-convention takes no positional argument");
  if (!args.Has("document")) throw UsageError("import-convention needs --document FILE.json");
  const Target target = TargetFrom(args, 120);
  ::ctg::partners::v1::ImportConventionRequest request;
  FromJson(ReadInput(args.Get("document"), "document"), &request);
  if (args.Has("communes")) {
    const std::string path = args.Get("communes");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CommandError("cannot read communes file " + path);
    std::vector<::ctg::partners::v1::MemberCommune> communes;
    try {
      communes = ::ctg::partners::ReadMemberCommunesCsv(in);
    } catch (const std::invalid_argument& e) {
      throw CommandError(path + ": " + e.what());
    }
    request.clear_member_communes();
    for (auto& c : communes) *request.add_member_communes() = std::move(c);
  } else if (request.member_communes_size() == 0) {
    throw UsageError("the document lists no member communes: give --communes FILE.csv");
  }

  auto stub = ::ctg::partners::v1::PartnerService::NewStub(Connect(target));
  grpc::ClientContext context;
  Prepare(target, &context);
  ::ctg::partners::v1::ImportConventionResponse response;
  const grpc::Status status = stub->ImportConvention(&context, request, &response);
  if (!status.ok()) {
    PrintError(status);
    throw CallFailed();
  }
  const auto& conv = response.convention();
  std::cout << "Convention importée : " << conv.name() << "\n"
            << "  « " << conv.title() << " »\n"
            << "  période : du " << FormatDate(conv.start_date()) << " au "
            << FormatDate(conv.end_date()) << "\n"
            << "  territoire : " << conv.territory() << "\n"
            << "  secrétariat : " << conv.secretariat() << "\n"
            << "  parties : " << conv.parties_size() << "\n";
  for (const auto& p : conv.parties()) {
    if (p.kind() == ::ctg::partners::v1::CAF) std::cout << "  caf : " << p.organisation() << "\n";
  }
  std::cout << "Communes membres chargées : " << response.communes_loaded() << "\n"
            << "Communes citées comme parties : " << response.communes_listed_as_parties() << "\n"
            << "Blocs de signature de communes : " << response.commune_signature_blocks() << "\n";
  if (response.warnings_size() == 0) {
    std::cout << "Aucun avertissement.\n";
  } else {
    std::cout << "Avertissements (" << response.warnings_size() << ") :\n";
    for (const auto& w : response.warnings()) {
      std::cout << "  - [" << w.code() << "] " << w.message();
      if (!w.organisation().empty()) std::cout << " (" << w.organisation() << ")";
      std::cout << "\n";
    }
  }
  return 0;
}

// ---- load-action-plan ---------------------------------------------------------------------------

namespace apv1 = ::ctg::action_plan::v1;
namespace pv1 = ::ctg::partners::v1;

// A lower-case UUID (version 4 layout) derived from SHA-256 of `key`: the same key always gives
// the same request id, so a re-run of the loader is answered with the first result.
std::string DerivedRequestId(const std::string& key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x40);
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0f];
  }
  return out;
}

// Typed access to the generic JSON of a plan file; `where` names the place in errors.
const pb::Value* Field(const pb::Struct& object, const std::string& key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? nullptr : &it->second;
}

std::string StringField(const pb::Struct& object, const std::string& key, const std::string& where,
                        bool required) {
  const auto* v = Field(object, key);
  if (v == nullptr || v->has_null_value()) {
    if (required) throw CommandError(where + ": \"" + key + "\" is missing");
    return "";
  }
  if (!v->has_string_value()) throw CommandError(where + ": \"" + key + "\" must be a string");
  return v->string_value();
}

int IntField(const pb::Struct& object, const std::string& key, const std::string& where,
             bool required, int fallback = 0) {
  const auto* v = Field(object, key);
  if (v == nullptr) {
    if (required) throw CommandError(where + ": \"" + key + "\" is missing");
    return fallback;
  }
  if (!v->has_number_value() || v->number_value() != static_cast<int>(v->number_value())) {
    throw CommandError(where + ": \"" + key + "\" must be an integer");
  }
  return static_cast<int>(v->number_value());
}

bool BoolField(const pb::Struct& object, const std::string& key, const std::string& where) {
  const auto* v = Field(object, key);
  if (v == nullptr) return false;
  if (!v->has_bool_value()) throw CommandError(where + ": \"" + key + "\" must be true or false");
  return v->bool_value();
}

// The objects of list `key` (an absent list is empty).
std::vector<const pb::Struct*> ObjectList(const pb::Struct& object, const std::string& key,
                                          const std::string& where) {
  std::vector<const pb::Struct*> out;
  const auto* v = Field(object, key);
  if (v == nullptr) return out;
  if (!v->has_list_value()) throw CommandError(where + ": \"" + key + "\" must be a list");
  for (int i = 0; i < v->list_value().values_size(); ++i) {
    const auto& item = v->list_value().values(i);
    if (!item.has_struct_value()) {
      throw CommandError(where + "." + key + "[" + std::to_string(i) + "] must be an object");
    }
    out.push_back(&item.struct_value());
  }
  return out;
}

// "YYYY-MM-DD" as a google.type.Date.
google::type::Date ParseIsoDate(const std::string& text, const std::string& where) {
  int y = 0, m = 0, d = 0;
  char rest = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &rest) != 3 || text.size() != 10 ||
      m < 1 || m > 12 || d < 1 || d > 31) {
    throw CommandError(where + ": \"" + text + "\" is not a date written YYYY-MM-DD");
  }
  google::type::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

// One demonstration report of the plan file, with the number of its action.
struct PlanReport {
  int action = 0;
  apv1::ProgressReport report;
};

// The plan file, read and checked before anything is sent.
struct PlanFile {
  std::string territory_siren;
  std::vector<std::string> pilot_sirens;
  std::vector<apv1::Axis> axes;                       // number and title
  std::vector<std::pair<int, apv1::Action>> actions;  // axis number, action without names
  std::vector<PlanReport> reports;
};

PlanFile ReadPlanFile(const std::string& path) {
  pb::Struct root;
  pb::util::JsonParseOptions options;
  const auto status = pb::util::JsonStringToMessage(ReadInput(path, "plan"), &root, options);
  if (!status.ok()) {
    throw CommandError(path + ": invalid JSON: " + std::string(status.message()));
  }
  PlanFile plan;
  if (const auto* conv = Field(root, "convention"); conv != nullptr && conv->has_struct_value()) {
    plan.territory_siren = StringField(conv->struct_value(), "territorySiren", "convention", false);
  }
  for (const auto* pilot : ObjectList(root, "pilots", "plan")) {
    plan.pilot_sirens.push_back(StringField(*pilot, "siren", "pilots[]", true));
  }
  if (plan.pilot_sirens.empty()) throw CommandError(path + ": \"pilots\" lists no organisation");
  std::set<int> axis_numbers;
  for (const auto* a : ObjectList(root, "axes", "plan")) {
    apv1::Axis axis;
    axis.set_number(IntField(*a, "number", "axes[]", true));
    axis.set_title(StringField(*a, "title", "axes[" + std::to_string(axis.number()) + "]", true));
    if (!axis_numbers.insert(axis.number()).second) {
      throw CommandError(path + ": axis " + std::to_string(axis.number()) + " appears twice");
    }
    plan.axes.push_back(axis);
  }
  std::set<int> action_numbers;
  for (const auto* a : ObjectList(root, "actions", "plan")) {
    apv1::Action action;
    action.set_number(IntField(*a, "number", "actions[]", true));
    const std::string where = "actions[" + std::to_string(action.number()) + "]";
    if (!action_numbers.insert(action.number()).second) {
      throw CommandError(path + ": action " + std::to_string(action.number()) + " appears twice");
    }
    const int axis = IntField(*a, "axis", where, true);
    if (axis_numbers.count(axis) == 0) {
      throw CommandError(where + ": axis " + std::to_string(axis) + " is not in \"axes\"");
    }
    action.set_title(StringField(*a, "title", where, true));
    action.set_description(StringField(*a, "description", where, false));
    if (const auto* fields = Field(*a, "fields"); fields != nullptr) {
      for (const auto& f : fields->list_value().values()) {
        apv1::InterventionField field;
        if (!apv1::InterventionField_Parse(f.string_value(), &field)) {
          throw CommandError(where + ": unknown intervention field \"" + f.string_value() + "\"");
        }
        action.add_fields(field);
      }
    }
    const std::string start = StringField(*a, "plannedStart", where, false);
    if (!start.empty()) *action.mutable_planned_start() = ParseIsoDate(start, where);
    const std::string end = StringField(*a, "plannedEnd", where, false);
    if (!end.empty()) *action.mutable_planned_end() = ParseIsoDate(end, where);
    action.set_continuous(BoolField(*a, "continuous", where));
    plan.actions.push_back({axis, action});
  }
  if (const auto* demo = Field(root, "demonstration"); demo != nullptr) {
    if (!demo->has_struct_value()) throw CommandError("\"demonstration\" must be an object");
    for (const auto* r : ObjectList(demo->struct_value(), "reports", "demonstration")) {
      PlanReport pr;
      pr.action = IntField(*r, "action", "demonstration.reports[]", true);
      const std::string where = "demonstration.reports[action " + std::to_string(pr.action) + "]";
      if (action_numbers.count(pr.action) == 0) {
        throw CommandError(where + ": action " + std::to_string(pr.action) + " is not in the plan");
      }
      pr.report.set_quarter(StringField(*r, "quarter", where, true));
      apv1::ActionStatus status;
      const std::string status_name = StringField(*r, "status", where, true);
      if (!apv1::ActionStatus_Parse(status_name, &status)) {
        throw CommandError(where + ": unknown status \"" + status_name + "\"");
      }
      pr.report.set_status(status);
      pr.report.set_completion_percent(IntField(*r, "completionPercent", where, false));
      pr.report.set_implementation(StringField(*r, "implementation", where, false));
      pr.report.set_progress(StringField(*r, "progress", where, false));
      pr.report.set_difficulties(StringField(*r, "difficulties", where, false));
      pr.report.set_next_steps(StringField(*r, "nextSteps", where, false));
      pr.report.set_reason(StringField(*r, "reason", where, false));
      pr.report.set_demonstration(true);
      plan.reports.push_back(pr);
    }
  }
  // Oldest quarter first per action: the latest report is then the latest quarter.
  std::stable_sort(
      plan.reports.begin(), plan.reports.end(), [](const PlanReport& a, const PlanReport& b) {
        return std::tie(a.action, a.report.quarter()) < std::tie(b.action, b.report.quarter());
      });
  return plan;
}

// Prints a failed RPC with what it was doing, then fails the command.
void Check(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return;
  std::cerr << "ctgctl: " << what << "\n";
  PrintError(status);
  throw CallFailed();
}

// The organisation of kind EPCI with this SIREN.
std::string FindEpciBySiren(pv1::PartnerService::Stub& stub, const Target& target,
                            const std::string& siren) {
  pv1::ListOrganisationsRequest req;
  req.set_kind(pv1::EPCI);
  req.set_page_size(500);
  do {
    grpc::ClientContext context;
    Prepare(target, &context);
    pv1::ListOrganisationsResponse resp;
    Check(stub.ListOrganisations(&context, req, &resp), "listing the EPCIs");
    for (const auto& org : resp.organisations()) {
      if (org.siren() == siren) return org.name();
    }
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  throw CommandError("aucun EPCI de SIREN " + siren +
                     " chez les partenaires : chargez d'abord la convention (ctgctl "
                     "import-convention)");
}

int LoadActionPlan(const Args& args) {
  if (!args.positional.empty()) throw UsageError("load-action-plan takes no positional argument");
  if (!args.Has("plan")) throw UsageError("load-action-plan needs --plan FILE.json");
  const PlanFile plan = ReadPlanFile(args.Get("plan"));
  Target target = TargetFrom(args, 30);
  target.address = args.Get("addr", EnvOr("CTG_ACTION_PLAN_ADDR", "127.0.0.1:50052"));
  Target partners_target = target;
  partners_target.address =
      args.Get("partners-addr", EnvOr("CTG_PARTNERS_ADDR", EnvOr("CTG_ADDR", "127.0.0.1:50051")));
  auto partners = pv1::PartnerService::NewStub(Connect(partners_target));
  auto stub = apv1::ActionPlanService::NewStub(Connect(target));

  // ---- the convention and the pilots
  std::string convention = args.Get("convention");
  if (!convention.empty() && convention.rfind("conventions/", 0) != 0) {
    throw UsageError("--convention must be \"conventions/{uuid}\"");
  }
  if (convention.empty()) {
    if (plan.territory_siren.empty()) {
      throw CommandError("the plan names no convention.territorySiren: give --convention");
    }
    const std::string territory = FindEpciBySiren(*partners, partners_target, plan.territory_siren);
    pv1::ListConventionsRequest req;
    req.set_territory(territory);
    req.set_page_size(500);
    grpc::ClientContext context;
    Prepare(partners_target, &context);
    pv1::ListConventionsResponse resp;
    Check(partners->ListConventions(&context, req, &resp), "listing the conventions");
    if (resp.conventions_size() == 0) {
      throw CommandError("aucune convention pour le territoire " + territory +
                         " : chargez-la d'abord (ctgctl import-convention)");
    }
    if (resp.conventions_size() > 1) {
      std::string names;
      for (const auto& c : resp.conventions()) names += " " + c.name();
      throw CommandError("plusieurs conventions pour le territoire " + territory + " :" + names +
                         " ; choisissez avec --convention");
    }
    convention = resp.conventions(0).name();
  }
  std::vector<std::string> pilots;
  for (const auto& siren : plan.pilot_sirens) {
    pilots.push_back(FindEpciBySiren(*partners, partners_target, siren));
  }

  // ---- axes: existing numbers are kept as they are
  std::map<int, apv1::Axis> axes;
  {
    apv1::ListAxesRequest req;
    req.set_convention(convention);
    req.set_page_size(500);
    do {
      grpc::ClientContext context;
      Prepare(target, &context);
      apv1::ListAxesResponse resp;
      Check(stub->ListAxes(&context, req, &resp), "listing the axes of " + convention);
      for (const auto& a : resp.axes()) axes[a.number()] = a;
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
  }
  int axes_created = 0, axes_kept = 0;
  std::vector<std::string> differences;
  for (const auto& wanted : plan.axes) {
    auto it = axes.find(wanted.number());
    if (it != axes.end()) {
      ++axes_kept;
      if (it->second.title() != wanted.title()) {
        differences.push_back("axe " + std::to_string(wanted.number()) +
                              " : intitulé enregistré différent du fichier (laissé tel quel)");
      }
      continue;
    }
    apv1::CreateAxisRequest req;
    *req.mutable_axis() = wanted;
    req.mutable_axis()->set_convention(convention);
    req.set_request_id(DerivedRequestId("ctgctl load-action-plan|" + convention + "|axis|" +
                                        std::to_string(wanted.number())));
    grpc::ClientContext context;
    Prepare(target, &context);
    apv1::Axis created;
    Check(stub->CreateAxis(&context, req, &created),
          "creating axis " + std::to_string(wanted.number()));
    axes[created.number()] = created;
    ++axes_created;
  }

  // ---- actions: existing numbers are kept as they are
  std::map<int, apv1::Action> actions;
  {
    apv1::ListActionsRequest req;
    req.set_convention(convention);
    req.set_page_size(500);
    do {
      grpc::ClientContext context;
      Prepare(target, &context);
      apv1::ListActionsResponse resp;
      Check(stub->ListActions(&context, req, &resp), "listing the actions of " + convention);
      for (const auto& a : resp.actions()) actions[a.number()] = a;
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
  }
  int actions_created = 0, actions_kept = 0;
  for (const auto& [axis_number, wanted] : plan.actions) {
    auto it = actions.find(wanted.number());
    if (it != actions.end()) {
      ++actions_kept;
      if (it->second.title() != wanted.title()) {
        differences.push_back("action " + std::to_string(wanted.number()) +
                              " : intitulé enregistré différent du fichier (laissé tel quel)");
      }
      continue;
    }
    apv1::CreateActionRequest req;
    auto* a = req.mutable_action();
    *a = wanted;
    a->set_convention(convention);
    a->set_axis(axes.at(axis_number).name());
    for (const auto& p : pilots) a->add_pilots(p);
    req.set_request_id(DerivedRequestId("ctgctl load-action-plan|" + convention + "|action|" +
                                        std::to_string(wanted.number())));
    grpc::ClientContext context;
    Prepare(target, &context);
    apv1::Action created;
    Check(stub->CreateAction(&context, req, &created),
          "creating action " + std::to_string(wanted.number()));
    actions[created.number()] = created;
    ++actions_created;
  }

  // ---- demonstration reports: only for an action and quarter without any report yet
  int reports_created = 0, reports_kept = 0, reports_future = 0;
  // The service refuses a quarter that has not started: such reports wait for a later run.
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  const std::string current_quarter =
      std::to_string(utc.tm_year + 1900) + "-Q" + std::to_string(utc.tm_mon / 3 + 1);
  for (const auto& pr : plan.reports) {
    if (pr.report.quarter() > current_quarter) {
      ++reports_future;
      continue;
    }
    const auto& action = actions.at(pr.action);
    apv1::ListProgressReportsRequest list;
    list.set_action(action.name());
    list.set_quarter(pr.report.quarter());
    list.set_page_size(1);
    grpc::ClientContext list_context;
    Prepare(target, &list_context);
    apv1::ListProgressReportsResponse existing;
    Check(stub->ListProgressReports(&list_context, list, &existing),
          "listing the reports of action " + std::to_string(pr.action));
    if (existing.reports_size() > 0) {
      ++reports_kept;
      continue;
    }
    apv1::CreateProgressReportRequest req;
    *req.mutable_report() = pr.report;
    req.mutable_report()->set_action(action.name());
    req.set_request_id(DerivedRequestId("ctgctl load-action-plan|" + convention + "|action|" +
                                        std::to_string(pr.action) + "|report|" +
                                        pr.report.quarter()));
    grpc::ClientContext context;
    Prepare(target, &context);
    apv1::ProgressReport created;
    Check(stub->CreateProgressReport(&context, req, &created),
          "creating the demonstration report of action " + std::to_string(pr.action) + " for " +
              pr.report.quarter());
    ++reports_created;
  }

  std::cout << "Plan d'actions chargé pour " << convention << "\n"
            << "  axes : " << axes_created << " créé(s), " << axes_kept << " déjà présent(s)\n"
            << "  actions : " << actions_created << " créée(s), " << actions_kept
            << " déjà présente(s)\n"
            << "  pilote de chaque action : " << pilots.front()
            << " (EPCI ; annexes 2 et 3 absentes du texte)\n"
            << "  rapports de démonstration : " << reports_created << " créé(s), " << reports_kept
            << " déjà présent(s) (marqués demonstration=true)\n";
  if (reports_future > 0) {
    std::cout << "  rapports de démonstration d'un trimestre pas encore commencé : "
              << reports_future << " (chargés lors d'un prochain lancement)\n";
  }
  if (differences.empty()) {
    std::cout << "Aucune différence avec le plan déjà enregistré.\n";
  } else {
    std::cout << "Différences (" << differences.size() << ") :\n";
    for (const auto& d : differences) std::cout << "  - " << d << "\n";
  }
  return 0;
}

// ---- load-indicators ----------------------------------------------------------------------------

namespace iv1 = ::ctg::indicators::v1;

// A number in [0, 1) derived from `key`: the demonstration values vary from commune to commune
// the same way on every run.
double StableFraction(const std::string& key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  uint32_t x = (uint32_t(digest[0]) << 24) | (uint32_t(digest[1]) << 16) |
               (uint32_t(digest[2]) << 8) | uint32_t(digest[3]);
  return x / 4294967296.0;
}

double NumberAt(const pb::Struct& object, const std::string& key, double fallback) {
  const auto* v = Field(object, key);
  return v != nullptr && v->has_number_value() ? v->number_value() : fallback;
}

std::vector<double> NumberList(const pb::Struct& object, const std::string& key) {
  std::vector<double> out;
  const auto* v = Field(object, key);
  if (v == nullptr || !v->has_list_value()) return out;
  for (const auto& item : v->list_value().values()) {
    if (item.has_number_value()) out.push_back(item.number_value());
  }
  return out;
}

int LoadIndicators(const Args& args) {
  if (!args.positional.empty()) throw UsageError("load-indicators takes no positional argument");
  if (!args.Has("catalogue")) throw UsageError("load-indicators needs --catalogue FILE.json");
  const std::string path = args.Get("catalogue");
  pb::Struct root;
  {
    const auto status = pb::util::JsonStringToMessage(ReadInput(path, "catalogue"), &root,
                                                      pb::util::JsonParseOptions());
    if (!status.ok()) {
      throw CommandError(path + ": invalid JSON: " + std::string(status.message()));
    }
  }
  Target target = TargetFrom(args, 60);
  target.address = args.Get("addr", EnvOr("CTG_INDICATORS_ADDR", "127.0.0.1:50053"));
  Target partners_target = target;
  partners_target.address =
      args.Get("partners-addr", EnvOr("CTG_PARTNERS_ADDR", EnvOr("CTG_ADDR", "127.0.0.1:50051")));
  Target plan_target = target;
  plan_target.address =
      args.Get("action-plan-addr", EnvOr("CTG_ACTION_PLAN_ADDR", "127.0.0.1:50052"));
  auto partners = pv1::PartnerService::NewStub(Connect(partners_target));
  auto stub = iv1::IndicatorService::NewStub(Connect(target));

  // ---- the territory, its communes and the numbers of its plan's actions
  const std::string siren = StringField(root, "territorySiren", path, true);
  const std::string epci = FindEpciBySiren(*partners, partners_target, siren);
  std::vector<pv1::Organisation> communes;
  {
    pv1::ListOrganisationsRequest req;
    req.set_parent_epci(epci);
    req.set_page_size(500);
    do {
      grpc::ClientContext context;
      Prepare(partners_target, &context);
      pv1::ListOrganisationsResponse resp;
      Check(partners->ListOrganisations(&context, req, &resp), "listing the communes");
      for (const auto& o : resp.organisations()) communes.push_back(o);
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
  }
  std::map<int, std::string> action_names;
  {
    pv1::ListConventionsRequest req;
    req.set_territory(epci);
    grpc::ClientContext context;
    Prepare(partners_target, &context);
    pv1::ListConventionsResponse conventions;
    Check(partners->ListConventions(&context, req, &conventions), "listing the conventions");
    auto plan = apv1::ActionPlanService::NewStub(Connect(plan_target));
    for (const auto& c : conventions.conventions()) {
      apv1::ListActionsRequest list;
      list.set_convention(c.name());
      list.set_page_size(500);
      grpc::ClientContext ctx;
      Prepare(plan_target, &ctx);
      apv1::ListActionsResponse actions;
      const auto status = plan->ListActions(&ctx, list, &actions);
      if (!status.ok()) {
        std::cerr << "ctgctl: actions not readable (" << status.error_message()
                  << "): indicators are loaded without their linked actions\n";
        break;
      }
      for (const auto& a : actions.actions()) action_names[a.number()] = a.name();
    }
  }

  // ---- definitions: existing codes are kept as they are
  const auto years = NumberList(root, "years");
  int created = 0, kept = 0;
  std::vector<iv1::ValueInput> values;
  for (const auto* entry : ObjectList(root, "indicators", path)) {
    const auto* def = Field(*entry, "indicator");
    if (def == nullptr || !def->has_struct_value()) {
      throw CommandError(path + ": every entry needs an \"indicator\" object");
    }
    std::string json;
    (void)pb::util::MessageToJsonString(def->struct_value(), &json);
    iv1::Indicator indicator;
    const auto parsed = pb::util::JsonStringToMessage(json, &indicator);
    if (!parsed.ok()) {
      throw CommandError(path + ": " + std::string(parsed.message()));
    }
    indicator.set_demonstration(true);
    if (const auto* links = Field(*entry, "actions"); links && links->has_list_value()) {
      for (const auto& n : links->list_value().values()) {
        auto it = action_names.find(static_cast<int>(n.number_value()));
        if (it != action_names.end()) indicator.add_linked_actions(it->second);
      }
    }
    iv1::GetIndicatorRequest get;
    get.set_name("indicators/" + indicator.code());
    iv1::Indicator existing;
    grpc::ClientContext get_context;
    Prepare(target, &get_context);
    const auto found = stub->GetIndicator(&get_context, get, &existing);
    if (found.ok()) {
      ++kept;
    } else if (found.error_code() == grpc::StatusCode::NOT_FOUND) {
      iv1::CreateIndicatorRequest req;
      *req.mutable_indicator() = indicator;
      req.set_request_id(DerivedRequestId("ctgctl load-indicators|" + indicator.code()));
      grpc::ClientContext context;
      Prepare(target, &context);
      Check(stub->CreateIndicator(&context, req, &existing), "creating " + indicator.code());
      ++created;
    } else {
      Check(found, "reading " + indicator.code());
    }
    // ---- demonstration values, computed from the legal populations
    const auto* demo = Field(*entry, "demo");
    if (demo == nullptr || !demo->has_struct_value()) continue;
    const auto& d = demo->struct_value();
    auto add = [&](const std::string& territory, const std::string& period, double v,
                   bool final_value) {
      iv1::ValueInput value;
      value.set_indicator(indicator.code());
      value.set_territory(territory);
      value.set_period(period);
      value.set_value(v);
      value.set_status(final_value ? iv1::FINAL : iv1::PROVISIONAL);
      value.set_demonstration(true);
      values.push_back(value);
    };
    const auto epci_values = NumberList(d, "epciValues");
    const auto quarterly = NumberList(d, "epciQuarterly");
    for (size_t y = 0; y < years.size(); ++y) {
      const int year = static_cast<int>(years[y]);
      const bool final_value = y + 1 < years.size();
      if (y < epci_values.size()) add(siren, std::to_string(year), epci_values[y], final_value);
      for (int q = 0; q < 4 && y * 4 + q < quarterly.size(); ++q) {
        add(siren, std::to_string(year) + "-Q" + std::to_string(q + 1), quarterly[y * 4 + q],
            final_value);
      }
      if (!Field(d, "perInhabitant")) continue;
      for (const auto& c : communes) {
        int64_t population = 0;
        int vintage = 0;
        for (const auto& p : c.populations()) {
          if (p.vintage() > vintage) {
            vintage = p.vintage();
            population = p.municipale();
          }
        }
        const double variation = 0.85 + 0.3 * StableFraction(c.insee_code() + indicator.code());
        const double growth = 1 + NumberAt(d, "growth", 0) * static_cast<double>(y);
        add(c.insee_code(), std::to_string(year),
            std::round(population * NumberAt(d, "perInhabitant", 0) * variation * growth),
            final_value);
      }
    }
  }

  // ---- one batch: a re-run sends the same values under the same id, a no-op
  iv1::IngestValuesResponse response;
  {
    grpc::ClientContext context;
    Prepare(target, &context);
    auto writer = stub->IngestValues(&context, &response);
    const std::string batch =
        DerivedRequestId("ctgctl load-indicators|demonstration values|" + siren);
    size_t i = 0;
    do {
      iv1::IngestValuesRequest req;
      if (i == 0) req.set_batch_id(batch);
      for (; i < values.size() && req.values_size() < 1000; ++i) *req.add_values() = values[i];
      req.set_complete(i >= values.size());
      if (!writer->Write(req)) break;
    } while (i < values.size());
    writer->WritesDone();
    Check(writer->Finish(), "recording the demonstration values");
  }
  std::cout << "Indicateurs du territoire " << siren << " :\n"
            << "  définitions : " << created << " créée(s), " << kept << " déjà présente(s)\n"
            << "  valeurs de démonstration : " << response.values_written()
            << (response.already_committed() ? " (déjà enregistrées)" : " enregistrée(s)")
            << " pour " << communes.size() << " communes\n";
  return 0;
}

// ---- load-consents
// --------------------------------------------------------------------------------

namespace cv1 = ::ctg::consents::v1;

// One demonstration request and the step the loader takes it to.
struct DemoRequest {
  std::string title;
  std::string purpose;
  std::vector<cv1::DataCategory> categories;
  cv1::Step last_step;  // the last step taken (STEP_UNSPECIFIED: left in DRAFT)
  bool recommendation;  // the DPO's opinion carries one recommendation
};

int LoadConsents(const Args& args) {
  if (!args.positional.empty()) throw UsageError("load-consents takes no positional argument");
  if (args.Get("set") != "demo") {
    throw UsageError("load-consents needs --set demo (the only set it loads)");
  }
  const std::string key = ReadSecretFile(args.Get("key-file"), "--key-file");
  Target target = TargetFrom(args, 30);
  target.address = args.Get("addr", EnvOr("CTG_CONSENTS_ADDR", "127.0.0.1:50054"));
  Target partners_target = target;
  partners_target.address =
      args.Get("partners-addr", EnvOr("CTG_PARTNERS_ADDR", EnvOr("CTG_ADDR", "127.0.0.1:50051")));
  auto mint = [&](Role role, const std::string& org, const std::string& subject) {
    TokenClaims claims;
    claims.roles = {role};
    claims.organisation = org;
    claims.subject = subject;
    claims.issuer = EnvOr("CTG_JWT_ISSUER", "ctg-dev");
    claims.audience = EnvOr("CTG_JWT_AUDIENCE", "ctg");
    claims.lifetime = std::chrono::hours(1);
    return MintHs256Token(claims, key);
  };
  partners_target.token = mint(Role::kRegistryAdmin, "", "ctg-up");
  auto partners = pv1::PartnerService::NewStub(Connect(partners_target));
  const std::string siren = args.Get("territory-siren", "200030674");
  const std::string epci = FindEpciBySiren(*partners, partners_target, siren);
  std::string caf, convention;
  {
    pv1::ListConventionsRequest req;
    req.set_territory(epci);
    grpc::ClientContext context;
    Prepare(partners_target, &context);
    pv1::ListConventionsResponse resp;
    Check(partners->ListConventions(&context, req, &resp), "listing the conventions");
    for (const auto& c : resp.conventions()) {
      for (const auto& p : c.parties()) {
        if (p.kind() == pv1::CAF) {
          caf = p.organisation();
          convention = c.name();
        }
      }
    }
  }
  if (caf.empty()) throw CommandError("no Caf party in the conventions of " + siren);
  // The agglomeration holds the secretariat: its secretariat agents load demonstration data.
  const std::string requester_token = mint(Role::kCopilSecretariat, epci, "ctg-up-epci");
  const std::string holder_token = mint(Role::kCafAgent, caf, "ctg-up-caf");
  const std::string dpo_token = mint(Role::kDpo, caf, "ctg-up-dpo-caf");
  auto stub = cv1::ConsentService::NewStub(Connect(target));
  auto call_as = [&](const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    Target t = target;
    t.token = token;
    Prepare(t, context.get());
    return context;
  };

  const std::vector<DemoRequest> demos = {
      {"Observatoire de l'accueil du jeune enfant",
       "Diagnostic territorial des besoins d'accueil du jeune enfant (art. 3 de la CTG)",
       {cv1::FAMILY_SITUATION, cv1::CHILDCARE},
       cv1::ACKNOWLEDGE,
       true},
      {"Familles des actions de soutien à la parentalité",
       "Invitation des familles aux actions de parentalité de l'axe 2",
       {cv1::IDENTITY, cv1::CONTACT, cv1::FAMILY_SITUATION},
       cv1::GIVE_OPINION,
       true},
      {"Quotients familiaux pour la tarification des ALSH",
       "Tarification modulée des accueils de loisirs selon le quotient familial",
       {cv1::IDENTITY, cv1::ECONOMIC_FINANCIAL},
       cv1::SUBMIT,
       false},
      {"Assistants maternels actifs du territoire",
       "Mise à jour de la liste des assistants maternels du relais petite enfance",
       {cv1::IDENTITY, cv1::CONTACT, cv1::PROFESSIONAL},
       cv1::STEP_UNSPECIFIED,
       false},
  };
  const std::vector<cv1::Step> order = {cv1::SUBMIT, cv1::RECORD_STUDY,     cv1::GIVE_OPINION,
                                        cv1::DECIDE, cv1::MARK_IMPLEMENTED, cv1::ACKNOWLEDGE};
  int created = 0, steps = 0;
  for (const auto& d : demos) {
    cv1::CreateExchangeRequestRequest req;
    auto* r = req.mutable_exchange_request();
    r->set_requester(epci);
    r->set_holder(caf);
    r->set_title("[Démonstration] " + d.title);
    r->set_purpose(d.purpose);
    r->set_legal_basis(cv1::PUBLIC_INTEREST_TASK);
    r->set_legal_basis_justification(
        "Mission de service public de la CTG (convention territoriale globale, art. 9)");
    r->add_data_subjects(cv1::FAMILLES);
    for (auto c : d.categories) r->add_data_categories(c);
    r->add_recipients("Service petite enfance et famille de l'agglomération");
    r->mutable_retention()->set_duration(3);
    r->mutable_retention()->set_unit(cv1::YEARS);
    r->mutable_retention()->set_end(cv1::DELETION);
    r->add_security_measures("Transmission chiffrée, accès nominatifs, journalisation");
    r->set_frequency(cv1::YEARLY);
    r->set_volume(1500);
    *r->mutable_start_date() = ParseIsoDate("2025-01-01", "demo");
    *r->mutable_end_date() = ParseIsoDate("2029-12-31", "demo");
    r->set_demonstration(true);
    // Under the convention (its bilans count them); the id is derived from both, so a second
    // load creates nothing.
    r->set_convention(convention);
    req.set_request_id(DerivedRequestId("ctgctl load-consents|" + convention + "|" + d.title));
    cv1::ExchangeRequest current;
    Check(stub->CreateExchangeRequest(call_as(requester_token).get(), req, &current),
          "creating the request « " + d.title + " »");
    ++created;
    // Every step up to the one wanted that the request has not taken yet.
    for (cv1::Step step : order) {
      if (d.last_step == cv1::STEP_UNSPECIFIED) break;
      const auto state = current.state();
      bool due = false;
      switch (step) {
        case cv1::SUBMIT:
          due = state == cv1::DRAFT;
          break;
        case cv1::RECORD_STUDY:
          due = state == cv1::SUBMITTED;
          break;
        case cv1::GIVE_OPINION:
          due = state == cv1::STUDIED;
          break;
        case cv1::DECIDE:
          due = state == cv1::OPINION_GIVEN;
          break;
        case cv1::MARK_IMPLEMENTED:
          due = current.opinion().recommendations_size() > 0 &&
                !current.opinion().recommendations(0).implemented();
          break;
        case cv1::ACKNOWLEDGE:
          due = current.opinion().recommendations_size() > 0 &&
                current.opinion().recommendations(0).implemented() &&
                !current.opinion().recommendations(0).acknowledged();
          break;
        default:
          break;
      }
      if (due) {
        cv1::TakeStepRequest s;
        s.set_name(current.name());
        s.set_etag(current.etag());
        s.set_step(step);
        std::string token = holder_token;
        if (step == cv1::SUBMIT || step == cv1::MARK_IMPLEMENTED) token = requester_token;
        if (step == cv1::GIVE_OPINION || step == cv1::ACKNOWLEDGE) token = dpo_token;
        s.mutable_study()->set_opportunity("Besoin identifié au diagnostic partagé");
        s.mutable_study()->set_feasibility("Extraction annuelle possible depuis le SI de la Caf");
        s.mutable_study()->set_compliance("Données minimisées, base légale art. 6(1)(e)");
        s.mutable_opinion()->set_verdict(d.recommendation ? cv1::FAVOURABLE_WITH_RECOMMENDATIONS
                                                          : cv1::FAVOURABLE);
        s.mutable_opinion()->set_text("Avis préalable du DPO de la Caf (démonstration)");
        if (d.recommendation) {
          s.mutable_opinion()->add_recommendations()->set_text(
              "Pseudonymiser les identifiants avant la transmission");
        }
        s.mutable_decision()->set_approved(true);
        s.set_recommendation(1);
        s.set_evidence("Script de pseudonymisation mis en place (démonstration)");
        if (step != cv1::GIVE_OPINION) s.clear_opinion();
        if (step != cv1::RECORD_STUDY) s.clear_study();
        if (step != cv1::DECIDE) s.clear_decision();
        cv1::ExchangeRequest next;
        Check(stub->TakeStep(call_as(token).get(), s, &next),
              "step " + cv1::Step_Name(step) + " of « " + d.title + " »");
        current = next;
        ++steps;
      }
      if (step == d.last_step) break;
    }
  }
  std::cout << "Demandes d'échange de démonstration (Caf → agglomération) : " << created
            << " présentes, " << steps << " étape(s) franchie(s) à ce chargement\n";
  return 0;
}

// `flags` plus the flags of every command that calls a service.
std::set<std::string> WithConnectionFlags(std::set<std::string> flags) {
  flags.insert(
      {"addr", "token", "timeout-seconds", "ca-file", "client-cert-file", "client-key-file"});
  return flags;
}

// Downloads every artefact of a report (or --artefact NAME only) into --out-dir, each checked
// against the SHA-256 GetReport gives, written to a temporary file renamed into place.
int DownloadReport(const Args& args) {
  if (!args.positional.empty()) throw UsageError("download-report takes flags only");
  const std::string name = args.Get("report");
  if (name.rfind("reports/", 0) != 0) throw UsageError("--report must be \"reports/{uuid}\"");
  const std::string dir = args.Get("out-dir", ".");
  const Target target = TargetFrom(args, 120);
  namespace rv1 = ::ctg::reporting::v1;
  rv1::GetReportRequest get;
  get.set_name(name);
  rv1::ReportInfo info;
  const grpc::Status got =
      GenericUnaryCall(target, "/ctg.reporting.v1.ReportingService/GetReport", get, &info);
  if (!got.ok()) {
    PrintError(got);
    throw CallFailed();
  }
  int written = 0;
  for (const auto& artefact : info.artefacts()) {
    if (args.Has("artefact") && args.Get("artefact") != artefact.name()) continue;
    if (artefact.name().find('/') != std::string::npos || artefact.name().rfind('.', 0) == 0) {
      throw CommandError("refusing the artefact name '" + artefact.name() + "'");
    }
    rv1::DownloadArtefactRequest req;
    req.set_report(name);
    req.set_artefact(artefact.name());
    std::string content;
    rv1::ArtefactChunk chunk;
    const grpc::Status status =
        GenericServerStreamCall(target, "/ctg.reporting.v1.ReportingService/DownloadArtefact", req,
                                [&](const std::string& bytes) {
                                  if (chunk.ParseFromString(bytes)) content += chunk.data();
                                });
    if (!status.ok()) {
      PrintError(status);
      throw CallFailed();
    }
    if (Sha256Hex(content) != artefact.sha256()) {
      throw CommandError(artefact.name() +
                         ": the downloaded bytes do not have the report's "
                         "SHA-256; nothing written");
    }
    const std::string path = dir + "/" + artefact.name();
    const std::string partial = path + ".partial";
    {
      std::ofstream out(partial, std::ios::binary | std::ios::trunc);
      out << content;
      if (!out.flush()) throw CommandError("cannot write " + partial);
    }
    if (std::rename(partial.c_str(), path.c_str()) != 0) {
      throw CommandError("cannot rename " + partial + " to " + path);
    }
    std::cout << path << "  " << content.size() << " octets  sha256 " << artefact.sha256() << "\n";
    ++written;
  }
  if (written == 0) throw CommandError("no such artefact in " + name);
  return 0;
}

int Main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "token") {
      return Token(ParseArgs(argc, argv, 2,
                             {"role", "org", "sub", "ttl-hours", "key-file", "issuer", "audience",
                              "private-key-file", "kid"}));
    }
    if (command == "call") {
      return Call(ParseArgs(argc, argv, 2, WithConnectionFlags({})));
    }
    if (command == "download-report") {
      return DownloadReport(
          ParseArgs(argc, argv, 2, WithConnectionFlags({"report", "artefact", "out-dir"})));
    }
    if (command == "methods") return Methods(ParseArgs(argc, argv, 2, {}));
    if (command == "access-table") return AccessTable(ParseArgs(argc, argv, 2, {}));
    if (command == "import-convention") {
      return ImportConvention(
          ParseArgs(argc, argv, 2, WithConnectionFlags({"document", "communes"})));
    }
    if (command == "load-action-plan") {
      return LoadActionPlan(
          ParseArgs(argc, argv, 2, WithConnectionFlags({"partners-addr", "plan", "convention"})));
    }
    if (command == "load-indicators") {
      return LoadIndicators(ParseArgs(
          argc, argv, 2, WithConnectionFlags({"partners-addr", "action-plan-addr", "catalogue"})));
    }
    if (command == "load-consents") {
      return LoadConsents(
          ParseArgs(argc, argv, 2,
                    WithConnectionFlags({"partners-addr", "set", "key-file", "territory-siren"})));
    }
    if (command == "help" || command == "--help" || command == "-h") {
      std::cout << kUsage;
      return 0;
    }
    throw UsageError(command.empty() ? "missing command" : "unknown command '" + command + "'");
  } catch (const UsageError& e) {
    std::cerr << "ctgctl: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const CallFailed&) {
    return 1;
  } catch (const std::exception& e) {
    // CommandError, ConfigError (messages name settings and paths, never secret values).
    std::cerr << "ctgctl: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace
}  // namespace ctg::ctgctl

int main(int argc, char** argv) { return ctg::ctgctl::Main(argc, argv); }
