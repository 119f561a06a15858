#include "gateway/h2_relay.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/auth.h"
#include "common/log.h"
#include "common/rpc.h"
#include "gateway/listen.h"
#include "gateway/proxy.h"
#include "gateway/tables.h"

namespace ctg::gateway {

std::string PercentEncodeGrpcMessage(const std::string& message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (unsigned char c : message) {
    if (c >= 0x20 && c <= 0x7E && c != '%') {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string GrpcTimeoutHeader(std::chrono::milliseconds timeout) {
  int64_t ms = std::max<int64_t>(0, timeout.count());
  if (ms < 100000000) return std::to_string(ms) + "m";
  const int64_t s = ms / 1000;
  if (s < 100000000) return std::to_string(s) + "S";
  return std::to_string(std::min<int64_t>(s / 3600, 99999999)) + "H";
}

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// A grpc-timeout header's duration; nullopt when malformed.
std::optional<std::chrono::nanoseconds> ParseGrpcTimeout(std::string_view v) {
  if (v.size() < 2 || v.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : v.substr(0, v.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  switch (v.back()) {
    case 'H':
      return std::chrono::hours(n);
    case 'M':
      return std::chrono::minutes(n);
    case 'S':
      return std::chrono::seconds(n);
    case 'm':
      return std::chrono::milliseconds(n);
    case 'u':
      return std::chrono::microseconds(n);
    case 'n':
      return std::chrono::nanoseconds(n);
    default:
      return std::nullopt;
  }
}

struct Header {
  std::string name, value;
};
using Headers = std::vector<Header>;

const std::string* FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

// One header as nghttp2 takes it: pointers into `name` and `value`, which must outlive the
// submit call (nghttp2 encodes them before it returns).
nghttp2_nv NameValue(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

std::vector<nghttp2_nv> NameValues(const Headers& headers) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(headers.size());
  for (const auto& h : headers) nv.push_back(NameValue(h.name, h.value));
  return nv;
}

// Request headers the relay never passes on: those of the connection (HTTP/2 forbids them
// anyway) and those it sets itself.
bool IsRelayOwnHeader(std::string_view name) {
  return name == "x-request-id" || name == kRelayPeerHeader || name == "connection" ||
         name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade" || name == "host";
}

// Bytes received on one side, waiting for the other side's flow control to take them.
class ByteQueue {
 public:
  size_t size() const { return data_.size() - offset_; }
  bool empty() const { return size() == 0; }
  void Append(const uint8_t* p, size_t n) { data_.append(reinterpret_cast<const char*>(p), n); }
  void Append(std::string_view s) { data_.append(s); }
  size_t Take(uint8_t* out, size_t n) {
    n = std::min(n, size());
    std::memcpy(out, data_.data() + offset_, n);
    offset_ += n;
    if (offset_ == data_.size()) {
      data_.clear();
      offset_ = 0;
    } else if (offset_ > (1 << 16) && offset_ * 2 > data_.size()) {
      data_.erase(0, offset_);
      offset_ = 0;
    }
    return n;
  }
  void Clear() {
    data_.clear();
    offset_ = 0;
  }

 private:
  std::string data_;
  size_t offset_ = 0;
};

// Follows the length-prefixed gRPC messages of one direction of a stream: counts them and finds
// one longer than the limit, without copying them.
class MessageCounter {
 public:
  // False as soon as a message announces more than `max_bytes`.
  bool Feed(const uint8_t* p, size_t n, size_t max_bytes) {
    while (n > 0) {
      if (remaining_ > 0) {
        const size_t k = size_t(std::min<uint64_t>(remaining_, n));
        remaining_ -= k;
        p += k;
        n -= k;
        continue;
      }
      prefix_[prefix_have_++] = *p++;
      --n;
      if (prefix_have_ == 5) {
        prefix_have_ = 0;
        ++messages_;
        remaining_ = (uint64_t(prefix_[1]) << 24) | (uint64_t(prefix_[2]) << 16) |
                     (uint64_t(prefix_[3]) << 8) | uint64_t(prefix_[4]);
        if (remaining_ > max_bytes) return false;
      }
    }
    return true;
  }
  int64_t messages() const { return messages_; }

 private:
  uint8_t prefix_[5] = {};
  size_t prefix_have_ = 0;
  uint64_t remaining_ = 0;
  int64_t messages_ = 0;
};

class ClientConn;
class BackendConn;

// One call received on a client connection, with its forwarding to a backend (one attempt at a
// time). Lives on its connection's thread; owned by the ClientConn.
struct Call {
  explicit Call(int32_t id) : id(id) {}
  const int32_t id;  // the client's stream
  std::string method_verb, scheme, path, authority;
  Headers headers;  // the request's regular headers, in order
  size_t header_bytes = 0;
  std::string request_id;
  // True once the relay itself admitted it (it then records it); false for calls passed to the
  // fallback unexamined.
  bool admitted = false;
  bool to_fallback = false;
  Admission admission;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point deadline;
  // The attempt in progress.
  std::shared_ptr<BackendConn> backend_conn;
  int32_t backend_stream = 0;
  Backend* backend = nullptr;  // null for the fallback
  std::string backend_address;
  GatewayMetrics::BackendCallMetrics* backend_metrics = nullptr;
  std::chrono::steady_clock::time_point attempt_start;
  int attempts = 0;
  // Request bytes: `resend` (a retry's copy of what was sent before) goes first, then `to_backend`.
  ByteQueue resend, to_backend;
  std::string replay;  // everything sent to the backend so far, while replay_complete
  bool replay_complete = true;
  bool client_ended = false;     // the client half-closed: END_STREAM seen
  bool discard_request = false;  // answered already: request bytes are dropped
  MessageCounter request_messages, response_messages;
  size_t bytes_in = 0, bytes_out = 0;
  // Response.
  Headers response_headers;  // of the attempt in progress
  Headers trailers;
  bool response_submitted = false;  // headers passed to the client (no retry after that)
  bool trailers_ready = false;      // the end of the response is known: trailers after the data
  bool ended = false;               // the client's stream got its end (trailers or trailers-only)
  ByteQueue to_client;
  int code = -1;  // the status the client gets
  std::string message;
  bool recorded = false;
};

int StatusCodeOf(const Headers& headers, std::string* message) {
  const std::string* s = FindHeader(headers, "grpc-status");
  if (const std::string* m = FindHeader(headers, "grpc-message")) *message = *m;
  if (s == nullptr || s->empty() || s->size() > 2) return grpc::StatusCode::UNKNOWN;
  int code = 0;
  for (char c : *s) {
    if (c < '0' || c > '9') return grpc::StatusCode::UNKNOWN;
    code = code * 10 + (c - '0');
  }
  return code;
}

// The byte transport of a client connection: TCP, TLS over TCP, or the private Unix socket.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void Handshake(std::function<void(const error_code&)> done) = 0;
  virtual void Read(asio::mutable_buffer buffer,
                    std::function<void(const error_code&, size_t)> done) = 0;
  virtual void Write(asio::const_buffer buffer,
                     std::function<void(const error_code&, size_t)> done) = 0;
  virtual void Close() = 0;
  // The peer as gRPC names it ("ipv4:10.0.0.1:53124"; "unix:" on the private socket).
  virtual std::string Peer() = 0;
  // Whether calls may name the caller's address in kRelayPeerHeader (the private socket only).
  virtual bool trusted() const { return false; }
};

template <typename Socket>
void CloseSocket(Socket& socket) {
  error_code ec;
  socket.shutdown(Socket::shutdown_both, ec);
  socket.close(ec);
}

// The reads and writes of a transport over `Stream` (a socket or a TLS stream).
template <typename Stream>
class StreamTransport : public Transport {
 public:
  template <typename... Args>
  explicit StreamTransport(Args&&... args) : stream_(std::forward<Args>(args)...) {}
  void Read(asio::mutable_buffer b, std::function<void(const error_code&, size_t)> d) override {
    stream_.async_read_some(b, std::move(d));
  }
  void Write(asio::const_buffer b, std::function<void(const error_code&, size_t)> d) override {
    asio::async_write(stream_, b, std::move(d));
  }

 protected:
  Stream stream_;
};

// The peer of a TCP socket, named the way gRPC names peers.
std::string TcpPeer(const tcp::socket& socket) {
  error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  return ec ? "unknown" : GrpcPeerName(remote);
}

class TcpTransport final : public StreamTransport<tcp::socket> {
 public:
  explicit TcpTransport(tcp::socket socket) : StreamTransport(std::move(socket)) {
    error_code ec;
    stream_.set_option(tcp::no_delay(true), ec);
  }
  void Handshake(std::function<void(const error_code&)> done) override { done({}); }
  void Close() override { CloseSocket(stream_); }
  std::string Peer() override { return TcpPeer(stream_); }
};

class TlsTransport final : public StreamTransport<asio::ssl::stream<tcp::socket>> {
 public:
  TlsTransport(tcp::socket socket, asio::ssl::context& tls)
      : StreamTransport(std::move(socket), tls) {
    error_code ec;
    stream_.next_layer().set_option(tcp::no_delay(true), ec);
  }
  void Handshake(std::function<void(const error_code&)> done) override {
    stream_.async_handshake(asio::ssl::stream_base::server, std::move(done));
  }
  void Close() override { CloseSocket(stream_.next_layer()); }
  std::string Peer() override { return TcpPeer(stream_.next_layer()); }
};

class UnixTransport final : public StreamTransport<asio::local::stream_protocol::socket> {
 public:
  explicit UnixTransport(asio::local::stream_protocol::socket socket)
      : StreamTransport(std::move(socket)) {}
  void Handshake(std::function<void(const error_code&)> done) override { done({}); }
  void Close() override { CloseSocket(stream_); }
  std::string Peer() override { return "unix:"; }
  bool trusted() const override { return true; }
};

// The session settings both sides use: 1 MiB per stream (like every ctg server), 8 MiB per
// connection, windows updated only once the other side took the bytes (back-pressure end to end).
constexpr int32_t kStreamWindow = 1 << 20;
constexpr int32_t kConnectionWindow = 8 << 20;

// The callbacks of one side's sessions (null: not wanted).
struct SessionCallbacks {
  nghttp2_on_begin_headers_callback begin_headers = nullptr;
  nghttp2_on_header_callback header = nullptr;
  nghttp2_on_frame_recv_callback frame_recv = nullptr;
  nghttp2_on_data_chunk_recv_callback data_chunk = nullptr;
  nghttp2_on_stream_close_callback stream_close = nullptr;
  nghttp2_on_frame_send_callback frame_send = nullptr;
};

// A server (client side of the relay) or client (backend side) session with the relay's settings
// and windows, `first_setting` added to them; its SETTINGS are queued.
nghttp2_session* NewSession(bool server, void* user, const SessionCallbacks& c,
                            nghttp2_settings_entry first_setting) {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  if (c.begin_headers) nghttp2_session_callbacks_set_on_begin_headers_callback(cb, c.begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, c.header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c.frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, c.data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, c.stream_close);
  if (c.frame_send) nghttp2_session_callbacks_set_on_frame_send_callback(cb, c.frame_send);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_send_header_block_length(option, 2 * kMaxMetadataBytes);
  nghttp2_session* session = nullptr;
  if (server) {
    nghttp2_session_server_new2(&session, cb, user, option);
  } else {
    nghttp2_session_client_new2(&session, cb, user, option);
  }
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(cb);
  const nghttp2_settings_entry settings[] = {
      first_setting,
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, uint32_t(kMaxMetadataBytes)}};
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, 3);
  nghttp2_session_set_local_window_size(session, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  return session;
}

// Appends to `out` every byte `session` has to send now; a negative nghttp2 error, or 0.
ssize_t DrainSession(nghttp2_session* session, std::string* out) {
  for (;;) {
    const uint8_t* p = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session, &p);
    if (n <= 0) return n;
    out->append(reinterpret_cast<const char*>(p), size_t(n));
  }
}

}  // namespace

struct H2Relay::Impl {
  Impl(RelayOptions o, GatewayChecks c) : options(std::move(o)), checks(c) {}

  struct Loop {
    asio::io_context ioc{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
    // Access-log lines of the calls this loop ended, not yet written (see WriteAccessLog).
    std::string access_log;
    asio::steady_timer access_log_timer{ioc};
    bool access_log_timer_armed = false;
    // Writes the pending access-log lines now.
    void FlushAccessLog() {
      if (access_log.empty()) return;
      EmitLines(access_log);
      access_log.clear();
    }
  };

  // Writes `loop`'s pending access-log lines now when they fill kAccessLogBatchBytes, otherwise
  // at most options.access_log_flush later: one write(2) per call cost a relayed echo ~10 us of
  // CPU on the benchmark's machine (gateway_bench's hop mode: 87 -> 77 us a call); batched, one
  // write covers ~100 calls at one call in flight. Lines still
  // pending when the gateway stops are written then (a crash loses at most that interval).
  void WriteAccessLog(Loop& loop);

  void Accept();
  void AcceptPrivate();
  // Starts serving `transport` on `loop`.
  void Serve(std::unique_ptr<Transport> transport, Loop& loop);
  // The bytes of pending access-log lines that are written at once.
  static constexpr size_t kAccessLogBatchBytes = 64 * 1024;
  void Register(const std::shared_ptr<ClientConn>& conn);
  void Unregister(ClientConn* conn);

  const RelayOptions options;
  GatewayChecks checks;
  std::optional<asio::ssl::context> tls;
  std::vector<std::unique_ptr<Loop>> loops;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::local::stream_protocol::acceptor> private_acceptor;
  size_t next_loop = 0;
  int port = 0;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable idle;
  std::unordered_map<ClientConn*, std::weak_ptr<ClientConn>> conns;
};

namespace {

// One connection to a backend instance (or the fallback), opened by one client connection for
// the calls it forwards there: all on that client connection's thread. Its failures are told to
// callers without the backend's address (the access log has it).
class BackendConn : public std::enable_shared_from_this<BackendConn> {
 public:
  BackendConn(ClientConn* owner, asio::io_context& ioc, std::string address);
  ~BackendConn() {
    if (session_ != nullptr) nghttp2_session_del(session_);
  }
  void Connect();
  // Sends what the session has queued, unless a write is in progress; true when it started one.
  bool Flush();
  void Close();
  nghttp2_session* session() { return session_; }
  const std::string& address() const { return address_; }
  bool usable() const { return !closed_ && !draining_; }
  bool closed() const { return closed_; }
  std::unordered_set<Call*>& calls() { return calls_; }

 private:
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t len, void* user);
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user);
  void Read();
  void Failed(const std::string& why, bool never_processed);

  ClientConn* const owner_;
  std::shared_ptr<ClientConn> owner_ref_;  // set while an operation is pending
  const std::string address_;
  asio::io_context& ioc_;
  std::optional<tcp::socket> tcp_;
  std::optional<asio::local::stream_protocol::socket> unix_;
  nghttp2_session* session_ = nullptr;
  bool connected_ = false, writing_ = false, closed_ = false, draining_ = false;
  std::string out_;
  std::array<uint8_t, 16384> in_{};
  std::unordered_set<Call*> calls_;
};

// One client connection: its HTTP/2 server session, its calls and its backend connections.
class ClientConn : public std::enable_shared_from_this<ClientConn> {
 public:
  ClientConn(H2Relay::Impl& relay, std::unique_ptr<Transport> transport, H2Relay::Impl::Loop& loop)
      : relay_(relay),
        transport_(std::move(transport)),
        loop_(loop),
        ioc_(loop.ioc),
        peer_(transport_->Peer()) {}
  ~ClientConn() {
    if (session_ != nullptr) nghttp2_session_del(session_);
  }

  void Start();
  // Asks the client to open no new stream; the connection closes when its calls are done.
  void GoAway();
  void Close();
  // Flushes every session of this connection until none has anything more to send now.
  void FlushAll();

  // Reactions to the backend side, called by BackendConn.
  void BackendHeaders(Call* call, bool end_stream);
  void BackendTrailers(Call* call);
  void BackendData(Call* call, const uint8_t* data, size_t len);
  void BackendStreamClosed(Call* call, uint32_t error_code);
  void BackendFailed(Call* call, const std::string& why, bool never_processed);
  // The bytes a backend stream received were passed on; or the stream is gone.
  void ConsumeBackend(Call* call, size_t n);

  asio::io_context& ioc() { return ioc_; }

  // The request data of `call` for its backend stream (its data provider).
  ssize_t ReadRequest(Call* call, uint8_t* buf, size_t length, uint32_t* flags);

 private:
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t len, void* user);
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user);
  static int OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static ssize_t ReadResponse(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                              uint32_t* flags, nghttp2_data_source*, void* user);

