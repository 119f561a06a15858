// ctg-bare-byte-relay: the floor under the gateway's HTTP/2 relay, for gateway_bench. A process
// that copies bytes between each accepted connection and one it opens to the target, on one
// Boost.Asio event loop, the way the relay does its I/O (TCP_NODELAY, 16 KiB reads, one write in
// flight per direction) with nothing else: no HTTP/2, no token, no rule, no log, no metrics.
// What it adds to a call is what an out-of-process hop costs on this machine.
//   ctg-bare-byte-relay --target-port=PORT --port-file=FILE
// Listens on a free loopback port, written to FILE as "<port> 0\n" (see WritePortFile).
#include <array>
#include <boost/asio.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "common/process.h"
#include "floor_flags.h"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One direction of one connection: reads from `from`, writes what it read to `to`, again.
class Pipe : public std::enable_shared_from_this<Pipe> {
 public:
  Pipe(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to)
      : from_(std::move(from)), to_(std::move(to)) {}
  void Run() {
    from_->async_read_some(asio::buffer(buffer_),
                           [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                             if (ec) return self->Close();
                             asio::async_write(*self->to_, asio::buffer(self->buffer_, n),
                                               [self](boost::system::error_code e, size_t) {
                                                 if (e) return self->Close();
                                                 self->Run();
                                               });
                           });
  }

 private:
  void Close() {
    boost::system::error_code ignored;
    from_->close(ignored);
    to_->close(ignored);
  }
  std::shared_ptr<tcp::socket> from_, to_;
  std::array<char, 16384> buffer_{};
};

void Accept(tcp::acceptor& acceptor, asio::io_context& ioc, const tcp::endpoint& target) {
  acceptor.async_accept([&acceptor, &ioc, target](boost::system::error_code ec, tcp::socket s) {
    if (!ec) {
      auto client = std::make_shared<tcp::socket>(std::move(s));
      auto server = std::make_shared<tcp::socket>(ioc);
      boost::system::error_code e;
      server->connect(target, e);
      if (!e) {
        client->set_option(tcp::no_delay(true), e);
        server->set_option(tcp::no_delay(true), e);
        std::make_shared<Pipe>(client, server)->Run();
        std::make_shared<Pipe>(server, client)->Run();
      }
    }
    Accept(acceptor, ioc, target);
  });
}

}  // namespace

int main(int argc, char** argv) {
  const ctg::Setting kTargetPort{"target-port", "CTG_BARE_RELAY_TARGET_PORT"};
  const auto flags = ctg::bench::RequiredFlagsOrExit(
      argc, argv, {kTargetPort, {"port-file", "CTG_BARE_RELAY_PORT_FILE"}},
      "ctg-bare-byte-relay --target-port=PORT --port-file=FILE");
  int target_port = 0;
  try {
    target_port = ctg::SettingsReader::ParseInt(flags[0], kTargetPort, 1, 65535);
  } catch (const ctg::ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  const std::string& port_file = flags[1];
  asio::io_context ioc(1);
  const auto loopback = asio::ip::make_address("127.0.0.1");
  tcp::acceptor acceptor(ioc, tcp::endpoint(loopback, 0));
  Accept(acceptor, ioc, tcp::endpoint(loopback, static_cast<unsigned short>(target_port)));
  ctg::WritePortFile(port_file, acceptor.local_endpoint().port(), 0);
  ioc.run();
  return 0;
}
