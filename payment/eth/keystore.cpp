// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/eth/keystore.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "payment/eth/keccak.h"

namespace lp {

namespace {

using json = nlohmann::json;

Error bad_file(const std::string& path, const std::string& why) {
  return make_error(ErrorKind::invalid_input, "bad_key_file", "key file '" + path + "': " + why);
}

// Holds derived keys and plaintext; wiped when it goes out of scope.
struct Secret {
  Bytes b;
  explicit Secret(std::size_t n) : b(n) {}
  ~Secret() { OPENSSL_cleanse(b.data(), b.size()); }
};

const json* member(const json& obj, const char* a, const char* b = nullptr) {
  if (!obj.is_object()) return nullptr;
  if (auto it = obj.find(a); it != obj.end()) return &*it;
  if (b)
    if (auto it = obj.find(b); it != obj.end()) return &*it;
  return nullptr;
}

Result<Bytes> hex_field(const json& obj, const char* name) {
  const json* v = member(obj, name);
  if (!v || !v->is_string())
    return make_error(ErrorKind::invalid_input, "bad_keystore",
                      std::string("missing string field '") + name + "'");
  auto b = from_hex(v->get<std::string>());
  if (!b)
    return make_error(ErrorKind::invalid_input, "bad_keystore",
                      std::string("field '") + name + "' is not hex");
  return *b;
}

Result<std::uint64_t> uint_field(const json& obj, const char* name) {
  const json* v = member(obj, name);
  if (!v || !v->is_number_unsigned())
    return make_error(ErrorKind::invalid_input, "bad_keystore",
                      std::string("missing integer field '") + name + "'");
  return v->get<std::uint64_t>();
}

bool aes128ctr(const Bytes& key, const Bytes& iv, const Bytes& in, Bytes& out) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  out.assign(in.size(), 0);
  int n1 = 0, n2 = 0;
  return ctx &&
         EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ctr(), nullptr, key.data(), iv.data()) == 1 &&
         EVP_EncryptUpdate(ctx.get(), out.data(), &n1, in.data(), static_cast<int>(in.size())) ==
             1 &&
         EVP_EncryptFinal_ex(ctx.get(), out.data() + n1, &n2) == 1;
}

Hash keystore_mac(const Bytes& derived, const Bytes& ciphertext) {
  return Keccak256().update(ByteSpan(derived.data() + 16, 16)).update(ciphertext).finish();
}

}  // namespace

Result<PrivateKey> decrypt_keystore(const std::string& text, const std::string& passphrase) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return make_error(ErrorKind::invalid_input, "bad_keystore", "not a JSON object");
  const json* version = member(doc, "version");
  if (!version || !version->is_number_integer() || version->get<int>() != 3)
    return make_error(ErrorKind::invalid_input, "bad_keystore",
                      "only keystore version 3 is supported");
  const json* crypto = member(doc, "crypto", "Crypto");
  if (!crypto || !crypto->is_object())
    return make_error(ErrorKind::invalid_input, "bad_keystore", "missing 'crypto'");
  const json* cipher = member(*crypto, "cipher");
  if (!cipher || *cipher != "aes-128-ctr")
    return make_error(ErrorKind::invalid_input, "bad_keystore",
                      "unsupported cipher (only aes-128-ctr)");
  auto ciphertext = hex_field(*crypto, "ciphertext");
  if (!ciphertext) return ciphertext.error();
  const json* cparams = member(*crypto, "cipherparams");
  if (!cparams)
    return make_error(ErrorKind::invalid_input, "bad_keystore", "missing 'cipherparams'");
  auto iv = hex_field(*cparams, "iv");
  if (!iv) return iv.error();
  if (iv->size() != 16)
    return make_error(ErrorKind::invalid_input, "bad_keystore", "iv must be 16 bytes");
  auto mac = hex_field(*crypto, "mac");
  if (!mac) return mac.error();
  const json* kdf = member(*crypto, "kdf");
  const json* kp = member(*crypto, "kdfparams");
  if (!kdf || !kdf->is_string() || !kp || !kp->is_object())
    return make_error(ErrorKind::invalid_input, "bad_keystore", "missing 'kdf' or 'kdfparams'");
  auto salt = hex_field(*kp, "salt");
  if (!salt) return salt.error();
  auto dklen = uint_field(*kp, "dklen");
  if (!dklen) return dklen.error();
  if (*dklen < 32 || *dklen > 64)
    return make_error(ErrorKind::invalid_input, "bad_keystore", "dklen must be 32..64");

  Secret derived(*dklen);
  if (*kdf == "scrypt") {
    auto n = uint_field(*kp, "n");
    auto r = uint_field(*kp, "r");
    auto p = uint_field(*kp, "p");
    if (!n || !r || !p)
      return make_error(ErrorKind::invalid_input, "bad_keystore", "scrypt needs n, r and p");
    const std::uint64_t maxmem = 2ull << 30;  // geth's standard n=2^18, r=8 needs 256 MiB
    if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), salt->data(), salt->size(), *n, *r, *p,
                       maxmem, derived.b.data(), derived.b.size()) != 1)
      return make_error(ErrorKind::invalid_input, "bad_keystore",
                        "scrypt parameters rejected (n must be a power of two)");
  } else if (*kdf == "pbkdf2") {
    auto c = uint_field(*kp, "c");
    if (!c || *c == 0 || *c > 100'000'000)
      return make_error(ErrorKind::invalid_input, "bad_keystore", "pbkdf2 needs a count c");
    const json* prf = member(*kp, "prf");
    if (!prf || *prf != "hmac-sha256")
      return make_error(ErrorKind::invalid_input, "bad_keystore", "pbkdf2 prf must be hmac-sha256");
    if (PKCS5_PBKDF2_HMAC(passphrase.data(), static_cast<int>(passphrase.size()), salt->data(),
                          static_cast<int>(salt->size()), static_cast<int>(*c), EVP_sha256(),
                          static_cast<int>(derived.b.size()), derived.b.data()) != 1)
      return make_error(ErrorKind::fatal, "crypto", "pbkdf2 failed");
  } else {
    return make_error(ErrorKind::invalid_input, "bad_keystore",
                      "unsupported kdf (scrypt or pbkdf2)");
  }
  Hash expect = keystore_mac(derived.b, *ciphertext);
  if (mac->size() != expect.size() || CRYPTO_memcmp(mac->data(), expect.data(), expect.size()) != 0)
    return make_error(ErrorKind::forbidden, "wrong_passphrase",
                      "could not decrypt key with the given passphrase");
  Secret plain(0);
  if (!aes128ctr(Bytes(derived.b.begin(), derived.b.begin() + 16), *iv, *ciphertext, plain.b))
    return make_error(ErrorKind::fatal, "crypto", "aes-128-ctr failed");
  auto key = PrivateKey::from_bytes(plain.b);
  if (!key) return key.error();
  if (const json* addr = member(doc, "address"); addr && addr->is_string()) {
    auto stated = from_hex(addr->get<std::string>());
    if (stated && stated->size() == 20 &&
        !std::equal(stated->begin(), stated->end(), key->address().begin()))
      return make_error(ErrorKind::invalid_input, "bad_keystore",
                        "the key does not match the file's address");
  }
  return key;
}

