#include "gateway/connect.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "common/auth.h"
#include "common/log.h"
#include "gateway/listen.h"
#include "gateway/proxy.h"
#include "google/rpc/status.pb.h"

namespace ctg::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

int HttpStatusOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 412;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    default:
      return 500;  // UNKNOWN, INTERNAL, DATA_LOSS
  }
}

std::string ConnectCodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"ok",
                                       "canceled",
                                       "unknown",
                                       "invalid_argument",
                                       "deadline_exceeded",
                                       "not_found",
                                       "already_exists",
                                       "permission_denied",
                                       "resource_exhausted",
                                       "failed_precondition",
                                       "aborted",
                                       "out_of_range",
                                       "unimplemented",
                                       "internal",
                                       "unavailable",
                                       "data_loss",
                                       "unauthenticated"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "unknown";
}

namespace {

// A JSON string literal.
std::string Quote(const std::string& text) { return "\"" + JsonEscape(text) + "\""; }

}  // namespace

std::optional<UrlOrigin> ParseUrlOrigin(std::string_view url) {
  UrlOrigin o;
  size_t at = 0;
  if (url.rfind("https://", 0) == 0) {
    o.scheme = "https";
    at = 8;
  } else if (url.rfind("http://", 0) == 0) {
    o.scheme = "http";
    at = 7;
  } else {
    return std::nullopt;
  }
  // Nothing in the whole URL that a policy, a header or a browser would read differently.
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '"' || c == '\'' || c == '\\' || c == ';' ||
        c == ',' || static_cast<unsigned char>(c) >= 0x7f) {
      return std::nullopt;
    }
  }
  const size_t end = std::min(url.find_first_of("/?#", at), url.size());
  const std::string_view authority = url.substr(at, end - at);
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    if (host.find_first_not_of("[]0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
        std::string_view::npos) {
      return std::nullopt;
    }
  }
  if (host.empty() || host == "[]") return std::nullopt;
  if (authority.find(':') != std::string_view::npos && host.back() != ']' && port.empty()) {
    return std::nullopt;
  }
  if (!port.empty() &&
      (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)) {
    return std::nullopt;
  }
  o.host = std::string(host);
  o.host_port =
      o.host + ":" + (port.empty() ? (o.scheme == "https" ? "443" : "80") : std::string(port));
  o.origin = o.scheme + "://" + std::string(authority);
  return o;
}

std::string ConsolePolicy(const std::vector<std::string>& connect_urls) {
  std::string sources;
  for (const std::string& url : connect_urls) {
    const auto origin = ParseUrlOrigin(url);
    if (!origin) throw std::invalid_argument("not an http(s) URL with a plain host: " + url);
    sources += " " + origin->origin;
  }
  std::string policy = kConsoleSecurityPolicy;
  const std::string connect = "connect-src 'self'";
  policy.insert(policy.find(connect) + connect.size(), sources);
  return policy;
}

std::string SignInConfigJson(const ConnectOptions& options) {
  std::string json = std::string("{\"development\":") +
                     (options.dev_signin_key.empty() ? "false" : "true") + ",\"oidc\":";
  if (options.oidc_authorization_endpoint.empty()) return json + "null}";
  return json + "{\"authorizationEndpoint\":" + Quote(options.oidc_authorization_endpoint) +
         ",\"tokenEndpoint\":" + Quote(options.oidc_token_endpoint) +
         ",\"clientId\":" + Quote(options.oidc_client_id) +
         ",\"scope\":" + Quote(options.oidc_scope) + "}}";
}

