// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <optional>
#include <string>

#include "payment/eth/signature.h"

namespace lp {

/// Loads a key file: a raw hex private key (must not be readable by group or others), or an
/// Ethereum keystore v3 JSON file as geth and go-livepeer write them (scrypt or pbkdf2 with
/// aes-128-ctr), which needs the passphrase.
Result<PrivateKey> load_key_file(const std::string& path,
                                 const std::optional<std::string>& passphrase);

/// Decrypts keystore v3 JSON text; a wrong passphrase is the error code "wrong_passphrase".
Result<PrivateKey> decrypt_keystore(const std::string& json_text, const std::string& passphrase);

/// Encrypts a key as keystore v3 JSON with scrypt (n, r = 8, p = 1) and aes-128-ctr.
std::string encrypt_keystore(const PrivateKey& key, const std::string& passphrase,
                             unsigned scrypt_n = 262144);

/// Writes data to a new file with mode 0600; refuses to overwrite an existing file.
Status write_secret_file(const std::string& path, const std::string& data);

}  // namespace lp
