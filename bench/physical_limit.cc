// mla-physical-limit: what a gateway cannot avoid per request on one core, on the bodies the load
// generator sends (bench/payloads), one thread: decrypting the TLS records that carry the body,
// snappy-decompressing it (remote-write and Loki protobuf bodies are snappy block format) and
// copying it once (the copy a proxy makes to forward it). The result is a ceiling, not a forecast:
// it leaves out syscalls, HTTP parsing, the upstream write and, if the upstream is TLS, its
// encryption. Results and their meaning: bench/PHYSICAL_LIMIT.md.
//
//   mla-physical-limit [--seconds S] [--repeat N] [--body NAME]... [--json]
//   mla-physical-limit --write-body FILE [--body NAME]    # the body's bytes, for ab/callgrind
//
// TLS records are decrypted as TLS 1.3 does it (RFC 8446 §5.2): records of 16 KiB plaintext plus
// the 1-byte inner content type, a 16-byte tag, the 5-byte record header as associated data and a
// fresh nonce per record (the IV XOR the record sequence number). Rates are per second of this
// thread's CPU time, the fastest of --repeat runs; "MB/s" is 10^6 bytes of the request body as
// sent (compressed) per second.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <snappy.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench/payloads.h"

namespace mla::bench {
namespace {

using Json = nlohmann::ordered_json;  // keys in the order written, as the JSON is read by people

constexpr std::size_t kRecordPlaintext = 16384;  // TLS maximum plaintext per record (2^14 bytes)
constexpr std::size_t kHeaderBytes = 5;          // TLSCiphertext header, the AEAD's associated data
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kNonceBytes = 12;
constexpr unsigned char kApplicationData = 23;  // ContentType.application_data

// The suite our clients get by default: the gateway leaves OpenSSL's TLS 1.3 suites as they are
// (gateway/tls/tls_context.cc) and sets SSL_OP_CIPHER_SERVER_PREFERENCE, so OpenSSL's first
// suite wins whenever the client offers it; Go (Prometheus, Promtail) and OpenSSL clients do.
// bench/callgrind.sh checks it against a running gateway with `openssl s_client`.
constexpr const char* kNegotiatedSuite = "TLS_AES_256_GCM_SHA384";

// Stops the compiler from discarding work whose result is never read.
inline void keep(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

struct AeadSpec {
  const char* component;  // key in the JSON "components" object
  const char* suite;      // TLS 1.3 cipher suite that uses it
  const EVP_CIPHER* (*cipher)();
  int key_bytes;
};

constexpr std::array kAeads = {
    AeadSpec{"aes_256_gcm_decrypt", "TLS_AES_256_GCM_SHA384", &EVP_aes_256_gcm, 32},
    AeadSpec{"aes_128_gcm_decrypt", "TLS_AES_128_GCM_SHA256", &EVP_aes_128_gcm, 16},
    AeadSpec{"chacha20_poly1305_decrypt", "TLS_CHACHA20_POLY1305_SHA256", &EVP_chacha20_poly1305,
             32},
};

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "mla-physical-limit: %s\n", what.c_str());
  std::exit(1);
}

// One body as it arrives on a TLS 1.3 connection: its records, encrypted once with a random key
// and IV, laid out back to back as they come off the socket. decrypt() is the per-request work.
class RecordStream {
 public:
  RecordStream(const AeadSpec& spec, const std::string& body) : spec_(spec) {
    std::vector<unsigned char> key(static_cast<std::size_t>(spec.key_bytes));
    if (RAND_bytes(key.data(), spec.key_bytes) != 1 || RAND_bytes(iv_.data(), kNonceBytes) != 1) {
      die("RAND_bytes failed");
    }
    encrypt_ctx_.reset(EVP_CIPHER_CTX_new());
    decrypt_ctx_.reset(EVP_CIPHER_CTX_new());
    if (!encrypt_ctx_ || !decrypt_ctx_ ||
        EVP_EncryptInit_ex(encrypt_ctx_.get(), spec.cipher(), nullptr, key.data(), nullptr) != 1 ||
        EVP_DecryptInit_ex(decrypt_ctx_.get(), spec.cipher(), nullptr, key.data(), nullptr) != 1) {
      die(std::string(spec.suite) + ": cannot set up the cipher");
    }
    encrypt(body);
  }

