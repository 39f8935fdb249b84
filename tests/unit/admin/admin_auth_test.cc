#include "gateway/admin/admin_auth.h"

#include <catch2/catch.hpp>

namespace mla::admin {
namespace {

TEST_CASE("only the exact bearer token matches", "[admin]") {
  CHECK(bearer_token_matches("Bearer s3cret", "s3cret"));
  CHECK(bearer_token_matches("bearer s3cret", "s3cret"));  // the scheme is case-insensitive
  CHECK_FALSE(bearer_token_matches("", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer ", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer s3cre", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer s3cretX", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Basic s3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("s3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer S3CRET", "s3cret"));
}

TEST_CASE("an empty expected token never matches", "[admin]") {
  CHECK_FALSE(bearer_token_matches("Bearer ", ""));
  CHECK_FALSE(bearer_token_matches("", ""));
}

}  // namespace
}  // namespace mla::admin
