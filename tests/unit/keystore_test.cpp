// SPDX-License-Identifier: LGPL-2.1-or-later
#include "payment/eth/keystore.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/unit/test_util.h"

namespace lp {
namespace {

// The Web3 Secret Storage definition's PBKDF2 test vector (passphrase "testpassword"); ethers.js
// decrypts it to the same key.
const char* kPbkdf2Vector = R"({
  "crypto": {"cipher": "aes-128-ctr", "cipherparams": {"iv": "6087dab2f9fdbbfaddc31a909735c1e6"},
    "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
    "kdf": "pbkdf2", "kdfparams": {"c": 262144, "dklen": 32, "prf": "hmac-sha256",
      "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"},
    "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"},
  "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6", "version": 3})";

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
}

TEST(Keystore, Decrypt_GivenWeb3Pbkdf2Vector_RecoversTheSpecKey) {
  auto key = decrypt_keystore(kPbkdf2Vector, "testpassword");
  ASSERT_TRUE(key) << key.error().to_string();
  EXPECT_EQ(to_hex(key->secret(), false),
            "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d");
}

TEST(Keystore, Decrypt_GivenWrongPassphrase_SaysSo) {
  auto key = decrypt_keystore(kPbkdf2Vector, "testpassworD");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, "wrong_passphrase");
}

TEST(Keystore, EncryptDecrypt_GivenScryptFile_RoundTrips) {
  PrivateKey k = PrivateKey::generate();
  std::string json = encrypt_keystore(k, "correct horse", 1024);
  auto back = decrypt_keystore(json, "correct horse");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->address(), k.address());
  EXPECT_EQ(decrypt_keystore(json, "wrong").error().code, "wrong_passphrase");
}

TEST(Keystore, Decrypt_GivenMalformedFiles_NamesTheProblem) {
  EXPECT_EQ(decrypt_keystore("not json", "x").error().code, "bad_keystore");
  EXPECT_EQ(decrypt_keystore(R"({"version":2})", "x").error().code, "bad_keystore");
  std::string no_mac = kPbkdf2Vector;
  no_mac.replace(no_mac.find("\"mac\""), 5, "\"mak\"");
  EXPECT_EQ(decrypt_keystore(no_mac, "testpassword").error().message, "missing string field 'mac'");
  std::string other_cipher = kPbkdf2Vector;
  other_cipher.replace(other_cipher.find("aes-128-ctr"), 11, "aes-256-gcm");
  EXPECT_EQ(decrypt_keystore(other_cipher, "testpassword").error().message,
            "unsupported cipher (only aes-128-ctr)");
}

TEST(KeyFile, Load_GivenRawHexWithMode600_Loads) {
  test::TempDir d;
  write_file(d.file("k"), "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318\n",
             0600);
  auto key = load_key_file(d.file("k"), std::nullopt);
  ASSERT_TRUE(key) << key.error().to_string();
  EXPECT_EQ(to_checksum(key->address()), "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
}

TEST(KeyFile, Load_GivenWorldReadableRawKey_RefusesWithChmodHint) {
  test::TempDir d;
  write_file(d.file("k"), "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", 0644);
  auto key = load_key_file(d.file("k"), std::nullopt);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("chmod 600"), std::string::npos);
}

TEST(KeyFile, Load_GivenKeystoreWithoutPassphrase_AsksForOne) {
  test::TempDir d;
  write_file(d.file("k.json"), kPbkdf2Vector, 0600);
  EXPECT_EQ(load_key_file(d.file("k.json"), std::nullopt).error().code, "passphrase_required");
  EXPECT_TRUE(load_key_file(d.file("k.json"), "testpassword"));
  EXPECT_EQ(load_key_file(d.file("k.json"), "nope").error().code, "wrong_passphrase");
}

TEST(KeyFile, Load_GivenGarbageOrMissingFile_FailsClearly) {
  test::TempDir d;
  write_file(d.file("bad"), "hello", 0600);
  EXPECT_EQ(load_key_file(d.file("bad"), std::nullopt).error().code, "bad_key_file");
  EXPECT_EQ(load_key_file(d.file("missing"), std::nullopt).error().code, "bad_key_file");
  write_file(d.file("zero"), std::string(64, '0'), 0600);
  EXPECT_EQ(load_key_file(d.file("zero"), std::nullopt).error().code, "bad_key_file");
}

TEST(KeyFile, WriteSecret_GivenExistingFile_RefusesToOverwrite) {
  test::TempDir d;
  ASSERT_TRUE(write_secret_file(d.file("s"), "one"));
  struct stat st {};
  ASSERT_EQ(stat(d.file("s").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = write_secret_file(d.file("s"), "two");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "file_exists");
  std::ifstream in(d.file("s"));
  std::string content;
  in >> content;
  EXPECT_EQ(content, "one");
}

}  // namespace
}  // namespace lp