  void Read();
  bool Flush();
  Call* Find(int32_t id) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : it->second.get();
  }
  void StartCall(Call* call);
  void ClientEnded(Call* call);
  void RequestData(Call* call, const uint8_t* data, size_t len);
  void SendToBackend(Call* call, Backend* backend, const std::string& address);
  std::shared_ptr<BackendConn> BackendFor(const std::string& address);
  // Sends the call again to another healthy instance when the rules allow it (see H2Relay).
  bool TryRetry(Call* call);
  // Ends the call with `status` from the relay itself.
  void Answer(Call* call, int code, const std::string& message, const std::string& details,
              const std::vector<std::pair<std::string, std::string>>& extra);
  void AttemptEnded(Call* call, int code);
  void CancelBackendStream(Call* call);
  // Drops the request bytes the backend will not get, handing their flow-control credit back to
  // the client (a connection's window would otherwise shrink by them for good).
  void DropRequestBytes(Call* call);
  // Takes what the call's record needs (its admission moves out): the metrics and the access-log
  // line are made by RecordEnded, once the answers of this loop turn have been sent.
  void Record(Call* call);
  // Counts and logs the calls Record took, and releases their admissions.
  void RecordEnded();
  void MaybeClose();
  // Records the calls ended since (RecordEnded) and hands their access-log lines to the loop's
  // writer: done once their answers are sent, so the caller never waits for either.
  void WriteLog() {
    RecordEnded();
    relay_.WriteAccessLog(loop_);
  }
  // The caller's address: the connection's peer, or on the private socket what its client (the
  // gateway's browser listener) put in kRelayPeerHeader.
  std::string PeerOf(const Call& call) const {
    if (transport_->trusted()) {
      if (const std::string* p = FindHeader(call.headers, kRelayPeerHeader)) return *p;
    }
    return peer_;
  }

  H2Relay::Impl& relay_;
  std::unique_ptr<Transport> transport_;
  H2Relay::Impl::Loop& loop_;
  asio::io_context& ioc_;
  const std::string peer_;
  nghttp2_session* session_ = nullptr;
  bool writing_ = false, closed_ = false;
  std::string out_;
  std::array<uint8_t, 16384> in_{};
  std::unordered_map<int32_t, std::unique_ptr<Call>> calls_;
  // Calls ended, not yet counted and logged (Record, RecordEnded).
  struct Ended {
    Admission admission;
    std::string path;  // the call's own copy: outcome.path is a view, set to it when recorded
    CallOutcome outcome;
  };
  std::vector<Ended> ended_;
  std::unordered_map<std::string, std::shared_ptr<BackendConn>> backends_;  // usable ones
  std::vector<std::shared_ptr<BackendConn>> all_backends_;                  // with those draining
};