std::string ConnectErrorJson(const grpc::Status& status) {
  std::string json = "{\"code\":" + Quote(ConnectCodeName(status.error_code())) +
                     ",\"message\":" + Quote(status.error_message());
  google::rpc::Status details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details()) &&
      details.details_size() > 0) {
    json += ",\"details\":[";
    for (int i = 0; i < details.details_size(); ++i) {
      const auto& any = details.details(i);
      const std::string& url = any.type_url();
      const std::string type = url.substr(url.rfind('/') + 1);
      json += std::string(i > 0 ? "," : "") + "{\"type\":" + Quote(type) +
              ",\"value\":" + Quote(Base64Encode(any.value()));
      std::string debug;
      // Known to this binary (the google.rpc error details): shown as JSON too.
      if (google::protobuf::util::MessageToJsonString(any, &debug).ok()) {
        json += ",\"debug\":" + debug;
      }
      json += "}";
    }
    json += "]";
  }
  return json + "}";
}

namespace {

constexpr auto kReadTimeout = std::chrono::seconds(30);

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The media type of a Content-Type header, lower-case, without parameters.
std::string MediaType(std::string_view header) {
  std::string type = Lower(header.substr(0, header.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type;
}

// The media type of a file by its extension (console files and report artefacts).
std::string MediaTypeOfFile(const std::string& name) {
  static const std::map<std::string, std::string> kTypes = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"ico", "image/x-icon"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"woff2", "font/woff2"},
      {"txt", "text/plain; charset=utf-8"},
      {"pdf", "application/pdf"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}};
  auto type = kTypes.find(name.substr(name.rfind('.') + 1));
  return type == kTypes.end() ? "application/octet-stream" : type->second;
}

// What a gRPC caller would send, taken from the HTTP request: the token, the request id, the
// idempotency key; and the browser's address, for the relay's limits and access log (it believes
// kRelayPeerHeader only on its private socket; the proxy strips it otherwise).
void ForwardHeaders(const http::request<http::string_body>& req, const std::string& peer,
                    grpc::ClientContext& context) {
  if (!peer.empty()) context.AddMetadata(kRelayPeerHeader, peer);
  if (auto it = req.find(http::field::authorization); it != req.end()) {
    context.AddMetadata("authorization", std::string(it->value()));
  }
  for (const char* header : {"x-request-id", "idempotency-key"}) {
    if (auto it = req.find(header); it != req.end()) {
      context.AddMetadata(header, std::string(it->value()));
    }
  }
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

}  // namespace

struct ConnectListener::Impl {
  Impl(ConnectOptions o, std::shared_ptr<grpc::Channel> channel, const MethodCatalog& c)
      : options(std::move(o)), stub(channel), catalog(c), acceptor(ioc) {}

  ConnectOptions options;
  // The console pages' Content-Security-Policy (ConsolePolicy).
  std::string console_policy = kConsoleSecurityPolicy;
  grpc::GenericStub stub;
  const MethodCatalog& catalog;
  asio::io_context ioc;
  std::optional<asio::ssl::context> tls;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  int port = 0;
  // Calls made on the gateway and not yet answered: Stop waits for them, since their
  // completions post to `ioc`.
  std::mutex mu;
  std::condition_variable idle;
  int calls = 0;