std::string encrypt_keystore(const PrivateKey& key, const std::string& passphrase,
                             unsigned scrypt_n) {
  Bytes salt(32), iv(16);
  RAND_bytes(salt.data(), static_cast<int>(salt.size()));
  RAND_bytes(iv.data(), static_cast<int>(iv.size()));
  Secret derived(32);
  EVP_PBE_scrypt(passphrase.data(), passphrase.size(), salt.data(), salt.size(), scrypt_n, 8, 1,
                 2ull << 30, derived.b.data(), derived.b.size());
  Bytes ciphertext;
  aes128ctr(Bytes(derived.b.begin(), derived.b.begin() + 16), iv,
            Bytes(key.secret().begin(), key.secret().end()), ciphertext);
  Bytes uuid(16);
  RAND_bytes(uuid.data(), 16);
  uuid[6] = static_cast<std::uint8_t>((uuid[6] & 0x0f) | 0x40);
  uuid[8] = static_cast<std::uint8_t>((uuid[8] & 0x3f) | 0x80);
  std::string u = to_hex(uuid, false);
  json doc = {
      {"address", to_hex(key.address(), false)},
      {"crypto",
       {{"cipher", "aes-128-ctr"},
        {"ciphertext", to_hex(ciphertext, false)},
        {"cipherparams", {{"iv", to_hex(iv, false)}}},
        {"kdf", "scrypt"},
        {"kdfparams",
         {{"dklen", 32}, {"n", scrypt_n}, {"p", 1}, {"r", 8}, {"salt", to_hex(salt, false)}}},
        {"mac", to_hex(keystore_mac(derived.b, ciphertext), false)}}},
      {"id", u.substr(0, 8) + "-" + u.substr(8, 4) + "-" + u.substr(12, 4) + "-" + u.substr(16, 4) +
                 "-" + u.substr(20)},
      {"version", 3}};
  return doc.dump();
}

Result<PrivateKey> load_key_file(const std::string& path,
                                 const std::optional<std::string>& passphrase) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return bad_file(path, errno_text(errno));
  if (!S_ISREG(st.st_mode)) return bad_file(path, "not a regular file");
  if (st.st_size > 1 << 20) return bad_file(path, "too large for a key file");
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return bad_file(path, "empty");
  if (text[first] == '{') {
    if (!passphrase)
      return make_error(
          ErrorKind::invalid_input, "passphrase_required",
          "key file '" + path +
              "' is an encrypted keystore: give --passphrase-file or set LP_PASSPHRASE");
    auto key = decrypt_keystore(text, *passphrase);
    if (!key)
      return make_error(key.error().kind, key.error().code,
                        "key file '" + path + "': " + key.error().message);
    return key;
  }
  if (st.st_mode & 077)
    return bad_file(path, "a raw private key must not be readable by group or others (chmod 600 '" +
                              path + "')");
  std::size_t last = text.find_last_not_of(" \t\r\n");
  std::string hex = text.substr(first, last - first + 1);
  auto bytes = from_hex(hex);
  OPENSSL_cleanse(text.data(), text.size());
  if (!bytes || bytes->size() != 32) {
    if (!hex.empty()) OPENSSL_cleanse(hex.data(), hex.size());
    return bad_file(path, "expected 64 hex digits of a raw private key or a keystore v3 JSON file");
  }
  OPENSSL_cleanse(hex.data(), hex.size());
  auto key = PrivateKey::from_bytes(*bytes);
  OPENSSL_cleanse(bytes->data(), bytes->size());
  if (!key) return bad_file(path, key.error().message);
  return key;
}

Status write_secret_file(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int e = errno;
    if (e == EEXIST)
      return make_error(ErrorKind::invalid_input, "file_exists",
                        "'" + path + "' already exists; refusing to overwrite a key");
    return make_error(ErrorKind::fatal, "io", "cannot create '" + path + "': " + errno_text(e));
  }
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return make_error(ErrorKind::fatal, "io", "cannot write '" + path + "': " + errno_text(e));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int e = errno;
    return make_error(ErrorKind::fatal, "io", "cannot write '" + path + "': " + errno_text(e));
  }
  return ok_status();
}

}  // namespace lp