// ---- BackendConn
// ---------------------------------------------------------------------------------

BackendConn::BackendConn(ClientConn* owner, asio::io_context& ioc, std::string address)
    : owner_(owner), address_(std::move(address)), ioc_(ioc) {
  SessionCallbacks c;
  c.header = OnHeader;
  c.frame_recv = OnFrameRecv;
  c.data_chunk = OnDataChunk;
  c.stream_close = OnStreamClose;
  session_ = NewSession(/*server=*/false, this, c, {NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
}

void BackendConn::Connect() {
  owner_ref_ = owner_->shared_from_this();
  auto self = shared_from_this();
  auto connected = [this, self](const error_code& ec) {
    if (closed_) return;
    if (ec) return Failed("the backend cannot be reached (" + ec.message() + ")", true);
    connected_ = true;
    if (tcp_) {
      error_code ignored;
      tcp_->set_option(tcp::no_delay(true), ignored);
    }
    Read();
    owner_->FlushAll();
  };
  if (address_.rfind("unix:", 0) == 0) {
    unix_.emplace(ioc_);
    unix_->async_connect(asio::local::stream_protocol::endpoint(address_.substr(5)), connected);
    return;
  }
  tcp_.emplace(ioc_);
  try {
    tcp_->async_connect(ListenEndpoint(address_), connected);
  } catch (const std::exception&) {
    // A host name: resolved (asynchronously) first.
    auto resolver = std::make_shared<tcp::resolver>(ioc_);
    const size_t colon = address_.rfind(':');
    resolver->async_resolve(
        address_.substr(0, colon), address_.substr(colon + 1),
        [this, self, resolver, connected](const error_code& ec,
                                          const tcp::resolver::results_type& results) {
          if (closed_) return;
          if (ec) return Failed("the backend cannot be reached (" + ec.message() + ")", true);
          asio::async_connect(
              *tcp_, results,
              [connected](const error_code& e, const tcp::endpoint&) { connected(e); });
        });
  }
}

void BackendConn::Read() {
  auto self = shared_from_this();
  auto done = [this, self](const error_code& ec, size_t n) {
    if (closed_) return;
    if (ec) return Failed("the connection to the backend was lost", false);
    const ssize_t rv = nghttp2_session_mem_recv(session_, in_.data(), n);
    if (rv < 0) {
      return Failed(std::string("the backend broke HTTP/2: ") + nghttp2_strerror(int(rv)), false);
    }
    Read();
    owner_->FlushAll();
  };
  if (unix_) {
    unix_->async_read_some(asio::buffer(in_), done);
  } else {
    tcp_->async_read_some(asio::buffer(in_), done);
  }
}

bool BackendConn::Flush() {
  if (!connected_ || writing_ || closed_) return false;
  if (const ssize_t rv = DrainSession(session_, &out_); rv < 0) {
    Failed(std::string("HTTP/2 error towards the backend: ") + nghttp2_strerror(int(rv)), false);
    return false;
  }
  if (out_.empty()) {
    if (draining_ && calls_.empty()) Close();
    return false;
  }
  writing_ = true;
  auto self = shared_from_this();
  auto done = [this, self](const error_code& ec, size_t) {
    writing_ = false;
    out_.clear();
    if (closed_) return;
    if (ec) return Failed("the connection to the backend was lost", false);
    owner_->FlushAll();
  };
  if (unix_) {
    asio::async_write(*unix_, asio::buffer(out_), done);
  } else {
    asio::async_write(*tcp_, asio::buffer(out_), done);
  }
  return true;
}

void BackendConn::Close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  if (tcp_) tcp_->close(ec);
  if (unix_) unix_->close(ec);
  owner_ref_.reset();
}

void BackendConn::Failed(const std::string& why, bool never_processed) {
  if (closed_) return;
  draining_ = true;
  const std::vector<Call*> calls(calls_.begin(), calls_.end());
  calls_.clear();
  auto self = shared_from_this();  // the owner may drop its reference below
  auto owner = owner_ref_;
  Close();
  for (Call* call : calls) {
    nghttp2_session_set_stream_user_data(session_, call->backend_stream, nullptr);
    owner_->BackendFailed(call, why, never_processed);
  }
  owner_->FlushAll();
}

int BackendConn::OnHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                          size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  auto* call =
      static_cast<Call*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (call == nullptr) return 0;
  Header h{std::string(reinterpret_cast<const char*>(name), namelen),
           std::string(reinterpret_cast<const char*>(value), valuelen)};
  if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
    call->response_headers.push_back(std::move(h));
  } else {
    call->trailers.push_back(std::move(h));
  }
  return 0;
}

