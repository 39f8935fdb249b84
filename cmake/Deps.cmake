# Libraries of the payload scanner (gateway/ingest/), linked into mla_core through
# MLA_EXTRA_LIBS: snappy (remote-write and Loki block compression), zlib (Content-Encoding
# gzip/deflate) and nlohmann-json (Loki JSON push, header-only). Debian 12 packages:
# libsnappy-dev (ships SnappyConfig.cmake), zlib1g-dev, nlohmann-json3-dev.
find_package(Snappy REQUIRED)
find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
list(APPEND MLA_EXTRA_LIBS Snappy::snappy ZLIB::ZLIB nlohmann_json::nlohmann_json)
