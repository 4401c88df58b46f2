// Helpers shared by lpjudge's roles: the signing oracle, Keccak-256, Ethereum addresses, big
// integers as Livepeer puts them on the wire, the base64 protobuf headers, SegData and ticket
// hashing, the preset video profiles, and TLS/gRPC dialing that skips certificate checks as
// go-livepeer does between gateways and orchestrators.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/sha3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/proto"

	"lpgen/lpnet"
)

// PaymentHeader and SegmentHeader are the HTTP headers of POST /segment: base64 (standard,
// padded) of a protobuf net.Payment and net.SegData.
const (
	PaymentHeader = "Livepeer-Payment"
	SegmentHeader = "Livepeer-Segment"
)

// ---------------------------------------------------------------------------------------------
// Signing oracle

// Signer signs with a key it never sees: it keeps one `lpnode pm sign-message --key-file F`
// process open (one 0x-hex message per line in, one 0x-hex 65-byte signature per line out) for
// Sign, and runs `lpnode pm sign-ticket` for SignTicket. Safe for concurrent use.
//
// Two signatures, as go-livepeer: a gateway's Sign (segments, the OrchestratorRequest) is
// EIP-191 personal_sign over keccak256(message); a ticket's signature is EIP-191 over the
// 32-byte ticket hash itself (what the TicketBroker recovers), which Sign cannot make.
type Signer struct {
	mu      sync.Mutex
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	lpnode  string
	keyFile string
	Address []byte // the key's 20-byte address (from `lpnode pm address`)
}

// NewSigner starts the oracle for keyFile with the lpnode binary at lpnode, and reads the key's
// address with `lpnode pm address --key-file keyFile`.
func NewSigner(lpnode, keyFile string) (*Signer, error) {
	outb, err := exec.Command(lpnode, "pm", "address", "--key-file", keyFile).Output()
	if err != nil {
		return nil, fmt.Errorf("lpnode pm address --key-file %s: %v", keyFile, exitText(err))
	}
	addr, err := ParseAddress(strings.TrimSpace(string(outb)))
	if err != nil {
		return nil, fmt.Errorf("lpnode pm address printed %q: %v", strings.TrimSpace(string(outb)), err)
	}
	cmd := exec.Command(lpnode, "pm", "sign-message", "--key-file", keyFile)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting lpnode pm sign-message: %v", err)
	}
	return &Signer{cmd: cmd, in: in, out: bufio.NewReader(out), lpnode: lpnode, keyFile: keyFile, Address: addr}, nil
}

// Sign returns the 65-byte signature (r, s, v with v 27 or 28) a go-livepeer gateway makes over
// msg (its Sign: personal_sign of keccak256(msg)): secp256k1 over
// keccak256("\x19Ethereum Signed Message:\n32" + keccak256(msg)). For the segment signature
// (msg = SegmentFlatten) and the OrchestratorRequest's (msg = the EIP-55 address string).
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := fmt.Fprintf(s.in, "0x%x\n", msg); err != nil {
		return nil, fmt.Errorf("signing oracle: %v", err)
	}
	line, err := s.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("signing oracle: no answer: %v", err)
	}
	sig, err := DecodeHex(strings.TrimSpace(line))
	if err != nil || len(sig) != 65 {
		return nil, fmt.Errorf("signing oracle: not a 65-byte signature: %q", strings.TrimSpace(line))
	}
	return sig, nil
}