int BackendConn::OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<BackendConn*>(user);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    // Streams above its last id will be closed as refused; nothing new goes here.
    self->draining_ = true;
    return 0;
  }
  auto* call =
      static_cast<Call*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (call == nullptr) return 0;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
      self->owner_->BackendHeaders(call, end_stream);
    } else if (end_stream) {
      self->owner_->BackendTrailers(call);
    }
  } else if (frame->hd.type == NGHTTP2_DATA && end_stream && !call->trailers_ready) {
    // A gRPC response always ends with trailers: this one did not say how the call ended.
    call->trailers = {{"grpc-status", std::to_string(grpc::StatusCode::INTERNAL)},
                      {"grpc-message", "the backend ended the response without a status"}};
    self->owner_->BackendTrailers(call);
  }
  return 0;
}

int BackendConn::OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                             const uint8_t* data, size_t len, void* user) {
  auto* self = static_cast<BackendConn*>(user);
  auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (call == nullptr) {
    nghttp2_session_consume_connection(session, len);
    return 0;
  }
  self->owner_->BackendData(call, data, len);
  return 0;
}

int BackendConn::OnStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                               void* user) {
  auto* self = static_cast<BackendConn*>(user);
  auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (call == nullptr) return 0;
  nghttp2_session_set_stream_user_data(session, stream_id, nullptr);
  self->calls_.erase(call);
  self->owner_->BackendStreamClosed(call, error_code);
  return 0;
}

// ---- ClientConn
// ----------------------------------------------------------------------------------

void ClientConn::Start() {
  auto self = shared_from_this();
  transport_->Handshake([this, self](const error_code& ec) {
    if (ec) return Close();
    SessionCallbacks c;
    c.begin_headers = OnBeginHeaders;
    c.header = OnHeader;
    c.frame_recv = OnFrameRecv;
    c.data_chunk = OnDataChunk;
    c.stream_close = OnStreamClose;
    c.frame_send = OnFrameSend;
    session_ = NewSession(
        /*server=*/true, this, c,
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, uint32_t(relay_.options.max_concurrent_streams)});
    if (relay_.stopping) GoAway();
    Read();
    FlushAll();
  });
}

void ClientConn::Read() {
  if (closed_) return;
  auto self = shared_from_this();
  transport_->Read(asio::buffer(in_), [this, self](const error_code& ec, size_t n) {
    if (closed_) return;
    if (ec) return Close();
    const ssize_t rv = nghttp2_session_mem_recv(session_, in_.data(), n);
    if (rv < 0) return Close();
    Read();
    FlushAll();
  });
}

