#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/method_catalog.h"

namespace ctg::gateway {

// The origin of an absolute http(s) URL, read strictly: scheme "http" or "https", a host of
// letters, digits, "." and "-" (or an IPv6 literal in brackets), an optional port, then the end
// or "/", "?", "#"; nullopt for anything else — user information ("a@b"), spaces, quotes, other
// schemes — so what it returns can go into a policy or be judged loopback as it is.
struct UrlOrigin {
  std::string scheme;     // "https"
  std::string host;       // "idp.example", "127.0.0.1", "[::1]"
  std::string host_port;  // "idp.example:443" (the scheme's default port when none is given)
  std::string origin;     // "https://idp.example:8443" (as written: the port only when given)
};
std::optional<UrlOrigin> ParseUrlOrigin(std::string_view url);

// The console pages' policy: kConsoleSecurityPolicy, with connect-src also allowing the origin
// of each of `connect_urls` — the identity provider's token endpoint the page calls to sign in.
// Throws std::invalid_argument for a URL ParseUrlOrigin refuses.
std::string ConsolePolicy(const std::vector<std::string>& connect_urls);

// What GET /sign-in.json tells the console about the ways to sign in, as JSON:
// {"development": bool, "oidc": null | {"authorizationEndpoint", "tokenEndpoint", "clientId",
// "scope"}}.
std::string SignInConfigJson(const struct ConnectOptions& options);

// The HTTP status a Connect response carries for a gRPC code (the table of
// google/rpc/code.proto, as the Connect protocol uses it: INVALID_ARGUMENT 400, UNAUTHENTICATED
// 401, PERMISSION_DENIED 403, NOT_FOUND 404, ABORTED and ALREADY_EXISTS 409, FAILED_PRECONDITION
// 412, RESOURCE_EXHAUSTED 429, CANCELLED 499, UNIMPLEMENTED 501, UNAVAILABLE 503,
// DEADLINE_EXCEEDED 504, the others 500).
int HttpStatusOf(grpc::StatusCode code);

// The Connect name of a code ("invalid_argument", "not_found", ...).
std::string ConnectCodeName(grpc::StatusCode code);

// The Connect error of `status` as JSON: {"code", "message", "details": [{"type", "value",
// "debug"}]} — each detail of the gRPC status (grpc-status-details-bin: a google.rpc.Status)
// with its type name, its bytes in base64 and, for the types this binary knows
// (google.rpc.BadRequest, ...), its JSON under "debug", so a browser can show each field
// violation without decoding protobuf.
std::string ConnectErrorJson(const grpc::Status& status);

// Settings of the browser-facing listener.
struct ConnectOptions {
  // "host:port"; port 0 picks one.
  std::string listen_address = "127.0.0.1:0";
  // PEM certificate chain and key: HTTPS (empty: plain HTTP, which the gateway allows on a
  // loopback address only).
  std::string tls_cert;
  std::string tls_key;
  // Largest request body accepted (a larger one gets 413 and resource_exhausted).
  size_t max_body_bytes = 4 * 1024 * 1024;
  // Threads serving HTTP (the calls themselves run on gRPC's threads).
  int threads = 2;
  // The console's static files: GET / (index.html) and GET /<file> below this directory, with
  // a strict Content-Security-Policy (kConsoleSecurityPolicy) and no framing ("": none served).
  std::string console_dir;
  // Development sign-in, POST /dev/sign-in {"role", "organisation"}: an HS256 token signed with
  // this key for `dev_issuer`/`dev_audience`, living `dev_token_lifetime` ("" key: no such
  // endpoint; the gateway enables it only on a loopback listener).
  std::string dev_signin_key;
  std::string dev_issuer;
  std::string dev_audience;
  std::chrono::seconds dev_token_lifetime{std::chrono::hours(1)};
  // Production sign-in: OpenID Connect's authorization code flow with PKCE, run by the page
  // itself against the identity provider, whose tokens (RS256/ES256) the gateway verifies like
  // any other. The page learns these from GET /sign-in.json; the token endpoint's origin joins
  // the policy's connect-src. Empty endpoints: no such sign-in.
  std::string oidc_authorization_endpoint;
  std::string oidc_token_endpoint;
  std::string oidc_client_id;
  std::string oidc_scope = "openid";
};

// The Content-Security-Policy of the console's pages: everything from this origin only, no
// inline script or style, no plugin, no framing, no form posting anywhere.
inline constexpr char kConsoleSecurityPolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// The gateway's second listener, for browsers: HTTP/1.1 speaking the Connect protocol on the
// same paths the gateway routes ("POST /ctg.partners.v1.PartnerService/GetOrganisation"):
// unary calls in JSON ("application/json") or binary ("application/proto"), server streams
// enveloped ("application/connect+json" / "+proto": one enveloped request; the response's
// messages enveloped in a chunked body, then the end-of-stream envelope with the error, if
// any), with the "Connect-Protocol-Version: 1" header required (a cross-site form cannot send
// it, nor these content types). Client and bidirectional streams need HTTP/2: 501. JSON is
// translated with the descriptors the gateway learnt by reflection (MethodCatalog). Each call is
// then made on `gateway` — a channel to the gateway's own gRPC front end (the relay's private
// socket, or in process to the proxy without the relay), with the browser's address in
// kRelayPeerHeader — so it goes through exactly the same token check, declared access, rate and
// concurrency limits, access log, metrics and request id as a gRPC call: the HTTP listener adds
// no rule of its own and refuses nothing a gRPC caller may do, beyond the HTTP framing. Answers:
// 200 with the response message; a Connect error (ConnectErrorJson) with the HTTP status of its
// code; 404 for an unknown path, 405 for another verb, 415 for another content type, 413 for an
// oversized body, 400 without the protocol header. No CORS: nothing is served to another origin.
class ConnectListener {
 public:
  // `catalog` must outlive the listener.
  ConnectListener(ConnectOptions options, std::shared_ptr<grpc::Channel> gateway,
                  const MethodCatalog& catalog);
  ~ConnectListener();
  ConnectListener(const ConnectListener&) = delete;
  ConnectListener& operator=(const ConnectListener&) = delete;

  // Binds and starts serving; throws std::runtime_error when the address cannot be bound or
  // the certificate does not load.
  void Start();
  // Stops accepting, closes every connection and joins the threads.
  void Stop();
  // The bound port (after Start).
  int port() const;

  // The listener's state (connect.cc), shared with its connections.
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ctg::gateway