  void Accept();
  // A call in flight is two things that touch the loop, each ending with CallEnds: the gRPC
  // callback that posts its result (until it has let go of every session and executor
  // reference: destroyed after the loop, they would use freed memory), and the handler it posts.
  void CallBegins() {
    std::lock_guard lock(mu);
    calls += 2;
  }
  void CallEnds() {
    {
      std::lock_guard lock(mu);
      --calls;
    }
    idle.notify_all();
  }
};

namespace {

// One unary call made on the gateway for an HTTP request.
struct PendingCall {
  // A download (GET /downloads/...): the artefact's bytes are the body, not enveloped messages.
  bool download = false;
  std::string filename;
  std::string media_type;
  bool head_sent = false;
  bool chunked = true;
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  std::string method;
  bool json = true;
  bool keep_alive = true;
  unsigned version = 11;
};

void Close(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

void Close(beast::ssl_stream<beast::tcp_stream>& stream) {
  stream.async_shutdown([](beast::error_code) {});
}

// One HTTP/1.1 connection: reads a request, answers it, reads the next (keep-alive).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, ConnectListener::Impl& impl) : stream_(std::move(stream)), impl_(impl) {}

  void Run() {
    beast::error_code ec;
    const auto remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) peer_ = GrpcPeerName(remote);
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      Read();
    } else {
      beast::get_lowest_layer(stream_).expires_after(kReadTimeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->Read();
                              });
    }
  }

 private:
  const std::string& Peer() const { return peer_; }

  void Read() {
    parser_.emplace();
    parser_->body_limit(impl_.options.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(kReadTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      Error(413,
            grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                         "the request body is larger than " +
                             std::to_string(impl_.options.max_body_bytes) + " bytes"),
            false, 11);
      return;
    }
    if (ec) return;  // closed, timed out or not HTTP: the connection ends
    Handle(parser_->release());
  }

  // False, after answering 403, when the request carries the Origin of another site.
  bool SameOrigin(const http::request<http::string_body>& req) {
    auto origin = req.find(http::field::origin);
    if (origin == req.end()) return true;
    const std::string scheme = std::is_same_v<Stream, beast::tcp_stream> ? "http://" : "https://";
    if (origin->value() == scheme + std::string(req[http::field::host])) return true;
    Error(403,
          grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                       "calls from another origin are not accepted"),
          req.keep_alive(), req.version());
    return false;
  }

  // Sends a Connect error with an HTTP status of its own (a framing error) or of its code.
  void Error(int http_status, const grpc::Status& status, bool keep_alive, unsigned version) {
    http::response<http::string_body> res{static_cast<http::status>(http_status), version};
    res.set(http::field::content_type, "application/json");
    res.body() = ConnectErrorJson(status);
    Send(std::move(res), keep_alive);
  }

  void Handle(http::request<http::string_body> req) {
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    if (path == "/dev/sign-in" && !impl_.options.dev_signin_key.empty()) {
      DevSignIn(req);
      return;
    }
    if (path == "/sign-in.json" && !impl_.options.console_dir.empty() &&
        req.method() == http::verb::get) {
      http::response<http::string_body> res{http::status::ok, version};
      res.set(http::field::content_type, "application/json");
      res.body() = SignInConfigJson(impl_.options);
      Send(std::move(res), keep_alive, "no-store");
      return;
    }
    if (path.rfind("/downloads/", 0) == 0) {
      if (req.method() != http::verb::get) {
        Error(405, grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "downloads are fetched with GET"),
              keep_alive, version);
        return;
      }
      Download(req, path);
      return;
    }
    // "/pkg.Service/Method": one slash inside, a service the gateway routes.
    const size_t slash = path.find('/', 1);
    const std::string service =
        path.size() > 1 && slash != std::string::npos ? path.substr(1, slash - 1) : "";
    if (req.method() == http::verb::get && !impl_.options.console_dir.empty() &&
        (service.empty() || !impl_.catalog.Knows(service))) {
      StaticFile(req, path);
      return;
    }
    if (service.empty() || slash + 1 >= path.size() || IsOpenMethod(service) ||
        !impl_.catalog.Knows(service) || impl_.catalog.Shape(path) == CallShape::kUnknown) {
      Error(404, grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no procedure " + path), keep_alive,
            version);
      return;
    }
    if (req.method() != http::verb::post) {
      if (req.method() == http::verb::get && !impl_.options.console_dir.empty()) {
        StaticFile(req, path);
        return;
      }
      http::response<http::string_body> res{http::status::method_not_allowed, version};
      res.set(http::field::allow, "POST");
      res.set(http::field::content_type, "application/json");
      res.body() = ConnectErrorJson(
          grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "procedures are called with POST"));
      Send(std::move(res), keep_alive);
      return;
    }
    // A page of another site may post to this origin, but not with these headers without a
    // preflight, which gets no CORS answer; an Origin of another site is refused outright.
    if (!SameOrigin(req)) return;
    if (req["Connect-Protocol-Version"] != "1") {
      Error(400,
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "the Connect-Protocol-Version: 1 header is required"),
            keep_alive, version);
      return;
    }
    const std::string media = MediaType(std::string(req[http::field::content_type]));
    const CallShape shape = impl_.catalog.Shape(path);
    if (shape == CallShape::kClientStreaming || shape == CallShape::kBidiStreaming) {
      Error(501,
            grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                         "client and bidirectional streams need HTTP/2: call them over gRPC"),
            keep_alive, version);
      return;
    }
    const bool streaming = shape == CallShape::kServerStreaming;
    const std::string json_type = streaming ? "application/connect+json" : "application/json";
    const std::string proto_type = streaming ? "application/connect+proto" : "application/proto";
    if (media != json_type && media != proto_type) {
      http::response<http::string_body> res{http::status::unsupported_media_type, version};
      res.set("Accept-Post", json_type + ", " + proto_type);
      res.set(http::field::content_type, "application/json");
      res.body() = ConnectErrorJson(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          "Content-Type must be " + json_type + " or " + proto_type + " for this procedure"));
      Send(std::move(res), keep_alive);
      return;
    }
    auto call = std::make_shared<PendingCall>();
    call->method = path;
    call->json = media == json_type;
    call->keep_alive = keep_alive;
    call->version = version;
    std::string message = std::move(req.body());
    if (streaming) {
      // One enveloped message: flags, a 32-bit big-endian length, the message.
      const auto* bytes = reinterpret_cast<const unsigned char*>(message.data());
      const size_t length = message.size() >= 5 ? (size_t(bytes[1]) << 24 | size_t(bytes[2]) << 16 |
                                                   size_t(bytes[3]) << 8 | size_t(bytes[4]))
                                                : 0;
      if (message.size() < 5 || message.size() != 5 + length || (bytes[0] & 0x01) != 0) {
        Error(400,
              grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           "a streaming request is one uncompressed enveloped message"),
              keep_alive, version);
        return;
      }
      message = message.substr(5);
    }
    std::string binary;
    if (call->json) {
      std::string error;
      if (!impl_.catalog.RequestFromJson(path, message.empty() ? "{}" : message, &binary, &error)) {
        Error(400,
              grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           "the request is not valid JSON for this procedure: " + error),
              keep_alive, version);
        return;
      }
    } else {
      binary = std::move(message);
    }
    grpc::Slice slice(binary);
    call->request = grpc::ByteBuffer(&slice, 1);
    ForwardHeaders(req, Peer(), call->context);
    if (auto it = req.find("Connect-Timeout-Ms"); it != req.end()) {
      const long ms = std::atol(std::string(it->value()).c_str());
      if (ms > 0) {
        call->context.set_deadline(std::chrono::system_clock::now() +
                                   std::chrono::milliseconds(ms));
      }
    }
    if (streaming) {
      StartStream(std::move(call));
      return;
    }
    impl_.CallBegins();
    auto self = this->shared_from_this();
    // The callback hands its references over to the handler it posts, then says it is done
    // with the loop (CallBegins).
    impl_.stub.UnaryCall(&call->context, call->method, grpc::StubOptions(), &call->request,
                         &call->response, [self, call, &impl = impl_](grpc::Status status) mutable {
                           {
                             auto executor = self->stream_.get_executor();
                             asio::post(executor,
                                        [self = std::move(self), call = std::move(call), status] {
                                          self->Finish(*call, status);
                                          self->impl_.CallEnds();
                                        });
                           }
                           impl.CallEnds();
                         });
  }

  void Finish(PendingCall& call, const grpc::Status& status) {
    std::string request_id;
    const auto& md = call.context.GetServerInitialMetadata();
    if (auto it = md.find("x-request-id"); it != md.end()) {
      request_id.assign(it->second.data(), it->second.size());
    }
    if (!status.ok()) {
      http::response<http::string_body> res{
          static_cast<http::status>(HttpStatusOf(status.error_code())), call.version};
      res.set(http::field::content_type, "application/json");
      if (!request_id.empty()) res.set("x-request-id", request_id);
      res.body() = ConnectErrorJson(status);
      Send(std::move(res), call.keep_alive);
      return;
    }
    std::string body = Flatten(call.response);
    if (call.json) {
      std::string json, error;
      if (!impl_.catalog.ResponseToJson(call.method, body, &json, &error)) {
        Error(500,
              grpc::Status(grpc::StatusCode::INTERNAL,
                           "the response cannot be written as "
                           "JSON: " +
                               error),
              call.keep_alive, call.version);
        return;
      }
      body = std::move(json);
    }
    http::response<http::string_body> res{http::status::ok, call.version};
    res.set(http::field::content_type, call.json ? "application/json" : "application/proto");
    if (!request_id.empty()) res.set("x-request-id", request_id);
    res.body() = std::move(body);
    Send(std::move(res), call.keep_alive);
  }

  // A file of the console directory, with the console's security headers. Only plain names
  // (letters, digits, "-", "_", ".", "/"; no segment starting with a dot) below the directory.
  void StaticFile(const http::request<http::string_body>& req, const std::string& path) {
    const std::string name = path == "/" ? "index.html" : path.substr(1);
    bool plain = !name.empty() && name.size() < 200 &&
                 name.find_first_not_of(
                     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789-_./") == std::string::npos &&
                 name[0] != '/' && name.find("/.") == std::string::npos && name[0] != '.' &&
                 name.find("//") == std::string::npos;
    std::string body;
    if (plain) {
      std::ifstream file(impl_.options.console_dir + "/" + name, std::ios::binary);
      plain = file.good() && !std::filesystem::is_directory(impl_.options.console_dir + "/" + name);
      if (plain) body.assign(std::istreambuf_iterator<char>(file), {});
    }
    http::response<http::string_body> res{plain ? http::status::ok : http::status::not_found,
                                          req.version()};
    res.set(http::field::content_type, plain ? MediaTypeOfFile(name) : "text/plain; charset=utf-8");
    res.set("Content-Security-Policy", impl_.console_policy);
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "no-referrer");
    res.body() = plain ? std::move(body) : "Page introuvable.\n";
    // The console's bundle is named by its content (assets/app-HASH.js, see build_console in
    // ./ctg): kept for good, a new build is a new name. The page and the style sheet are
    // revalidated every time, so a new build is seen at the next load.
    const bool stable = plain && name.rfind("assets/", 0) == 0;
    Send(std::move(res), req.keep_alive(),
         stable ? "public, max-age=31536000, immutable" : "no-cache");
  }

  // POST /dev/sign-in {"role": "copil_secretariat", "organisation": "organisations/{uuid}"}:
  // a short-lived development token, in the answer's body (never in a URL).
  void DevSignIn(const http::request<http::string_body>& req) {
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    if (req.method() != http::verb::post) {
      Error(405, grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "sign in with POST"), keep_alive,
            version);
      return;
    }
    if (MediaType(std::string(req[http::field::content_type])) != "application/json") {
      Error(415,
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "Content-Type must be "
                         "application/json"),
            keep_alive, version);
      return;
    }
    if (!SameOrigin(req)) return;
    google::protobuf::Struct asked;
    std::string role_name, organisation;
    if (google::protobuf::util::JsonStringToMessage(req.body(), &asked).ok()) {
      const auto& f = asked.fields();
      if (auto it = f.find("role"); it != f.end()) role_name = it->second.string_value();
      if (auto it = f.find("organisation"); it != f.end()) organisation = it->second.string_value();
    }
    const auto role = ParseRole(role_name);
    const bool organisation_ok =
        organisation.empty() ||
        (organisation.rfind("organisations/", 0) == 0 && organisation.size() == 14 + 36 &&
         organisation.find_first_not_of("0123456789abcdef-", 14) == std::string::npos);
    if (!role || *role == Role::kService || !organisation_ok) {
      Error(400,
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "role must name a person's role and organisation be "
                         "organisations/{uuid} or absent"),
            keep_alive, version);
      return;
    }
    TokenClaims claims;
    claims.subject = "dev-" + std::string(RoleName(*role));
    claims.organisation = organisation;
    claims.roles = {*role};
    claims.issuer = impl_.options.dev_issuer;
    claims.audience = impl_.options.dev_audience;
    claims.lifetime = impl_.options.dev_token_lifetime;
    http::response<http::string_body> res{http::status::ok, version};
    res.set(http::field::content_type, "application/json");
    res.body() =
        "{\"token\":\"" + MintHs256Token(claims, impl_.options.dev_signin_key) +
        "\",\"expiresInSeconds\":" + std::to_string(impl_.options.dev_token_lifetime.count()) + "}";
    Send(std::move(res), keep_alive);
  }

  // A server stream: the response head at once (200, chunked), then one enveloped message per
  // message of the call, then the end-of-stream envelope (flag 0x02) holding the error, if any.
  // Messages are written one at a time, in order; a client that goes away cancels the call.
  class StreamReactor : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    StreamReactor(std::shared_ptr<Session> session, std::shared_ptr<PendingCall> call)
        : session_(std::move(session)), call_(std::move(call)) {
      session_->impl_.stub.PrepareBidiStreamingCall(&call_->context, call_->method,
                                                    grpc::StubOptions(), this);
      StartWrite(&call_->request, grpc::WriteOptions().set_last_message());
      StartRead(&call_->response);
      StartCall();
    }
    void OnWriteDone(bool) override {}
    void OnReadDone(bool ok) override {
      if (!ok) return;  // the stream ended: OnDone follows
      std::string message = Flatten(call_->response);
      asio::post(session_->stream_.get_executor(),
                 [session = session_, call = call_, message = std::move(message)]() mutable {
                   session->StreamMessage(*call, std::move(message));
                 });
      StartRead(&call_->response);
    }
    void OnDone(const grpc::Status& status) override {
      // The references move to the handler, then the reactor says it is done with the loop
      // (CallBegins): `delete this` on gRPC's thread must not drop the session's last one.
      ConnectListener::Impl& impl = session_->impl_;
      {
        auto executor = session_->stream_.get_executor();
        asio::post(executor, [session = std::move(session_), call = std::move(call_), status] {
          session->EndStream(*call, status);
          session->impl_.CallEnds();
        });
      }
      delete this;
      impl.CallEnds();
    }

   private:
    std::shared_ptr<Session> session_;
    std::shared_ptr<PendingCall> call_;
  };

  void StartStream(std::shared_ptr<PendingCall> call) {
    streaming_ = call;
    // A download's head waits for its first bytes: an error before them gets its HTTP status.
    if (!call->download) SendStreamHead(*call);
    impl_.CallBegins();
    new StreamReactor(this->shared_from_this(), std::move(call));
  }

  void SendStreamHead(PendingCall& call) {
    http::response<http::empty_body> res{http::status::ok, call.version};
    if (call.download) {
      res.set(http::field::content_type, call.media_type);
      res.set(http::field::content_disposition, "attachment; filename=\"" + call.filename + "\"");
    } else {
      res.set(http::field::content_type,
              call.json ? "application/connect+json" : "application/connect+proto");
    }
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    // HTTP/1.0 has no chunks: the body then ends with the connection.
    call.chunked = call.version >= 11;
    res.keep_alive(call.keep_alive && call.chunked);
    res.chunked(call.chunked);
    std::ostringstream text;
    text << res.base();
    call.head_sent = true;
    Queue(std::make_shared<std::string>(text.str()));
  }

  // GET /downloads/{report}/{artefact}: the reporting service's chunked DownloadArtefact
  // stream as the body of an attachment, for a caller with a token (sent by the console's
  // fetch, never in the URL).
  void Download(const http::request<http::string_body>& req, const std::string& path) {
    const std::string rest = path.substr(std::string("/downloads/").size());
    const size_t slash = rest.find('/');
    const std::string report = slash == std::string::npos ? "" : rest.substr(0, slash);
    const std::string name = slash == std::string::npos ? "" : rest.substr(slash + 1);
    auto plain = [](const std::string& text, const char* allowed) {
      return !text.empty() && text.size() <= 100 &&
             text.find_first_not_of(allowed) == std::string::npos;
    };
    if (!plain(report, "0123456789abcdef-") ||
        !plain(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") || name[0] == '.') {
      Error(404, grpc::Status(grpc::StatusCode::NOT_FOUND, "no such download"), req.keep_alive(),
            req.version());
      return;
    }
    const std::string method = "/ctg.reporting.v1.ReportingService/DownloadArtefact";
    auto call = std::make_shared<PendingCall>();
    call->download = true;
    call->method = method;
    call->json = false;
    call->keep_alive = req.keep_alive();
    call->version = req.version();
    call->filename = name;
    call->media_type = MediaTypeOfFile(name);
    std::string binary, error;
    if (!impl_.catalog.RequestFromJson(
            method, "{\"report\": \"reports/" + report + "\", \"artefact\": \"" + name + "\"}",
            &binary, &error)) {
      Error(503,
            grpc::Status(grpc::StatusCode::UNAVAILABLE, "downloads are not available: " + error),
            req.keep_alive(), req.version());
      return;
    }
    grpc::Slice slice(binary);
    call->request = grpc::ByteBuffer(&slice, 1);
    ForwardHeaders(req, Peer(), call->context);
    StartStream(std::move(call));
  }

  static std::string Envelope(unsigned char flags, const std::string& data) {
    std::string out(5, '\0');
    out[0] = static_cast<char>(flags);
    const uint32_t n = static_cast<uint32_t>(data.size());
    out[1] = static_cast<char>(n >> 24);
    out[2] = static_cast<char>(n >> 16);
    out[3] = static_cast<char>(n >> 8);
    out[4] = static_cast<char>(n);
    return out + data;
  }

  static std::string Chunk(const std::string& data) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
  }

  void StreamMessage(PendingCall& call, std::string message) {
    if (call.download) {
      std::string bytes;
      if (!impl_.catalog.ResponseBytesField(call.method, message, "data", &bytes)) {
        call.context.TryCancel();
        return;
      }
      if (!call.head_sent) SendStreamHead(call);
      if (!bytes.empty()) {
        Queue(std::make_shared<std::string>(call.chunked ? Chunk(bytes) : std::move(bytes)));
      }
      return;
    }
    if (call.json) {
      std::string json, error;
      if (!impl_.catalog.ResponseToJson(call.method, message, &json, &error)) {
        call.context.TryCancel();
        return;
      }
      message = std::move(json);
    }
    const std::string frame = Envelope(0, message);
    Queue(std::make_shared<std::string>(call.chunked ? Chunk(frame) : frame));
  }

  void EndStream(PendingCall& call, const grpc::Status& status) {
    if (call.download) {
      streaming_.reset();
      if (!call.head_sent) {
        // Nothing was sent yet: an error with its status, or an empty file.
        if (!status.ok()) {
          Error(HttpStatusOf(status.error_code()), status, call.keep_alive, call.version);
          return;
        }
        SendStreamHead(call);
      }
      if (status.ok() && call.chunked) {
        Queue(std::make_shared<std::string>("0\r\n\r\n"));
        keep_alive_after_stream_ = call.keep_alive;
      } else if (status.ok()) {
        keep_alive_after_stream_ = false;  // HTTP/1.0: the end of the body is the close
      } else {
        keep_alive_after_stream_ = false;  // cut short: the browser sees a failed download
      }
      stream_done_ = true;
      MaybeWrite();
      return;
    }
    const std::string end = status.ok() ? "{}" : "{\"error\":" + ConnectErrorJson(status) + "}";
    const std::string frame = Envelope(0x02, end);
    Queue(std::make_shared<std::string>(call.chunked ? Chunk(frame) + "0\r\n\r\n" : frame));
    stream_done_ = true;
    streaming_.reset();
    keep_alive_after_stream_ = call.keep_alive && call.chunked;
    MaybeWrite();
  }

  // Raw bytes written in order, one write at a time (the stream's head, chunks, its end).
  void Queue(std::shared_ptr<std::string> bytes) {
    out_.push_back(std::move(bytes));
    MaybeWrite();
  }

  void MaybeWrite() {
    if (writing_) return;
    if (out_.empty()) {
      if (stream_done_) {
        stream_done_ = false;
        if (keep_alive_after_stream_) {
          Read();
        } else {
          Close(stream_);
        }
      }
      return;
    }
    writing_ = true;
    auto bytes = out_.front();
    out_.pop_front();
    asio::async_write(stream_, asio::buffer(*bytes),
                      [self = this->shared_from_this(), bytes](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        if (ec) {
                          // The client left: the call is cancelled, nothing more is written.
                          if (auto call = self->streaming_) call->context.TryCancel();
                          self->out_.clear();
                          self->stream_done_ = false;
                          return;
                        }
                        self->MaybeWrite();
                      });
  }

  void Send(http::response<http::string_body> res, bool keep_alive,
            const char* cache_control = "no-store") {
    res.set(http::field::cache_control, cache_control);
    res.set("X-Content-Type-Options", "nosniff");
    res.keep_alive(keep_alive);
    res.prepare_payload();
    auto message = std::make_shared<http::response<http::string_body>>(std::move(res));
    http::async_write(stream_, *message,
                      [self = this->shared_from_this(), message](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (!message->keep_alive()) {
                          Close(self->stream_);
                          return;
                        }
                        self->Read();
                      });
  }

  Stream stream_;
  ConnectListener::Impl& impl_;
  // A server stream in progress: its call, what waits to be written, where it stands.
  std::shared_ptr<PendingCall> streaming_;
  std::deque<std::shared_ptr<std::string>> out_;
  bool writing_ = false;
  bool stream_done_ = false;
  bool keep_alive_after_stream_ = true;
  std::string peer_;  // the browser's address, as gRPC names peers
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void ConnectListener::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;  // stopping
    } else if (tls) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls), *this)
          ->Run();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), *this)
          ->Run();
    }
    Accept();
  });
}