bool ClientConn::Flush() {
  if (writing_ || closed_ || session_ == nullptr) return false;
  if (DrainSession(session_, &out_) < 0) {
    Close();
    return false;
  }
  if (out_.empty()) {
    MaybeClose();
    return false;
  }
  writing_ = true;
  auto self = shared_from_this();
  transport_->Write(asio::buffer(out_), [this, self](const error_code& ec, size_t) {
    writing_ = false;
    out_.clear();
    if (closed_) return;
    if (ec) return Close();
    FlushAll();
  });
  return true;
}

void ClientConn::FlushAll() {
  if (closed_) return WriteLog();
  for (bool progress = true; progress && !closed_;) {
    progress = Flush();
    for (size_t i = 0; i < all_backends_.size(); ++i) {
      // Flush can drop a drained connection from the list (through Close): hold it meanwhile.
      auto b = all_backends_[i];
      progress = b->Flush() || progress;
    }
    all_backends_.erase(std::remove_if(all_backends_.begin(), all_backends_.end(),
                                       [](const auto& b) { return b->closed(); }),
                        all_backends_.end());
  }
  WriteLog();
}

void ClientConn::MaybeClose() {
  if (session_ != nullptr && !nghttp2_session_want_read(session_) &&
      !nghttp2_session_want_write(session_)) {
    Close();
  }
}

void ClientConn::GoAway() {
  if (closed_ || session_ == nullptr) return;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  FlushAll();
}

void ClientConn::Close() {
  if (closed_) return;
  closed_ = true;
  for (auto& [id, call] : calls_) {
    if (call->admitted && !call->recorded) {
      call->code = grpc::StatusCode::CANCELLED;
      call->message = "the client's connection closed";
      Record(call.get());
    }
  }
  calls_.clear();
  for (auto& b : all_backends_) b->Close();
  all_backends_.clear();
  backends_.clear();
  transport_->Close();
  WriteLog();
  relay_.Unregister(this);
}

int ClientConn::OnBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<ClientConn*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto call = std::make_unique<Call>(frame->hd.stream_id);
  nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call.get());
  self->calls_[frame->hd.stream_id] = std::move(call);
  return 0;
}

int ClientConn::OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                         void* user) {
  auto* self = static_cast<ClientConn*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  Call* call = self->Find(frame->hd.stream_id);
  if (call == nullptr) return 0;
  call->header_bytes += namelen + valuelen + 32;
  if (call->header_bytes > size_t(kMaxMetadataBytes)) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
  }
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":method") {
    call->method_verb = std::move(v);
  } else if (n == ":scheme") {
    call->scheme = std::move(v);
  } else if (n == ":path") {
    call->path = std::move(v);
  } else if (n == ":authority") {
    call->authority = std::move(v);
  } else if (!n.empty() && n[0] != ':') {
    call->headers.push_back({std::string(n), std::move(v)});
  }
  return 0;
}

int ClientConn::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<ClientConn*>(user);
  Call* call = self->Find(frame->hd.stream_id);
  if (call == nullptr) return 0;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    self->StartCall(call);  // answered or forwarded; the call stays until its stream closes
  }
  if (end_stream && (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA)) {
    self->ClientEnded(call);
  }
  return 0;
}

int ClientConn::OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                            const uint8_t* data, size_t len, void* user) {
  auto* self = static_cast<ClientConn*>(user);
  Call* call = self->Find(stream_id);
  if (call == nullptr) {
    nghttp2_session_consume_connection(session, len);
    return 0;
  }
  self->RequestData(call, data, len);
  return 0;
}

int ClientConn::OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t, void* user) {
  auto* self = static_cast<ClientConn*>(user);
  auto it = self->calls_.find(stream_id);
  if (it == self->calls_.end()) return 0;
  Call* call = it->second.get();
  if (call->admitted && !call->recorded) {
    // The client reset the stream (cancelled, or its deadline passed) before the end.
    call->code = grpc::StatusCode::CANCELLED;
    call->message = "cancelled by the client";
    if (call->backend_conn) self->AttemptEnded(call, grpc::StatusCode::CANCELLED);
    self->Record(call);
  }
  self->CancelBackendStream(call);
  if (const size_t n = call->to_backend.size(); n > 0) {
    nghttp2_session_consume_connection(self->session_, n);
  }
  self->calls_.erase(it);
  return 0;
}

