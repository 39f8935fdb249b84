// Bearer-token check for mutating admin calls (admin.token_file). Constant time: both tokens are
// hashed (SHA-256) and the digests compared with CRYPTO_memcmp, so neither the content nor the
// length of the expected token leaks through timing.
#pragma once

#include <string_view>

namespace mla::admin {

// `authorization` is the request's Authorization header value ("" when absent).
bool bearer_token_matches(std::string_view authorization, std::string_view expected_token);

}  // namespace mla::admin
