// SPDX-License-Identifier: LGPL-2.1-or-later
// Livepeer's wire formats around the protobuf messages (elements/net/lp_rpc.proto): big integers
// as go-livepeer's minimal big-endian bytes, conversions between the payment library's types
// and the messages, the base64 headers of HTTP segment submission, and the segment signature's
// Flatten. Every decode of remote bytes returns an error naming the field, never throws.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "elements/net/lp_rpc.pb.h"
#include "payment/common/bytes.h"
#include "payment/common/result.h"
#include "payment/common/u256.h"
#include "payment/eth/signature.h"
#include "payment/pm/params.h"

namespace lp::net {

/// Go's big.Int.Bytes(): big-endian without leading zeros; zero is empty.
std::string minimal_be(const U256& v);
/// The inverse; leading zeros are accepted (go-livepeer's SetBytes does), more than 32 bytes not.
Result<U256> from_minimal_be(std::string_view bytes, const char* field);
/// A 20-byte address field.
Result<Address> address_field(std::string_view bytes, const char* field);

::net::PriceInfo to_proto(const pm::PriceInfo& p);
pm::PriceInfo from_proto(const ::net::PriceInfo& p);
::net::TicketExpirationParams to_proto(const pm::ExpirationParams& e);
Result<pm::ExpirationParams> from_proto(const ::net::TicketExpirationParams& e);
/// TicketParams as an orchestrator sends them in OrchestratorInfo (with expiration_params).
::net::TicketParams to_proto(const pm::TicketParams& p);
Result<pm::TicketParams> from_proto(const ::net::TicketParams& p);
/// A batch as a gateway sends it: ticket_params carry fields 1-6 only, the expiration params
/// go in Payment.expiration_params, expected_price echoes the orchestrator's price.
::net::Payment to_proto(const pm::TicketBatch& batch);
/// A payment as an orchestrator reads it. expiration_params must be present when
/// ticket_params is (go-livepeer dereferences it).
Result<pm::TicketBatch> from_proto(const ::net::Payment& p);

/// keccak256(name)[0:4] of each profile, hex, concatenated (go-livepeer ProfilesToTranscodeOpts
/// as it enters the segment signature).
std::string profile_ids_hex(const std::vector<std::string>& profile_names);
/// The bytes a gateway signs for a segment (core/streamdata.go Flatten): manifest id,
/// 32-byte big-endian seq, segment hash, profile ids as ASCII hex.
Bytes segment_flatten(std::string_view manifest_id, std::int64_t seq, const Hash& segment_hash,
                      const std::vector<std::string>& profile_names);
/// The profile names of a SegData, from the field go-livepeer's orchestrator reads (35, 34, 33).
std::vector<std::string> segdata_profile_names(const ::net::SegData& s);

/// The job capabilities of a plain H.264 -> MPEG-TS transcode: H264, MPEGTS and AuthToken
/// (word 0x1003, the reference's RTMP example).
::net::Capabilities h264_job_capabilities();
/// A SegData as a gateway sends it: hash of the body, profiles "invalid" plus the full
/// profiles in field 35, the duration, job capabilities, the session's auth token, and the
/// gateway's signature over Flatten.
/// Signs a message as the gateway's key does (EIP-191 text hash); lets a key held elsewhere
/// (the lpticketpay element) sign SegData.
using MessageSigner = std::function<Signature(ByteSpan message)>;
::net::SegData signed_segdata(const MessageSigner& sign, std::string_view manifest_id,
                              std::int64_t seq, std::string_view body,
                              const std::vector<::net::VideoProfile>& profiles,
                              const ::net::AuthToken& auth_token, std::int32_t duration_ms);
::net::SegData signed_segdata(const PrivateKey& gateway, std::string_view manifest_id,
                              std::int64_t seq, std::string_view body,
                              const std::vector<::net::VideoProfile>& profiles,
                              const ::net::AuthToken& auth_token, std::int32_t duration_ms);

/// Base64 (standard alphabet, padded), as the Livepeer-Segment and Livepeer-Payment headers.
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);
/// A message as a header value, and back. An empty header is an empty message (go-livepeer's
/// offchain mode sends an empty Livepeer-Payment). Errors carry Go's texts, which go-livepeer's
/// answers quote: code bad_base64 with encoding/base64's ("illegal base64 data at input byte N"),
/// code bad_protobuf with protobuf-go's (kErrProtoParse).
std::string encode_header(const google::protobuf::MessageLite& m);
Status decode_header(std::string_view header, google::protobuf::MessageLite* m);

}  // namespace lp::net