int ClientConn::OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0 ||
      (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)) {
    return 0;
  }
  Call* call = static_cast<ClientConn*>(user)->Find(frame->hd.stream_id);
  if (call == nullptr || call->client_ended) return 0;
  // The response is complete while the client still sends: the rest of its request is of no use.
  static_cast<ClientConn*>(user)->DropRequestBytes(call);
  if (call->response_submitted) {
    // After trailers the client may stop at once (RFC 9113 §8.1), as gRPC servers tell it. Not
    // after a trailers-only response: gRPC's client (1.51) then reports the reset, not the
    // status it carried; it stops sending by itself, the call being over.
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

void ClientConn::DropRequestBytes(Call* call) {
  call->discard_request = true;
  call->resend.Clear();  // consumed when it first came
  if (const size_t n = call->to_backend.size(); n > 0) {
    if (nghttp2_session_find_stream(session_, call->id) != nullptr) {
      nghttp2_session_consume(session_, call->id, n);
    } else {
      nghttp2_session_consume_connection(session_, n);
    }
    call->to_backend.Clear();
  }
}

void ClientConn::CancelBackendStream(Call* call) {
  if (!call->backend_conn) return;
  auto& b = *call->backend_conn;
  if (!call->to_client.empty()) {
    // Received from the backend and never to be passed on: its credit goes back to that
    // connection.
    nghttp2_session_consume_connection(b.session(), call->to_client.size());
    call->to_client.Clear();
  }
  if (call->backend_stream > 0) {
    nghttp2_session_set_stream_user_data(b.session(), call->backend_stream, nullptr);
    if (b.usable()) {
      nghttp2_submit_rst_stream(b.session(), NGHTTP2_FLAG_NONE, call->backend_stream,
                                NGHTTP2_CANCEL);
    }
  }
  b.calls().erase(call);
  call->backend_conn.reset();
  call->backend_stream = 0;
}

void ClientConn::StartCall(Call* call) {
  const std::string* id = FindHeader(call->headers, "x-request-id");
  call->request_id = RequestIdFromHeader(id == nullptr ? std::string_view() : *id);
  const std::string* content_type = FindHeader(call->headers, "content-type");
  std::string service, method;
  const bool grpc_call = call->method_verb == "POST" && content_type != nullptr &&
                         content_type->rfind("application/grpc", 0) == 0;
  if (!grpc_call || !SplitMethodPath(call->path, &service, &method) ||
      !relay_.checks.router.Knows(service)) {
    // The gateway's own health, merged reflection, an unknown service, not gRPC at all: the
    // terminating proxy behind the relay answers exactly as it always did.
    call->to_fallback = true;
    call->deadline = std::chrono::steady_clock::time_point::max();
    return SendToBackend(call, nullptr, relay_.options.fallback_address);
  }
  CallHeaders headers;
  headers.path = call->path;
  if (const std::string* auth = FindHeader(call->headers, "authorization")) {
    headers.authorization = *auth;
  }
  headers.has_idempotency_key = FindHeader(call->headers, "idempotency-key") != nullptr ||
                                FindHeader(call->headers, "x-idempotency-key") != nullptr;
  headers.peer_address = PeerAddress(PeerOf(*call));
  call->admission = AdmitCall(relay_.checks, headers);
  call->admitted = true;
  std::chrono::nanoseconds timeout = relay_.options.default_deadline;
  if (const std::string* t = FindHeader(call->headers, "grpc-timeout")) {
    if (auto parsed = ParseGrpcTimeout(*t)) timeout = *parsed;
  }
  call->deadline = call->start + timeout;
  if (!call->admission.refusal.ok()) {
    const auto& s = call->admission.refusal;
    return Answer(call, s.error_code(), s.error_message(), s.error_details(),
                  call->admission.trailers);
  }
  SendToBackend(call, call->admission.backend, call->admission.backend->address());
}

std::shared_ptr<BackendConn> ClientConn::BackendFor(const std::string& address) {
  auto it = backends_.find(address);
  if (it != backends_.end() && it->second->usable()) return it->second;
  auto conn = std::make_shared<BackendConn>(this, ioc_, address);
  backends_[address] = conn;
  all_backends_.push_back(conn);
  conn->Connect();
  return conn;
}

void ClientConn::SendToBackend(Call* call, Backend* backend, const std::string& address) {
  auto conn = BackendFor(address);
  // The headers as nghttp2 takes them, pointing into the call's own strings (nothing copied:
  // nghttp2_submit_request encodes them before returning).
  std::vector<nghttp2_nv> nv;
  nv.reserve(call->headers.size() + 8);
  const auto add = [&nv](std::string_view name, std::string_view value) {
    nv.push_back(NameValue(name, value));
  };
  add(":method", "POST");
  add(":scheme", "http");
  add(":path", call->path);
  add(":authority", call->to_fallback ? call->authority : address);
  bool has_timeout = false;
  for (const auto& header : call->headers) {
    if (IsRelayOwnHeader(header.name)) continue;
    has_timeout = has_timeout || header.name == "grpc-timeout";
    add(header.name, header.value);
  }
  const std::string peer = call->to_fallback ? PeerOf(*call) : std::string();
  std::string timeout;
  if (call->to_fallback) {
    add(kRelayPeerHeader, peer);
    if (const std::string* id = FindHeader(call->headers, "x-request-id")) add("x-request-id", *id);
  } else {
    add("x-request-id", call->request_id);
    if (!has_timeout) {
      timeout = GrpcTimeoutHeader(std::chrono::duration_cast<std::chrono::milliseconds>(
          call->deadline - std::chrono::steady_clock::now()));
      add("grpc-timeout", timeout);
    }
  }
  // The call's request bytes, taken by ReadRequest as the backend's flow control allows.
  nghttp2_data_provider request;
  request.source.ptr = this;
  request.read_callback = [](nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                             size_t length, uint32_t* flags, nghttp2_data_source* source,
                             void*) -> ssize_t {
    auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(session, stream_id));
    if (call == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return static_cast<ClientConn*>(source->ptr)->ReadRequest(call, buf, length, flags);
  };
  const int32_t stream =
      nghttp2_submit_request(conn->session(), nullptr, nv.data(), nv.size(), &request, call);
  ++call->attempts;
  call->backend = backend;
  call->backend_address = address;
  call->attempt_start = std::chrono::steady_clock::now();
  call->response_headers.clear();
  call->trailers.clear();
  if (stream < 0) {
    return BackendFailed(call, "cannot open a stream to the backend", true);
  }
  call->backend_conn = conn;
  call->backend_stream = stream;
  conn->calls().insert(call);
  if (!call->to_fallback) {
    call->backend_metrics =
        &relay_.checks.metrics.ForBackend(call->admission.service, call->admission.method, address);
    relay_.checks.metrics.ClientStarted(*call->backend_metrics);
  }
}

ssize_t ClientConn::ReadRequest(Call* call, uint8_t* buf, size_t length, uint32_t* flags) {
  size_t n = call->resend.Take(buf, length);
  if (n < length) {
    const size_t fresh = call->to_backend.Take(buf + n, length - n);
    if (fresh > 0 && !closed_) {
      // Taken by the backend's flow control: the client may send that much more.
      nghttp2_session_consume(session_, call->id, fresh);
    }
    n += fresh;
  }
  if (n > 0 && call->replay_complete) {
    if (call->replay.size() + n > relay_.options.max_replay_bytes) {
      call->replay_complete = false;
      call->replay.clear();
      call->replay.shrink_to_fit();
    } else {
      call->replay.append(reinterpret_cast<const char*>(buf), n);
    }
  }
  if (call->resend.empty() && call->to_backend.empty()) {
    if (call->client_ended) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return ssize_t(n);
}

void ClientConn::RequestData(Call* call, const uint8_t* data, size_t len) {
  if (call->discard_request) {
    nghttp2_session_consume(session_, call->id, len);
    return;
  }
  call->bytes_in += len;
  if (!call->to_fallback &&
      !call->request_messages.Feed(data, len, relay_.options.max_message_bytes)) {
    nghttp2_session_consume(session_, call->id, len);
    CancelBackendStream(call);
    return Answer(call, grpc::StatusCode::RESOURCE_EXHAUSTED,
                  "request message larger than the gateway's limit of " +
                      std::to_string(relay_.options.max_message_bytes) + " bytes",
                  "", {});
  }
  call->to_backend.Append(data, len);
  if (call->backend_conn && call->backend_stream > 0) {
    nghttp2_session_resume_data(call->backend_conn->session(), call->backend_stream);
  }
}

void ClientConn::ClientEnded(Call* call) {
  call->client_ended = true;
  if (call->backend_conn && call->backend_stream > 0) {
    nghttp2_session_resume_data(call->backend_conn->session(), call->backend_stream);
  }
}

void ClientConn::Answer(Call* call, int code, const std::string& message,
                        const std::string& details,
                        const std::vector<std::pair<std::string, std::string>>& extra) {
  if (call->ended) return;
  DropRequestBytes(call);
  call->code = code;
  call->message = message;
  if (call->response_submitted) {
    // Headers went out already: the end comes as trailers after the data received so far.
    call->trailers = {{"grpc-status", std::to_string(code)},
                      {"grpc-message", PercentEncodeGrpcMessage(message)}};
    call->trailers_ready = true;
    nghttp2_session_resume_data(session_, call->id);
    return;
  }
  Headers h = {{":status", "200"},
               {"content-type", "application/grpc"},
               {"x-request-id", call->request_id},
               {"grpc-status", std::to_string(code)},
               {"grpc-message", PercentEncodeGrpcMessage(message)}};
  if (!details.empty()) h.push_back({"grpc-status-details-bin", Base64Encode(details)});
  for (const auto& [k, v] : extra) h.push_back({k, v});
  const auto nv = NameValues(h);
  call->ended = true;
  Record(call);
  nghttp2_submit_response(session_, call->id, nv.data(), nv.size(), nullptr);
}

void ClientConn::AttemptEnded(Call* call, int code) {
  if (call->backend_metrics == nullptr) return;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - call->attempt_start).count();
  relay_.checks.metrics.ClientHandled(*call->backend_metrics, code, seconds);
  call->backend_metrics = nullptr;
}

void ClientConn::BackendHeaders(Call* call, bool end_stream) {
  if (call->ended) return;
  if (end_stream) {
    // Trailers-only: the call's end, with no message.
    std::string message;
    const int code = StatusCodeOf(call->response_headers, &message);
    AttemptEnded(call, code);
    if (code == grpc::StatusCode::UNAVAILABLE && call->backend != nullptr) {
      relay_.checks.router.ReportUnavailable(call->backend);
      if (call->admission.safe_to_retry && TryRetry(call)) return;
    }
    if (!FindHeader(call->response_headers, "x-request-id") && !call->to_fallback) {
      call->response_headers.push_back({"x-request-id", call->request_id});
    }
    call->code = code;
    call->message = message;
    call->ended = true;
    Record(call);
    const auto nv = NameValues(call->response_headers);
    nghttp2_submit_response(session_, call->id, nv.data(), nv.size(), nullptr);
    return;
  }
  if (!FindHeader(call->response_headers, "x-request-id") && !call->to_fallback) {
    call->response_headers.push_back({"x-request-id", call->request_id});
  }
  call->response_submitted = true;
  const auto nv = NameValues(call->response_headers);
  nghttp2_data_provider response;
  response.source.ptr = this;
  response.read_callback = ReadResponse;
  nghttp2_submit_response(session_, call->id, nv.data(), nv.size(), &response);
}

void ClientConn::BackendTrailers(Call* call) {
  if (call->ended || call->trailers_ready) return;
  call->code = StatusCodeOf(call->trailers, &call->message);
  AttemptEnded(call, call->code);
  call->trailers_ready = true;
  nghttp2_session_resume_data(session_, call->id);
}

void ClientConn::BackendData(Call* call, const uint8_t* data, size_t len) {
  call->to_client.Append(data, len);
  call->bytes_out += len;
  if (!call->to_fallback) call->response_messages.Feed(data, len, SIZE_MAX);
  nghttp2_session_resume_data(session_, call->id);
}

void ClientConn::ConsumeBackend(Call* call, size_t n) {
  if (!call->backend_conn) return;
  auto* session = call->backend_conn->session();
  if (call->backend_stream > 0) {
    nghttp2_session_consume(session, call->backend_stream, n);
  } else {
    nghttp2_session_consume_connection(session, n);
  }
}

ssize_t ClientConn::ReadResponse(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                 size_t length, uint32_t* flags, nghttp2_data_source*, void* user) {
  auto* self = static_cast<ClientConn*>(user);
  Call* call = self->Find(stream_id);
  if (call == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  const size_t n = call->to_client.Take(buf, length);
  if (n > 0) self->ConsumeBackend(call, n);
  if (call->to_client.empty()) {
    if (call->trailers_ready) {
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      call->ended = true;
      self->Record(call);
      const auto nv = NameValues(call->trailers);
      nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size());
    } else if (n == 0) {
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return ssize_t(n);
}

void ClientConn::BackendStreamClosed(Call* call, uint32_t error_code) {
  // What the backend sent and the client did not take yet is now counted against the backend
  // connection only (ConsumeBackend, as it goes out).
  call->backend_stream = 0;
  if (call->ended || call->trailers_ready) return;
  if (call->backend_conn && !call->to_client.empty()) {
    nghttp2_session_consume_connection(call->backend_conn->session(), call->to_client.size());
    call->to_client.Clear();
  }
  BackendFailed(
      call,
      error_code == NGHTTP2_REFUSED_STREAM
          ? "the backend refused the stream"
          : "the backend reset the stream (HTTP/2 error " + std::to_string(error_code) + ")",
      error_code == NGHTTP2_REFUSED_STREAM);
}

void ClientConn::BackendFailed(Call* call, const std::string& why, bool never_processed) {
  call->backend_conn.reset();
  call->backend_stream = 0;
  if (call->ended || call->trailers_ready) return;
  AttemptEnded(call, grpc::StatusCode::UNAVAILABLE);
  if (call->backend != nullptr && !call->response_submitted) {
    relay_.checks.router.ReportUnavailable(call->backend);
  }
  if ((never_processed || call->admission.safe_to_retry) && TryRetry(call)) {
    return;
  }
  Answer(call, grpc::StatusCode::UNAVAILABLE, why, "", {});
}

bool ClientConn::TryRetry(Call* call) {
  if (call->to_fallback || call->response_submitted || !call->replay_complete ||
      call->attempts >= relay_.options.max_attempts ||
      std::chrono::steady_clock::now() >= call->deadline) {
    return false;
  }
  Backend* next = relay_.checks.router.Pick(call->admission.service, call->backend);
  if (next == nullptr || next == call->backend || !relay_.checks.retry_budget.Withdraw()) {
    return false;
  }
  relay_.checks.metrics.Retried(call->admission.service, call->admission.method);
  CancelBackendStream(call);
  // What the first attempt sent goes again first, then what it had not sent yet.
  call->resend.Clear();
  call->resend.Append(call->replay);
  call->replay.clear();
  call->to_client.Clear();
  SendToBackend(call, next, next->address());
  return true;
}

void ClientConn::Record(Call* call) {
  if (!call->admitted || call->recorded) return;
  call->recorded = true;
  Ended& e = ended_.emplace_back();
  e.path = call->path;
  CallOutcome& outcome = e.outcome;
  outcome.request_id = call->request_id;
  outcome.backend = call->backend_address;
  outcome.code = call->code < 0 ? grpc::StatusCode::UNKNOWN : call->code;
  outcome.message = call->message;
  outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - call->start).count();
  outcome.messages_in = call->request_messages.messages();
  outcome.messages_out = call->response_messages.messages();
  outcome.bytes_in = call->bytes_in;
  outcome.bytes_out = call->bytes_out;
  outcome.attempts = call->attempts;
  outcome.peer = PeerOf(*call);
  e.admission = std::move(call->admission);
  call->admission.counted_in_flight = false;
}

void ClientConn::RecordEnded() {
  for (Ended& e : ended_) {
    e.outcome.path = e.path;
    RecordCall(relay_.checks, e.admission, e.outcome, relay_.options.access_log, &loop_.access_log);
    ReleaseAdmission(relay_.checks, e.admission);
  }
  ended_.clear();
}

}  // namespace

// ---- H2Relay
// -------------------------------------------------------------------------------------

void H2Relay::Impl::Register(const std::shared_ptr<ClientConn>& conn) {
  std::lock_guard lock(mu);
  conns[conn.get()] = conn;
}

void H2Relay::Impl::Unregister(ClientConn* conn) {
  std::lock_guard lock(mu);
  conns.erase(conn);
  if (conns.empty()) idle.notify_all();
}

void H2Relay::Impl::WriteAccessLog(Loop& loop) {
  if (loop.access_log.empty()) return;
  if (loop.access_log.size() >= kAccessLogBatchBytes || options.access_log_flush.count() <= 0) {
    loop.FlushAccessLog();
    return;
  }
  if (loop.access_log_timer_armed) return;
  loop.access_log_timer_armed = true;
  loop.access_log_timer.expires_after(options.access_log_flush);
  loop.access_log_timer.async_wait([&loop](const error_code&) {
    loop.access_log_timer_armed = false;
    loop.FlushAccessLog();
  });
}

void H2Relay::Impl::Serve(std::unique_ptr<Transport> transport, Loop& loop) {
  auto conn = std::make_shared<ClientConn>(*this, std::move(transport), loop);
  Register(conn);
  asio::post(loop.ioc, [conn] { conn->Start(); });
}

void H2Relay::Impl::Accept() {
  Loop& loop = *loops[next_loop++ % loops.size()];
  acceptor->async_accept(loop.ioc, [this, &loop](const error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping) return;
    if (!ec && tls) {
      Serve(std::make_unique<TlsTransport>(std::move(socket), *tls), loop);
    } else if (!ec) {
      Serve(std::make_unique<TcpTransport>(std::move(socket)), loop);
    }
    Accept();
  });
}