  // Decrypts and authenticates every record into `out` (at least body size + 1 bytes); false if a
  // tag does not verify or a record's inner content type is not application data.
  bool decrypt(char* out) {
    const auto* in = reinterpret_cast<const unsigned char*>(wire_.data());
    auto* plain = reinterpret_cast<unsigned char*>(out);
    std::size_t offset = 0;
    for (std::uint64_t seq = 0; offset < wire_.size(); ++seq) {
      const unsigned char* header = in + offset;
      const std::size_t length = (std::size_t{header[3]} << 8) | header[4];  // ciphertext + tag
      const std::size_t inner = length - kTagBytes;  // plaintext + content type byte
      const auto nonce = record_nonce(seq);
      int produced = 0;
      int ignored = 0;
      // Each record writes its content type byte where the next record's plaintext starts; it
      // is checked before that record overwrites it.
      if (EVP_DecryptInit_ex(decrypt_ctx_.get(), nullptr, nullptr, nullptr, nonce.data()) != 1 ||
          EVP_DecryptUpdate(decrypt_ctx_.get(), nullptr, &ignored, header, kHeaderBytes) != 1 ||
          EVP_DecryptUpdate(decrypt_ctx_.get(), plain, &produced, header + kHeaderBytes,
                            static_cast<int>(inner)) != 1 ||
          EVP_CIPHER_CTX_ctrl(decrypt_ctx_.get(), EVP_CTRL_AEAD_SET_TAG, kTagBytes,
                              const_cast<unsigned char*>(header + kHeaderBytes + inner)) != 1 ||
          EVP_DecryptFinal_ex(decrypt_ctx_.get(), plain + produced, &ignored) != 1 ||
          plain[inner - 1] != kApplicationData) {
        return false;
      }
      plain += inner - 1;
      offset += kHeaderBytes + length;
    }
    return true;
  }

  std::size_t records() const { return records_; }

 private:
  std::array<unsigned char, kNonceBytes> record_nonce(std::uint64_t seq) const {
    std::array<unsigned char, kNonceBytes> nonce = iv_;
    for (int i = 0; i < 8; ++i) {
      nonce[kNonceBytes - 1 - i] ^= static_cast<unsigned char>(seq >> (8 * i));
    }
    return nonce;
  }

  void encrypt(const std::string& body) {
    std::vector<unsigned char> inner(kRecordPlaintext + 1);
    for (std::size_t start = 0; start < body.size(); start += kRecordPlaintext, ++records_) {
      const std::size_t chunk = std::min(kRecordPlaintext, body.size() - start);
      std::memcpy(inner.data(), body.data() + start, chunk);
      inner[chunk] = kApplicationData;
      const std::size_t length = chunk + 1 + kTagBytes;
      const unsigned char header[kHeaderBytes] = {kApplicationData, 3, 3,
                                                  static_cast<unsigned char>(length >> 8),
                                                  static_cast<unsigned char>(length & 0xff)};
      std::string record(kHeaderBytes + length, '\0');
      auto* out = reinterpret_cast<unsigned char*>(record.data());
      std::memcpy(out, header, kHeaderBytes);
      const auto nonce = record_nonce(records_);
      int produced = 0;
      int final_bytes = 0;
      int ignored = 0;
      if (EVP_EncryptInit_ex(encrypt_ctx_.get(), nullptr, nullptr, nullptr, nonce.data()) != 1 ||
          EVP_EncryptUpdate(encrypt_ctx_.get(), nullptr, &ignored, header, kHeaderBytes) != 1 ||
          EVP_EncryptUpdate(encrypt_ctx_.get(), out + kHeaderBytes, &produced, inner.data(),
                            static_cast<int>(chunk + 1)) != 1 ||
          EVP_EncryptFinal_ex(encrypt_ctx_.get(), out + kHeaderBytes + produced, &final_bytes) !=
              1 ||
          static_cast<std::size_t>(produced + final_bytes) != chunk + 1 ||
          EVP_CIPHER_CTX_ctrl(encrypt_ctx_.get(), EVP_CTRL_AEAD_GET_TAG, kTagBytes,
                              out + kHeaderBytes + chunk + 1) != 1) {
        die(std::string(spec_.suite) + ": encryption failed");
      }
      wire_ += record;
    }
  }

