#include "gateway/listen.h"

#include <openssl/ssl.h>

#include <boost/asio/ip/address.hpp>
#include <stdexcept>

namespace ctg::gateway {

boost::asio::ip::tcp::endpoint ListenEndpoint(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("no port in " + address);
  std::string host = address.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("not an IP address: " + host);
  size_t used = 0;
  int port = -1;
  try {
    port = std::stoi(address.substr(colon + 1), &used);
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535 || used != address.size() - colon - 1) {
    throw std::runtime_error("bad port in " + address);
  }
  return {ip, static_cast<unsigned short>(port)};
}

std::string GrpcPeerName(const boost::asio::ip::tcp::endpoint& e) {
  const auto a = e.address();
  return a.is_v4() ? "ipv4:" + a.to_string() + ":" + std::to_string(e.port())
                   : "ipv6:[" + a.to_string() + "]:" + std::to_string(e.port());
}

namespace {

// ALPN: the server picks "h2" among the client's protocols, or refuses the handshake.
int SelectH2(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
             unsigned int inlen, void*) {
  static const unsigned char kH2[] = {2, 'h', '2'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kH2, sizeof kH2, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

void ConfigureServerTls(boost::asio::ssl::context& tls, const std::string& cert,
                        const std::string& key, const std::string& client_ca, bool alpn_h2) {
  namespace ssl = boost::asio::ssl;
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  tls.use_certificate_chain(boost::asio::buffer(cert));
  tls.use_private_key(boost::asio::buffer(key), ssl::context::pem);
  if (!client_ca.empty()) {
    tls.add_certificate_authority(boost::asio::buffer(client_ca));
    tls.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  if (alpn_h2) SSL_CTX_set_alpn_select_cb(tls.native_handle(), SelectH2, nullptr);
}

}  // namespace ctg::gateway