void H2Relay::Impl::AcceptPrivate() {
  Loop& loop = *loops[next_loop++ % loops.size()];
  private_acceptor->async_accept(
      loop.ioc, [this, &loop](const error_code& ec, asio::local::stream_protocol::socket socket) {
        if (ec == asio::error::operation_aborted || stopping) return;
        if (!ec) Serve(std::make_unique<UnixTransport>(std::move(socket)), loop);
        AcceptPrivate();
      });
}

H2Relay::H2Relay(RelayOptions options, GatewayChecks checks)
    : impl_(std::make_unique<Impl>(std::move(options), checks)) {}

H2Relay::~H2Relay() { Stop(std::chrono::milliseconds(0)); }

void H2Relay::Start() {
  const auto& o = impl_->options;
  if (!o.tls_cert.empty()) {
    impl_->tls.emplace(asio::ssl::context::tls_server);
    ConfigureServerTls(*impl_->tls, o.tls_cert, o.tls_key, o.tls_client_ca, /*alpn_h2=*/true);
  }
  for (int i = 0; i < std::max(1, o.threads); ++i) {
    auto loop = std::make_unique<Impl::Loop>();
    loop->work.emplace(loop->ioc.get_executor());
    impl_->loops.push_back(std::move(loop));
  }
  const tcp::endpoint endpoint = ListenEndpoint(o.listen_address);
  impl_->acceptor.emplace(impl_->loops[0]->ioc);
  impl_->acceptor->open(endpoint.protocol());
  impl_->acceptor->set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor->bind(endpoint);
  impl_->acceptor->listen(asio::socket_base::max_listen_connections);
  impl_->port = impl_->acceptor->local_endpoint().port();
  impl_->Accept();
  if (!o.private_socket_path.empty()) {
    impl_->private_acceptor.emplace(impl_->loops[0]->ioc,
                                    asio::local::stream_protocol::endpoint(o.private_socket_path));
    impl_->AcceptPrivate();
  }
  for (auto& loop : impl_->loops) {
    loop->thread = std::thread([l = loop.get()] { l->ioc.run(); });
  }
}