  const AeadSpec& spec_;
  std::array<unsigned char, kNonceBytes> iv_{};
  CipherCtx encrypt_ctx_;
  CipherCtx decrypt_ctx_;
  std::string wire_;  // the encrypted records, headers included
  std::size_t records_ = 0;
};

// The gateway's own snappy step (ingest::snappy_uncompress without the size bound): read the
// claimed length, then decompress into a buffer reused across requests.
bool snappy_decompress(const char* in, std::size_t size, std::string& out) {
  std::size_t length = 0;
  if (!snappy::GetUncompressedLength(in, size, &length)) return false;
  if (out.size() < length) out.resize(length);
  return snappy::RawUncompress(in, size, out.data());
}

struct Rate {
  std::uint64_t iterations = 0;
  double cpu_seconds = 0;  // of this thread
  double per_second() const { return cpu_seconds > 0 ? iterations / cpu_seconds : 0; }
};

// CPU time of the calling thread: time spent descheduled while other processes run on a shared
// machine is not counted, so a rate is per second of one core actually working.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// One timed run of `work`: for `seconds` of CPU time (at least once, at most `max_iterations`
// times). The clock (a system call) is read once per batch of ~1 ms, not per iteration, so it
// does not inflate the cost of short steps such as the memcpy.
Rate run_once(const std::function<void()>& work, double seconds, std::uint64_t max_iterations) {
  constexpr double kBatchSeconds = 1e-3;
  Rate rate;
  const double start = thread_cpu_seconds();
  work();
  rate.iterations = 1;
  double now = thread_cpu_seconds();
  const double first = std::max(now - start, 1e-9);
  const auto batch = static_cast<std::uint64_t>(std::clamp(kBatchSeconds / first, 1.0, 1e6));
  while (now - start < seconds && rate.iterations < max_iterations) {
    for (std::uint64_t i = 0; i < batch && rate.iterations < max_iterations; ++i) {
      work();
      ++rate.iterations;
    }
    now = thread_cpu_seconds();
  }
  rate.cpu_seconds = now - start;
  return rate;
}

// Runs every step `repeat` times, round-robin, so that a burst of load from other processes
// slows one run of each step rather than every run of one step; keeps each step's fastest run,
// since a ceiling is the run least disturbed.
std::vector<Rate> measure(const std::vector<std::function<void()>>& steps, double seconds,
                          int repeat, std::uint64_t max_iterations) {
  std::vector<Rate> best(steps.size());
  for (int r = 0; r < repeat; ++r) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const Rate rate = run_once(steps[i], seconds, max_iterations);
      if (rate.per_second() > best[i].per_second()) best[i] = rate;
    }
  }
  return best;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

std::vector<double> load_average() {
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) != 3) return {};
  return {load[0], load[1], load[2]};
}

struct Options {
  double seconds = 0.5;
  int repeat = 5;
  std::uint64_t max_iterations = 1000000000;
};