// SignTicket returns the ticket's 65-byte signature, secp256k1 over
// keccak256("\x19Ethereum Signed Message:\n32" + t.Hash()), made by `lpnode pm sign-ticket`
// (one process per ticket). The hash lpnode reports must equal t.Hash(): a cross-check of both.
func (s *Signer) SignTicket(t *Ticket) ([]byte, error) {
	in := map[string]interface{}{
		"recipient": "0x" + hex.EncodeToString(t.Recipient), "sender": ChecksumAddress(t.Sender),
		"faceValue": t.FaceValue.String(), "winProb": t.WinProb.String(), "senderNonce": t.SenderNonce,
		"recipientRandHash": "0x" + hex.EncodeToString(t.RecipientRandHash),
		"creationRound":     fmt.Sprint(t.CreationRound), "creationRoundBlockHash": "0x" + hex.EncodeToString(t.blockHash()),
	}
	js, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	var outb []byte
	for attempt := 0; ; attempt++ {
		cmd := exec.Command(s.lpnode, "pm", "sign-ticket", "--key-file", s.keyFile)
		cmd.Stdin = bytes.NewReader(js)
		outb, err = cmd.Output()
		var ee *exec.ExitError
		// A binary being replaced by a rebuild cannot be started for a moment: try again.
		if err == nil || errors.As(err, &ee) || attempt == 4 {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if err != nil {
		return nil, fmt.Errorf("lpnode pm sign-ticket: %v", exitText(err))
	}
	var res struct {
		TicketHash string `json:"ticketHash"`
		Sig        string `json:"sig"`
	}
	if err := json.Unmarshal(outb, &res); err != nil {
		return nil, fmt.Errorf("lpnode pm sign-ticket printed %q: %v", outb, err)
	}
	if want := "0x" + hex.EncodeToString(t.Hash()); !strings.EqualFold(res.TicketHash, want) {
		return nil, fmt.Errorf("ticket hash: lpnode says %s, the judge %s (ticket %s)", res.TicketHash, want, js)
	}
	sig, err := DecodeHex(res.Sig)
	if err != nil || len(sig) != 65 {
		return nil, fmt.Errorf("lpnode pm sign-ticket: not a 65-byte signature: %q", res.Sig)
	}
	return sig, nil
}

// Close stops the oracle.
func (s *Signer) Close() {
	s.in.Close()
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return err.Error()
}

// ---------------------------------------------------------------------------------------------
// Hashes, hex, addresses, big integers

// Keccak256 is the legacy Keccak-256 (Ethereum's) of the concatenated parts.
func Keccak256(parts ...[]byte) []byte {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// DecodeHex decodes hex with or without a 0x prefix.
func DecodeHex(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	return hex.DecodeString(s)
}

// ParseAddress parses a 0x-hex 20-byte address (any case; the checksum is not checked).
func ParseAddress(s string) ([]byte, error) {
	b, err := DecodeHex(s)
	if err != nil {
		return nil, err
	}
	if len(b) != 20 {
		return nil, fmt.Errorf("an address is 20 bytes, not %d", len(b))
	}
	return b, nil
}

// ChecksumAddress is the EIP-55 form ("0x" + mixed-case hex) of a 20-byte address: what a
// go-livepeer gateway signs in its OrchestratorRequest (the signature is over these ASCII bytes).
func ChecksumAddress(addr []byte) string {
	lower := hex.EncodeToString(addr)
	h := Keccak256([]byte(lower))
	out := []byte(lower)
	for i, c := range out {
		if c >= 'a' && c <= 'f' {
			nibble := h[i/2]
			if i%2 == 0 {
				nibble >>= 4
			}
			if nibble&0x0f >= 8 {
				out[i] = c - 'a' + 'A'
			}
		}
	}
	return "0x" + string(out)
}

// BigFromBytes reads a big-endian unsigned integer (go-livepeer's big.Int.SetBytes).
func BigFromBytes(b []byte) *big.Int { return new(big.Int).SetBytes(b) }

// Uint256 is the 32-byte big-endian form of v (v must be 0 <= v < 2^256), as abi.encodePacked.
func Uint256(v *big.Int) []byte {
	out := make([]byte, 32)
	v.FillBytes(out)
	return out
}

// MaxWinProb is 2^256 - 1, the win probability of a ticket that always wins.
var MaxWinProb = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// TicketEV is a ticket's expected value in wei, exact: faceValue * winProb / (2^256 - 1).
func TicketEV(faceValue, winProb *big.Int) *big.Rat {
	return new(big.Rat).SetFrac(new(big.Int).Mul(faceValue, winProb), MaxWinProb)
}

// RatString formats an exact amount as lpnode's admin /status does: "n" for an integer,
// "n/d" (reduced) otherwise.
func RatString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return r.Num().String() + "/" + r.Denom().String()
}

// CeilRat is the smallest integer >= r.
func CeilRat(r *big.Rat) *big.Int {
	q, m := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// ---------------------------------------------------------------------------------------------
// Headers, segments, tickets

// EncodeHeader is the header value for a message: standard padded base64 of its protobuf bytes.
func EncodeHeader(m proto.Message) (string, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeHeader decodes a header value into m (the inverse of EncodeHeader; an empty value is an
// empty message, as go-livepeer reads it).
func DecodeHeader(value string, m proto.Message) error {
	b, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return fmt.Errorf("base64 decode error: %v", err)
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("protobuf unmarshal error: %v", err)
	}
	return nil
}

// ProfileIDsHex is what a segment signature covers for the profiles: for each profile name the
// first 4 bytes of keccak256(name), as lower-case hex, concatenated.
func ProfileIDsHex(names []string) string {
	var sb strings.Builder
	for _, n := range names {
		sb.WriteString(hex.EncodeToString(Keccak256([]byte(n))[:4]))
	}
	return sb.String()
}

// SegmentFlatten is the byte string a gateway signs for a segment (go-livepeer SegTranscodingMetadata
// Flatten): manifest id, seq as 32 big-endian bytes, the segment's Keccak-256, ProfileIDsHex.
func SegmentFlatten(manifestID []byte, seq int64, segHash []byte, profileNames []string) []byte {
	out := append([]byte{}, manifestID...)
	out = append(out, Uint256(big.NewInt(seq))...)
	out = append(out, segHash...)
	return append(out, []byte(ProfileIDsHex(profileNames))...)
}

// SegDataProfileNames are the profile names of a SegData, from the newest full-profile field set.
func SegDataProfileNames(s *lpnet.SegData) []string {
	ps := s.FullProfiles3
	if len(ps) == 0 {
		ps = s.FullProfiles2
	}
	if len(ps) == 0 {
		ps = s.FullProfiles
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names
}

// H264JobCapabilities is the capability set of a transcoding job as go-livepeer's gateway
// sends it: H264 (bit 0), MPEGTS (bit 1) and AuthToken (bit 12) in word 0 = 0x1003.
func H264JobCapabilities() *lpnet.Capabilities {
	return &lpnet.Capabilities{Bitstring: []uint64{1<<0 | 1<<1 | 1<<12}}
}

// Ticket is a probabilistic micropayment ticket as the TicketBroker hashes it.
type Ticket struct {
	Recipient, Sender      []byte // 20 bytes each
	FaceValue, WinProb     *big.Int
	SenderNonce            uint32
	RecipientRandHash      []byte // 32 bytes
	CreationRound          int64
	CreationRoundBlockHash []byte // 32 bytes or empty
}

// Hash is keccak256 of the packed fields (abi.encodePacked: addresses 20 bytes, integers 32);
// the auxData (creation round and its block hash) is left out when both are zero, as
// go-livepeer does. The sender signs EIP-191 of this hash (Signer.SignTicket, not Sign).
func (t *Ticket) Hash() []byte {
	var b []byte
	b = append(b, t.Recipient...)
	b = append(b, t.Sender...)
	b = append(b, Uint256(t.FaceValue)...)
	b = append(b, Uint256(t.WinProb)...)
	b = append(b, Uint256(new(big.Int).SetUint64(uint64(t.SenderNonce)))...)
	b = append(b, t.RecipientRandHash...)
	blockHash := t.blockHash()
	if t.CreationRound != 0 || new(big.Int).SetBytes(blockHash).Sign() != 0 {
		b = append(b, Uint256(big.NewInt(t.CreationRound))...)
		b = append(b, blockHash...)
	}
	return Keccak256(b)
}

// blockHash is CreationRoundBlockHash as 32 bytes (left-padded; empty is zero).
func (t *Ticket) blockHash() []byte {
	out := make([]byte, 32)
	if n := len(t.CreationRoundBlockHash); n <= 32 {
		copy(out[32-n:], t.CreationRoundBlockHash)
	} else {
		copy(out, t.CreationRoundBlockHash[n-32:])
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// Video profiles

// PresetProfile is go-livepeer's (LPMS) preset of that name, as lpnode's presets: width,
// height, bitrate, 30 or 25 fps, the encoder's default H.264 profile, no fixed GOP.
func PresetProfile(name string) (*lpnet.VideoProfile, error) {
	type box struct{ w, h, bitrate, fps int }
	presets := map[string]box{
		"P720p60fps16x9": {1280, 720, 6000000, 60}, "P720p30fps16x9": {1280, 720, 4000000, 30},
		"P720p25fps16x9": {1280, 720, 3500000, 25}, "P720p30fps4x3": {960, 720, 3500000, 30},
		"P576p30fps16x9": {1024, 576, 1500000, 30}, "P576p25fps16x9": {1024, 576, 1500000, 25},
		"P360p30fps16x9": {640, 360, 1200000, 30}, "P360p25fps16x9": {640, 360, 1000000, 25},
		"P360p30fps4x3": {480, 360, 1000000, 30}, "P240p30fps16x9": {426, 240, 600000, 30},
		"P240p25fps16x9": {426, 240, 600000, 25}, "P240p30fps4x3": {320, 240, 600000, 30},
		"P144p30fps16x9": {256, 144, 400000, 30}, "P144p25fps16x9": {256, 144, 400000, 25},
	}
	b, ok := presets[name]
	if !ok {
		return nil, fmt.Errorf("unknown profile %q", name)
	}
	return &lpnet.VideoProfile{Name: name, Width: int32(b.w), Height: int32(b.h),
		Bitrate: int32(b.bitrate), Fps: uint32(b.fps), FpsDen: 1}, nil
}

// ---------------------------------------------------------------------------------------------
// TLS and gRPC

// protoCodec is gRPC's "proto" codec on google.golang.org/protobuf (API v2). Debian's grpc-go
// 1.33 marshals through the old github.com/golang/protobuf 1.3, which panics on messages made
// by the current protoc-gen-go ("protobuf tag not enough fields"); registering this codec under
// the same name in init() replaces it for every client and server in the process.
type protoCodec struct{}

func (protoCodec) Name() string { return "proto" }

func (protoCodec) Marshal(v interface{}) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("proto codec: %T is not a proto.Message", v)
	}
	return proto.Marshal(m)
}

func (protoCodec) Unmarshal(data []byte, v interface{}) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("proto codec: %T is not a proto.Message", v)
	}
	return proto.Unmarshal(data, m)
}

func init() { encoding.RegisterCodec(protoCodec{}) }

// InsecureTLS is the client TLS configuration between Livepeer nodes: orchestrators make a
// self-signed certificate at start and gateways do not verify it (results are trusted through
// TranscodeData.sig instead).
func InsecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

// DialOrchestrator opens a gRPC connection over TLS (no certificate check) to host:port.
func DialOrchestrator(ctx context.Context, hostport string) (*grpc.ClientConn, lpnet.OrchestratorClient, error) {
	conn, err := grpc.DialContext(ctx, hostport, grpc.WithTransportCredentials(credentials.NewTLS(InsecureTLS())), grpc.WithBlock())
	if err != nil {
		return nil, nil, fmt.Errorf("gRPC dial %s: %v", hostport, err)
	}
	return conn, lpnet.NewOrchestratorClient(conn), nil
}

// HostPort is the host:port of an https:// URI such as OrchestratorInfo.transcoder.
func HostPort(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", err
	}
	if u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("not an https://host:port URI: %q", uri)
	}
	if u.Port() == "" {
		return u.Host + ":443", nil
	}
	return u.Host, nil
}