void H2Relay::Stop(std::chrono::milliseconds grace) {
  if (!impl_ || impl_->loops.empty() || impl_->stopping.exchange(true)) return;
  asio::post(impl_->loops[0]->ioc, [this] {
    error_code ec;
    impl_->acceptor->close(ec);
    if (impl_->private_acceptor) impl_->private_acceptor->close(ec);
  });
  // Each connection is told to go away on its own thread, then closed there, once its calls are
  // done or the grace is over.
  const auto on_each_connection = [this](void (ClientConn::*action)()) {
    std::lock_guard lock(impl_->mu);
    for (auto& [p, weak] : impl_->conns) {
      if (auto c = weak.lock()) asio::post(c->ioc(), [c, action] { (c.get()->*action)(); });
    }
  };
  on_each_connection(&ClientConn::GoAway);
  {
    std::unique_lock lock(impl_->mu);
    impl_->idle.wait_for(lock, grace, [this] { return impl_->conns.empty(); });
  }
  on_each_connection(&ClientConn::Close);
  // The access-log lines of the last calls are written now, not at the end of their interval
  // (posted after the closes: a cancelled wait still runs its handler, which writes them).
  for (auto& loop : impl_->loops) {
    asio::post(loop->ioc, [l = loop.get()] { l->access_log_timer.cancel(); });
  }
  // With every socket closed, each loop runs out of work and returns.
  for (auto& loop : impl_->loops) loop->work.reset();
  for (auto& loop : impl_->loops) {
    if (loop->thread.joinable()) loop->thread.join();
    loop->FlushAccessLog();  // lines of a timer cancelled but never run
  }
  impl_->acceptor.reset();
  impl_->private_acceptor.reset();
  impl_->loops.clear();
}

int H2Relay::port() const { return impl_->port; }

}  // namespace ctg::gateway