// Measures one body: each component alone, then the whole request (negotiated suite + snappy +
// memcpy) in one loop.
Json measure_body(const Body& body, const Options& opt) {
  const std::size_t size = body.bytes.size();
  std::string plain(size + 1, '\0');  // decrypted body (+ the last record's content type byte)
  std::string raw;                    // decompressed body, reused
  std::string forwarded(size, '\0');  // the proxy's copy of the body

  // A benchmark of the wrong work is worse than none: check every step's output first.
  std::vector<std::unique_ptr<RecordStream>> streams;
  RecordStream* negotiated = nullptr;
  for (const AeadSpec& spec : kAeads) {
    streams.push_back(std::make_unique<RecordStream>(spec, body.bytes));
    std::fill(plain.begin(), plain.end(), '\0');
    if (!streams.back()->decrypt(plain.data()) ||
        std::memcmp(plain.data(), body.bytes.data(), size) != 0) {
      die(body.name + ": " + spec.suite + " decryption does not give back the body");
    }
    if (std::strcmp(spec.suite, kNegotiatedSuite) == 0) negotiated = streams.back().get();
  }
  if (!snappy_decompress(body.bytes.data(), size, raw) || raw.size() != body.raw_bytes) {
    die(body.name + ": snappy gives " + std::to_string(raw.size()) + " bytes, want " +
        std::to_string(body.raw_bytes));
  }

  // The steps: each component alone, then the request (decrypt the records with the suite our
  // clients negotiate, decompress the plaintext, copy it for the upstream) as one step.
  std::vector<std::function<void()>> steps;
  std::vector<const char*> names;
  for (std::size_t i = 0; i < kAeads.size(); ++i) {
    RecordStream& stream = *streams[i];
    names.push_back(kAeads[i].component);
    steps.emplace_back([&stream, &plain] {
      if (!stream.decrypt(plain.data())) die("decryption failed");
      keep(plain.data());
    });
  }
  names.push_back("snappy");
  steps.emplace_back([&] {
    if (!snappy_decompress(body.bytes.data(), size, raw)) die("snappy failed");
    keep(raw.data());
  });
  names.push_back("memcpy");
  steps.emplace_back([&] {
    std::memcpy(forwarded.data(), body.bytes.data(), size);
    keep(forwarded.data());
  });
  steps.emplace_back([&] {
    if (!negotiated->decrypt(plain.data()) || !snappy_decompress(plain.data(), size, raw)) {
      die("request failed");
    }
    std::memcpy(forwarded.data(), plain.data(), size);
    keep(raw.data());
    keep(forwarded.data());
  });
  const std::vector<Rate> rates = measure(steps, opt.seconds, opt.repeat, opt.max_iterations);

  Json components = Json::object();
  for (std::size_t i = 0; i < names.size(); ++i) {
    components[names[i]] = {{"requests_per_second", rates[i].per_second()},
                            {"mb_per_second", rates[i].per_second() * size / 1e6},
                            {"us_per_request", 1e6 / rates[i].per_second()}};
  }
  const double snappy_rps = components["snappy"]["requests_per_second"].get<double>();
  components["snappy"]["raw_mb_per_second"] = snappy_rps * body.raw_bytes / 1e6;
  const Rate& request = rates.back();
  const double rps = request.per_second();
  // What the request would cost if its steps cost what they cost alone (no cache interplay).
  const double from_components =
      1 / (1 / components["aes_256_gcm_decrypt"]["requests_per_second"].get<double>() +
           1 / snappy_rps + 1 / components["memcpy"]["requests_per_second"].get<double>());
  return {{"body", body.name},
          {"content_type", body.content_type},
          {"bytes", size},
          {"raw_bytes", body.raw_bytes},
          {"tls_records", negotiated->records()},
          {"samples_per_request", body.expected.samples},
          {"lines_per_request", body.expected.log_lines},
          {"iterations", request.iterations},
          {"cpu_seconds", request.cpu_seconds},
          {"requests_per_second", rps},
          {"samples_per_second", rps * body.expected.samples},
          {"lines_per_second", rps * body.expected.log_lines},
          {"mb_per_second", rps * size / 1e6},
          {"raw_mb_per_second", rps * body.raw_bytes / 1e6},
          {"us_per_request", 1e6 / rps},
          {"requests_per_second_sum_of_components", from_components},
          {"components", components}};
}

