#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <string>

namespace ctg::gateway {

// The endpoint of a listen address "host:port" (an IPv4 or IPv6 literal, IPv6 in brackets;
// "localhost" is 127.0.0.1); throws std::runtime_error for anything else.
boost::asio::ip::tcp::endpoint ListenEndpoint(const std::string& address);

// A peer's endpoint named the way gRPC names peers: "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000".
std::string GrpcPeerName(const boost::asio::ip::tcp::endpoint& endpoint);

// Sets up a server TLS context the way both gateway listeners serve TLS: TLS 1.2 or later, the PEM
// certificate chain and key; with `client_ca` (PEM), a client certificate signed by it is
// required (mTLS); with `alpn_h2`, ALPN must select "h2" (gRPC's HTTP/2), and a client that offers
// only other protocols is refused. Throws what Asio throws for a certificate that does not load.
void ConfigureServerTls(boost::asio::ssl::context& tls, const std::string& cert,
                        const std::string& key, const std::string& client_ca, bool alpn_h2);

}  // namespace ctg::gateway
