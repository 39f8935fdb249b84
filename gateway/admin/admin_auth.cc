#include "gateway/admin/admin_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>

namespace mla::admin {
namespace {

std::array<unsigned char, SHA256_DIGEST_LENGTH> digest(std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
  return out;
}

}  // namespace

bool bearer_token_matches(std::string_view authorization, std::string_view expected_token) {
  constexpr std::string_view kScheme = "Bearer ";
  std::string_view presented;
  if (authorization.size() > kScheme.size()) {
    // The scheme is case-insensitive (RFC 7235); the token is not.
    bool scheme_ok = true;
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
      char c = authorization[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      char want = kScheme[i];
      if (want >= 'A' && want <= 'Z') want = static_cast<char>(want - 'A' + 'a');
      if (c != want) scheme_ok = false;
    }
    if (scheme_ok) presented = authorization.substr(kScheme.size());
  }
  const auto a = digest(presented);
  const auto b = digest(expected_token);
  const bool same = CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
  return same && !presented.empty();
}

}  // namespace mla::admin