void print_table(const Json& results) {
  std::printf("%-16s %8s %9s %5s %8s %7s %11s %10s %8s\n", "body", "bytes", "raw bytes", "recs",
              "req/s", "MB/s", "samples/s", "lines/s", "us/req");
  for (const auto& r : results) {
    std::printf("%-16s %8zu %9zu %5zu %8.0f %7.0f %11.0f %10.0f %8.1f\n",
                r["body"].get<std::string>().c_str(), r["bytes"].get<std::size_t>(),
                r["raw_bytes"].get<std::size_t>(), r["tls_records"].get<std::size_t>(),
                r["requests_per_second"].get<double>(), r["mb_per_second"].get<double>(),
                r["samples_per_second"].get<double>(), r["lines_per_second"].get<double>(),
                r["us_per_request"].get<double>());
  }
  std::printf("\ncomponents alone, MB/s of body as sent (us/req):\n");
  std::printf("%-16s %17s %17s %17s %17s %17s\n", "body", "aes-256-gcm", "aes-128-gcm",
              "chacha20-poly1305", "snappy", "memcpy");
  for (const auto& r : results) {
    std::printf("%-16s", r["body"].get<std::string>().c_str());
    for (const char* name : {"aes_256_gcm_decrypt", "aes_128_gcm_decrypt",
                             "chacha20_poly1305_decrypt", "snappy", "memcpy"}) {
      const auto& c = r["components"][name];
      std::printf(" %8.0f (%6.1f)", c["mb_per_second"].get<double>(),
                  c["us_per_request"].get<double>());
    }
    std::printf("\n");
  }
}

int run(int argc, char** argv) {
  CLI::App app{"mla-physical-limit: per-request work a gateway cannot avoid (PHYSICAL_LIMIT.md)"};
  Options opt;
  std::vector<std::string> only;
  std::string write_body;
  bool json = false;
  app.add_option("--seconds", opt.seconds, "CPU seconds per run of each step")
      ->check(CLI::Range(0.001, 600.0));
  app.add_option("--repeat", opt.repeat, "Runs of each step (round-robin); the fastest is reported")
      ->check(CLI::Range(1, 100));
  app.add_option("--max-iterations", opt.max_iterations, "Upper bound on iterations per run")
      ->check(CLI::PositiveNumber);
  app.add_option("--body", only, "Only the bodies with these names (default: all)");
  app.add_option("--write-body", write_body,
                 "Write the first selected body's bytes to this file and exit");
  app.add_flag("--json", json, "Print the results as one JSON object instead of a table");
  CLI11_PARSE(app, argc, argv);

  std::vector<Body> bodies;
  bodies.push_back(remote_write_v1());
  bodies.push_back(remote_write_v2());
  bodies.push_back(loki_proto_body());
  if (!only.empty()) {
    std::erase_if(bodies, [&only](const Body& body) {
      return std::find(only.begin(), only.end(), body.name) == only.end();
    });
    if (bodies.empty())
      die("no body matches --body (have: rw-v1 2000x1, rw-v2 2000x1, loki-proto 1MiB)");
  }

  if (!write_body.empty()) {
    std::ofstream out(write_body, std::ios::binary | std::ios::trunc);
    out.write(bodies.front().bytes.data(),
              static_cast<std::streamsize>(bodies.front().bytes.size()));
    out.close();
    if (!out) die("cannot write " + write_body);
    std::fprintf(stderr, "mla-physical-limit: wrote %s (%zu bytes, Content-Type: %s)\n",
                 bodies.front().name.c_str(), bodies.front().bytes.size(),
                 bodies.front().content_type.c_str());
    return 0;
  }

  const std::vector<double> load_before = load_average();
  Json results = Json::array();
  for (const Body& body : bodies) results.push_back(measure_body(body, opt));
  const std::vector<double> load_after = load_average();
  if (json) {
    std::cout << Json{{"cpu", cpu_model()},
                      {"cpus", std::thread::hardware_concurrency()},
                      {"tls_cipher", kNegotiatedSuite},
                      {"record_plaintext_bytes", kRecordPlaintext},
                      {"clock", "thread CPU time"},
                      {"seconds_per_run", opt.seconds},
                      {"repeat", opt.repeat},
                      {"load_average_before", load_before},
                      {"load_average_after", load_after},
                      {"bodies", results}}
                     .dump(2)
              << "\n";
  } else {
    print_table(results);
    if (load_after.size() == 3) {
      std::printf(
          "\ncpu: %s x %u; TLS suite %s; best of %d runs x %.2f CPU s; load average %.2f %.2f "
          "%.2f\n",
          cpu_model().c_str(), std::thread::hardware_concurrency(), kNegotiatedSuite, opt.repeat,
          opt.seconds, load_after[0], load_after[1], load_after[2]);
    }
  }
  return 0;
}

}  // namespace
}  // namespace mla::bench

int main(int argc, char** argv) { return mla::bench::run(argc, argv); }