ConnectListener::ConnectListener(ConnectOptions options, std::shared_ptr<grpc::Channel> gateway,
                                 const MethodCatalog& catalog)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(gateway), catalog)) {}

ConnectListener::~ConnectListener() { Stop(); }

void ConnectListener::Start() {
  auto& o = impl_->options;
  if (!o.tls_cert.empty()) {
    impl_->tls.emplace(asio::ssl::context::tls_server);
    ConfigureServerTls(*impl_->tls, o.tls_cert, o.tls_key, /*client_ca=*/"", /*alpn_h2=*/false);
  }
  if (!o.oidc_token_endpoint.empty())
    impl_->console_policy = ConsolePolicy({o.oidc_token_endpoint});
  const tcp::endpoint endpoint = ListenEndpoint(o.listen_address);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->Accept();
  for (int i = 0; i < std::max(1, o.threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
}

void ConnectListener::Stop() {
  if (!impl_ || impl_->threads.empty()) return;
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  {
    // Calls in flight finish (the gateway's server still runs) before the loop stops.
    std::unique_lock lock(impl_->mu);
    impl_->idle.wait_for(lock, std::chrono::seconds(10), [this] { return impl_->calls == 0; });
  }
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

int ConnectListener::port() const { return impl_->port; }

}  // namespace ctg::gateway
