// lpjudge orchestrator: a test peer that acts as a go-livepeer orchestrator, to judge our
// gateway (`lpnode gateway`) against the protocol as go-livepeer speaks it.
//
// One TLS port, served by net/http with ALPN h2 and http/1.1 and routed as go-livepeer's
// server does: an HTTP/2 request whose Content-Type starts with application/grpc goes to the
// grpc-go server (net.Orchestrator: GetOrchestrator, Ping, EndTranscodingSession), anything
// else to an HTTP mux (POST /segment, GET /stream/<session>/<profile>/<seq>.ts,
// GET /judge/summary). Segments are transcoded by ffmpeg (an independent transcoder), one
// H.264 MPEG-TS rendition per profile of the SegData, and answered with a TranscodeResult
// signed as go-livepeer signs it: Sign(keccak(r1) || ... || keccak(rn)), EIP-191, by this
// judge's key through `lpnode pm sign-message` (a signing oracle).
//
// Payments are counted, not redeemed: tickets and their expected value
// (faceValue x winProb / 2^256) per sender, and the cheap checks an orchestrator makes before
// the signature (recipient, recipientRandHash issued here, nonce not seen twice, expected
// price). Signatures (request, segment, tickets) are not recovered: Go's standard library has
// no secp256k1.
//
// Usage: lpjudge orchestrator --listen 127.0.0.1:0 --key-file F --lpnode PATH
//
//	[--price-per-unit N] [--pixels-per-unit M] [--ticket-ev W] [--face-value W]
//	[--block N] [--expiration-blocks N] [--round N] [--round-block-hash 0x..]
//	[--ffmpeg PATH] [--ffprobe PATH] [--preset P] [--max-transcodes N] [--hold-answer D]
//
// Prints {"address","service","transcoder"} on stdout when listening; on SIGTERM or SIGINT
// prints the summary (the same JSON as GET /judge/summary) and exits 0.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	lpnet "lpgen/lpnet"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func init() { commands["orchestrator"] = orchMain }

// ---------------------------------------------------------------------------------------------
// Small helpers (prefixed: common.go belongs to the gateway mode's author).

// orchWinProb: the winning probability that gives a ticket of faceValue fv the expected value
// ev: ceil((2^256-1) / fv) x ev, at most 2^256-1 (fv == ev: always wins).
func orchWinProb(fv, ev *big.Int) *big.Int {
	if fv.Sign() <= 0 {
		return new(big.Int)
	}
	if fv.Cmp(ev) == 0 {
		return new(big.Int).Set(MaxWinProb)
	}
	q, r := new(big.Int).QuoRem(MaxWinProb, fv, new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	p := q.Mul(q, ev)
	if p.Cmp(MaxWinProb) > 0 {
		return new(big.Int).Set(MaxWinProb)
	}
	return p
}

// orchSelfSigned: an ECDSA P-256 self-signed certificate for host (IP or DNS SAN), as
// go-livepeer makes one at start.
func orchSelfSigned(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := crand.Int(crand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"lpjudge"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(crand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// ---------------------------------------------------------------------------------------------
// The orchestrator's state.

type orchConfig struct {
	listen, keyFile, lpnode  string
	pricePerUnit, pixelsPer  int64
	ticketEV, faceValue      *big.Int
	block, expirationBlocks  uint64
	round                    int64
	roundBlockHash           []byte
	ffmpeg, ffprobe, preset  string
	maxTranscodes            int
	holdAnswer               time.Duration
	tokenLifetime            time.Duration
	maxSegmentBytes          int64
	keepRenditionsPerSession int
}

type orchSession struct {
	sender     string
	expiration int64
	ended      bool
}

type orchSenderBook struct {
	Payments int64  `json:"payments"`
	Tickets  int64  `json:"tickets"`
	EV       string `json:"ev"`
	ev       *big.Rat
}

type orchSegmentRecord struct {
	Seq      int64    `json:"seq"`
	Proto    string   `json:"proto"`
	Session  string   `json:"session"`
	Sender   string   `json:"sender"`
	Tickets  int      `json:"tickets"`
	Profiles []string `json:"profiles"`
	Pixels   []int64  `json:"pixels"`
	Status   int      `json:"status"`
	Error    string   `json:"error,omitempty"`
	Seconds  float64  `json:"transcode_seconds"`
	HeaderMS int64    `json:"status_sent_ms"` // request start -> 200 flushed
	TotalMS  int64    `json:"answered_ms"`    // request start -> TranscodeResult written
}

type orchState struct {
	cfg     orchConfig
	address []byte
	addrStr string
	service string // host:port
	base    string // https://host:port
	signer  *Signer
	secret  []byte // auth tokens' HMAC key
	randKey []byte // recipientRand = keccak(randKey || seed)
	tmp     string
	sem     chan struct{}
	grpcSrv *grpc.Server
	mux     *http.ServeMux

	mu              sync.Mutex
	sessions        map[string]*orchSession
	issuedRand      map[string]bool            // recipientRandHash hex -> issued here
	nonces          map[string]map[uint32]bool // recipientRandHash hex -> nonces seen
	renditions      map[string][]byte          // session/profile/seq -> bytes
	renditionOrder  map[string][]string        // session -> keys, oldest first
	senders         map[string]*orchSenderBook
	segments        []orchSegmentRecord
	segmentProtos   map[string]int
	grpcCalls       map[string]int
	grpcProtos      map[string]int
	downloads       int
	downloadProtos  map[string]int
	downloadMisses  int
	ticketProblems  map[string]int
	rejections      map[string]int
	tickets         int64
	payments        int64
	ev              *big.Rat
	sessionsEnded   int
	transcodeErrors int
}

func orchMain(args []string) int {
	fs := flag.NewFlagSet("orchestrator", flag.ContinueOnError)
	var cfg orchConfig
	var ticketEV, faceValue, roundHash string
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:0", "TLS address to listen on (gRPC + HTTPS)")
	fs.StringVar(&cfg.keyFile, "key-file", "", "the judge's key (for lpnode pm address / sign-message)")
	fs.StringVar(&cfg.lpnode, "lpnode", "lpnode", "the lpnode binary (signing oracle)")
	fs.Int64Var(&cfg.pricePerUnit, "price-per-unit", 1, "wei per --pixels-per-unit pixels")
	fs.Int64Var(&cfg.pixelsPer, "pixels-per-unit", 1, "pixels the price is for")
	fs.StringVar(&ticketEV, "ticket-ev", "1000000000000", "expected value of one ticket, wei")
	fs.StringVar(&faceValue, "face-value", "1000000000000000", "ticket face value, wei")
	fs.Uint64Var(&cfg.block, "block", 100, "the current block of the gateway's ledger")
	fs.Uint64Var(&cfg.expirationBlocks, "expiration-blocks", 40, "ticket params live this many blocks")
	fs.Int64Var(&cfg.round, "round", 1, "the current round (creation round of tickets)")
	fs.StringVar(&roundHash, "round-block-hash", "", "the round's block hash, 0x hex (default: 32 zero bytes)")
	fs.StringVar(&cfg.ffmpeg, "ffmpeg", "ffmpeg", "ffmpeg binary")
	fs.StringVar(&cfg.ffprobe, "ffprobe", "ffprobe", "ffprobe binary")
	fs.StringVar(&cfg.preset, "preset", "ultrafast", "x264 preset")
	fs.IntVar(&cfg.maxTranscodes, "max-transcodes", 0, "ffmpeg runs at once (default: CPUs, at least 2)")
	fs.DurationVar(&cfg.holdAnswer, "hold-answer", 0, "answer no earlier than this after the request "+
		"arrived (the 200 still goes out at once): a slow transcoder, to test that the gateway takes "+
		"the early 200 as the end of its upload")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...interface{}) int {
		fmt.Fprintf(os.Stderr, "lpjudge orchestrator: "+format+"\n", a...)
		return 1
	}
	if cfg.keyFile == "" {
		return fail("--key-file is required")
	}
	var ok bool
	if cfg.ticketEV, ok = new(big.Int).SetString(ticketEV, 10); !ok || cfg.ticketEV.Sign() <= 0 {
		return fail("bad --ticket-ev %q", ticketEV)
	}
	if cfg.faceValue, ok = new(big.Int).SetString(faceValue, 10); !ok || cfg.faceValue.Cmp(cfg.ticketEV) < 0 {
		return fail("bad --face-value %q (at least --ticket-ev)", faceValue)
	}
	cfg.roundBlockHash = make([]byte, 32)
	if roundHash != "" {
		h, err := DecodeHex(roundHash)
		if err != nil || len(h) != 32 {
			return fail("bad --round-block-hash %q", roundHash)
		}
		cfg.roundBlockHash = h
	}
	if cfg.maxTranscodes <= 0 {
		cfg.maxTranscodes = runtime.NumCPU()
		if cfg.maxTranscodes < 2 {
			cfg.maxTranscodes = 2
		}
	}
	cfg.tokenLifetime = 30 * time.Minute
	cfg.maxSegmentBytes = 300 << 20
	cfg.keepRenditionsPerSession = 64

	signer, err := NewSigner(cfg.lpnode, cfg.keyFile)
	if err != nil {
		return fail("%v", err)
	}
	defer signer.Close()
	address := signer.Address
	// The oracle must work before anyone is told we are up.
	if _, err := signer.Sign([]byte("lpjudge")); err != nil {
		return fail("%v", err)
	}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fail("listen %s: %v", cfg.listen, err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	cert, err := orchSelfSigned(host)
	if err != nil {
		return fail("certificate: %v", err)
	}
	tmp, err := os.MkdirTemp("", "lpjudge-orch-")
	if err != nil {
		return fail("temp dir: %v", err)
	}
	defer os.RemoveAll(tmp)

	o := &orchState{
		cfg:            cfg,
		address:        address,
		addrStr:        ChecksumAddress(address),
		service:        net.JoinHostPort(host, port),
		signer:         signer,
		secret:         orchRandom(32),
		randKey:        orchRandom(32),
		tmp:            tmp,
		sem:            make(chan struct{}, cfg.maxTranscodes),
		sessions:       map[string]*orchSession{},
		issuedRand:     map[string]bool{},
		nonces:         map[string]map[uint32]bool{},
		renditions:     map[string][]byte{},
		renditionOrder: map[string][]string{},
		senders:        map[string]*orchSenderBook{},
		segmentProtos:  map[string]int{},
		grpcCalls:      map[string]int{},
		grpcProtos:     map[string]int{},
		downloadProtos: map[string]int{},
		ticketProblems: map[string]int{},
		rejections:     map[string]int{},
		ev:             new(big.Rat),
	}
	o.base = "https://" + o.service
	o.grpcSrv = grpc.NewServer(grpc.MaxRecvMsgSize(1 << 20))
	lpnet.RegisterOrchestratorServer(o.grpcSrv, &orchRPC{o: o})
	o.mux = http.NewServeMux()
	o.mux.HandleFunc("/segment", o.serveSegment)
	o.mux.HandleFunc("/stream/", o.serveRendition)
	o.mux.HandleFunc("/judge/summary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(o.summaryJSON())
	})

	srv := &http.Server{
		Handler: o,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"h2", "http/1.1"},
		},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          nil,
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()

	hello, _ := json.Marshal(map[string]string{
		"address": o.addrStr, "service": o.service, "transcoder": o.base,
	})
	fmt.Println(string(hello))
	os.Stdout.Sync()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	rc := 0
	select {
	case <-sigs:
	case err := <-served:
		fmt.Fprintf(os.Stderr, "lpjudge orchestrator: server: %v\n", err)
		rc = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	srv.Shutdown(ctx)
	cancel()
	os.Stdout.Write(append(o.summaryJSON(), '\n'))
	return rc
}

func orchRandom(n int) []byte {
	b := make([]byte, n)
	if _, err := crand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// ServeHTTP routes as go-livepeer's server: gRPC over HTTP/2 by its content type, the rest to
// the HTTP handlers.
func (o *orchState) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		method := r.URL.Path
		if i := strings.LastIndex(method, "/"); i >= 0 {
			method = method[i+1:]
		}
		o.mu.Lock()
		o.grpcCalls[method]++
		o.grpcProtos[r.Proto]++
		o.mu.Unlock()
		o.grpcSrv.ServeHTTP(w, r)
		return
	}
	o.mux.ServeHTTP(w, r)
}

// ---------------------------------------------------------------------------------------------
// OrchestratorInfo: ticket params, price, auth token.

func orchMinimalBE(v *big.Int) []byte { return v.Bytes() } // big.Int.Bytes(): zero is empty

func (o *orchState) ticketParams() *lpnet.TicketParams {
	seed := orchRandom(32)
	rand := Keccak256(o.randKey, seed)
	randHash := Keccak256(rand)
	o.mu.Lock()
	o.issuedRand[hex.EncodeToString(randHash)] = true
	o.mu.Unlock()
	exp := new(big.Int).SetUint64(o.cfg.block + o.cfg.expirationBlocks)
	return &lpnet.TicketParams{
		Recipient:         o.address,
		FaceValue:         orchMinimalBE(o.cfg.faceValue),
		WinProb:           orchMinimalBE(orchWinProb(o.cfg.faceValue, o.cfg.ticketEV)),
		RecipientRandHash: randHash,
		Seed:              orchMinimalBE(new(big.Int).SetBytes(seed)),
		ExpirationBlock:   orchMinimalBE(exp),
		ExpirationParams: &lpnet.TicketExpirationParams{
			CreationRound:          o.cfg.round,
			CreationRoundBlockHash: o.cfg.roundBlockHash,
		},
	}
}

func (o *orchState) tokenMAC(session string, expiration int64) []byte {
	m := hmac.New(sha256.New, o.secret)
	m.Write([]byte(session))
	m.Write(orchMinimalBE(big.NewInt(expiration)))
	return m.Sum(nil)
}

func (o *orchState) newToken(sender string) *lpnet.AuthToken {
	id := hex.EncodeToString(orchRandom(16))
	exp := time.Now().Add(o.cfg.tokenLifetime).Unix()
	o.mu.Lock()
	o.sessions[id] = &orchSession{sender: sender, expiration: exp}
	o.mu.Unlock()
	return &lpnet.AuthToken{Token: o.tokenMAC(id, exp), SessionId: id, Expiration: exp}
}

// checkToken: "" when the token is one of ours, for a live session, not expired.
func (o *orchState) checkToken(t *lpnet.AuthToken) string {
	if t == nil || !hmac.Equal(t.Token, o.tokenMAC(t.SessionId, t.Expiration)) {
		return "invalid auth token"
	}
	if time.Now().Unix() > t.Expiration {
		return "expired auth token"
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if s, ok := o.sessions[t.SessionId]; !ok || s.ended {
		return "invalid auth token"
	}
	return ""
}

func (o *orchState) capabilities() *lpnet.Capabilities {
	// H264, MPEGTS, fractional frame rates, the four H.264 profiles, GOP, AuthToken (go-livepeer's
	// capability numbers); AuthToken is mandatory.
	var word uint64
	for _, c := range []uint{0, 1, 3, 7, 8, 9, 10, 11, 12} {
		word |= 1 << c
	}
	return &lpnet.Capabilities{Bitstring: []uint64{word}, Mandatories: []uint64{1 << 12}}
}

func (o *orchState) info(token *lpnet.AuthToken) *lpnet.OrchestratorInfo {
	return &lpnet.OrchestratorInfo{
		Transcoder:   o.base,
		TicketParams: o.ticketParams(),
		PriceInfo:    &lpnet.PriceInfo{PricePerUnit: o.cfg.pricePerUnit, PixelsPerUnit: o.cfg.pixelsPer},
		Address:      o.address,
		Capabilities: o.capabilities(),
		AuthToken:    token,
	}
}

type orchRPC struct {
	lpnet.UnimplementedOrchestratorServer
	o *orchState
}

func (s *orchRPC) GetOrchestrator(ctx context.Context, req *lpnet.OrchestratorRequest) (*lpnet.OrchestratorInfo, error) {
	// The request's signature is not recovered (no secp256k1 here); its shape is checked.
	if len(req.Address) != 20 || len(req.Sig) != 65 {
		s.o.reject("get_orchestrator_bad_request")
		return nil, status.Error(codes.Unknown, "Invalid orchestrator request: orchestrator req sig check failed")
	}
	return s.o.info(s.o.newToken(ChecksumAddress(req.Address))), nil
}

func (s *orchRPC) Ping(ctx context.Context, req *lpnet.PingPong) (*lpnet.PingPong, error) {
	sig, err := s.o.signer.Sign(req.Value)
	if err != nil {
		return nil, status.Error(codes.Unknown, err.Error())
	}
	return &lpnet.PingPong{Value: sig}, nil
}

func (s *orchRPC) EndTranscodingSession(ctx context.Context, req *lpnet.EndTranscodingSessionRequest) (*lpnet.EndTranscodingSessionResponse, error) {
	t := req.AuthToken
	if t == nil || !hmac.Equal(t.Token, s.o.tokenMAC(t.SessionId, t.Expiration)) {
		s.o.reject("end_session_bad_token")
		return nil, status.Error(codes.Unknown, "Invalid auth token")
	}
	o := s.o
	o.mu.Lock()
	if sess, ok := o.sessions[t.SessionId]; ok && !sess.ended {
		sess.ended = true
		o.sessionsEnded++
		for _, k := range o.renditionOrder[t.SessionId] {
			delete(o.renditions, k)
		}
		delete(o.renditionOrder, t.SessionId)
	}
	o.mu.Unlock()
	return &lpnet.EndTranscodingSessionResponse{}, nil
}

func (o *orchState) reject(why string) {
	o.mu.Lock()
	o.rejections[why]++
	o.mu.Unlock()
}

// ---------------------------------------------------------------------------------------------
// POST /segment

func orchHTTPError(w http.ResponseWriter, code int, text string) {
	http.Error(w, text, code) // Go's http.Error, as go-livepeer answers
}

func (o *orchState) serveSegment(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := orchSegmentRecord{Proto: r.Proto, Seq: -1}
	record := func(code int, errText string) {
		rec.Status = code
		rec.Error = errText
		rec.TotalMS = time.Since(start).Milliseconds()
		o.mu.Lock()
		o.segments = append(o.segments, rec)
		o.segmentProtos[r.Proto]++
		if code != http.StatusOK {
			o.rejections[fmt.Sprintf("segment_%d", code)]++
		} else if errText != "" {
			o.transcodeErrors++
		}
		o.mu.Unlock()
	}
	if r.Method != http.MethodPost {
		orchHTTPError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	var payment lpnet.Payment
	if err := DecodeHeader(r.Header.Get(PaymentHeader), &payment); err != nil {
		orchHTTPError(w, http.StatusPaymentRequired, err.Error())
		record(http.StatusPaymentRequired, "payment header: "+err.Error())
		return
	}
	var seg lpnet.SegData
	if err := DecodeHeader(r.Header.Get(SegmentHeader), &seg); err != nil {
		orchHTTPError(w, http.StatusForbidden, "ErrorSegEncoding")
		record(http.StatusForbidden, "segment header: "+err.Error())
		return
	}
	rec.Seq = seg.Seq
	if seg.AuthToken != nil {
		rec.Session = seg.AuthToken.SessionId
	}
	if len(payment.Sender) == 20 {
		rec.Sender = ChecksumAddress(payment.Sender)
	}
	if len(seg.Sig) != 65 {
		orchHTTPError(w, http.StatusForbidden, "ErrSegSig")
		record(http.StatusForbidden, "segment signature is not 65 bytes")
		return
	}
	if why := o.checkToken(seg.AuthToken); why != "" {
		orchHTTPError(w, http.StatusForbidden, why)
		record(http.StatusForbidden, why)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, o.cfg.maxSegmentBytes))
	if err != nil {
		orchHTTPError(w, http.StatusBadRequest, "BadRequest")
		record(http.StatusBadRequest, "body: "+err.Error())
		return
	}
	if !bytes.Equal(Keccak256(body), seg.Hash) {
		orchHTTPError(w, http.StatusForbidden, "Forbidden")
		record(http.StatusForbidden, "the body's keccak256 is not SegData.hash")
		return
	}
	profiles := seg.FullProfiles3
	if len(profiles) == 0 {
		profiles = seg.FullProfiles2
	}
	if len(profiles) == 0 {
		profiles = seg.FullProfiles
	}
	if len(profiles) == 0 {
		orchHTTPError(w, http.StatusForbidden, "no profiles")
		record(http.StatusForbidden, "no profiles in SegData")
		return
	}
	rec.Tickets = o.receivePayment(&payment)

	// 200 now, the result when the transcode is done (go-livepeer flushes the status to end the
	// upload).
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	rec.HeaderMS = time.Since(start).Milliseconds()
	t0 := time.Now()
	result := &lpnet.TranscodeResult{Seq: seg.Seq}
	renditions, terr := o.transcode(body, profiles)
	rec.Seconds = time.Since(t0).Seconds()
	errText := ""
	if terr != nil {
		errText = terr.Error()
		result.Result = &lpnet.TranscodeResult_Error{Error: errText}
	} else {
		data := &lpnet.TranscodeData{}
		var hashes []byte
		for i, p := range profiles {
			hashes = append(hashes, Keccak256(renditions[i].bytes)...)
			key := o.storeRendition(seg.AuthToken.SessionId, p.Name, seg.Seq, renditions[i].bytes)
			data.Segments = append(data.Segments, &lpnet.TranscodedSegmentData{
				Url:    o.base + "/stream/" + key,
				Pixels: renditions[i].pixels,
			})
			rec.Profiles = append(rec.Profiles, p.Name)
			rec.Pixels = append(rec.Pixels, renditions[i].pixels)
		}
		sig, err := o.signer.Sign(hashes)
		if err != nil {
			errText = err.Error()
			result.Result = &lpnet.TranscodeResult_Error{Error: errText}
		} else {
			data.Sig = sig
			result.Result = &lpnet.TranscodeResult_Data{Data: data}
		}
	}
	if wait := o.cfg.holdAnswer - time.Since(start); wait > 0 {
		time.Sleep(wait)
	}
	// Fresh ticket params for the same session, as go-livepeer's answer carries.
	result.Info = o.info(seg.AuthToken)
	buf, err := proto.Marshal(result)
	if err == nil {
		_, err = w.Write(buf)
	}
	if err != nil && errText == "" {
		errText = "writing the answer: " + err.Error()
	}
	record(http.StatusOK, errText)
}

// receivePayment counts a payment's tickets and their EV for its sender; returns the tickets.
func (o *orchState) receivePayment(p *lpnet.Payment) int {
	sender := "none"
	if len(p.Sender) == 20 {
		sender = ChecksumAddress(p.Sender)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.payments++
	book := o.senders[sender]
	if book == nil {
		book = &orchSenderBook{ev: new(big.Rat)}
		o.senders[sender] = book
	}
	book.Payments++
	if p.ExpectedPrice == nil || p.ExpectedPrice.PricePerUnit != o.cfg.pricePerUnit ||
		p.ExpectedPrice.PixelsPerUnit != o.cfg.pixelsPer {
		o.ticketProblems["expected_price_mismatch"]++
	}
	tp := p.TicketParams
	if tp == nil {
		return 0 // the credit covers the fee: sender and expected price only
	}
	if p.ExpirationParams == nil {
		o.ticketProblems["no_expiration_params"]++
	}
	if !bytes.Equal(tp.Recipient, o.address) {
		o.ticketProblems["wrong_recipient"]++
	}
	randHash := hex.EncodeToString(tp.RecipientRandHash)
	if !o.issuedRand[randHash] {
		o.ticketProblems["unknown_recipient_rand_hash"]++
	}
	fv := new(big.Int).SetBytes(tp.FaceValue)
	wp := new(big.Int).SetBytes(tp.WinProb)
	if fv.Cmp(o.cfg.faceValue) != 0 || wp.Cmp(orchWinProb(o.cfg.faceValue, o.cfg.ticketEV)) != 0 {
		o.ticketProblems["params_changed"]++
	}
	ev := TicketEV(fv, wp)
	seen := o.nonces[randHash]
	if seen == nil {
		seen = map[uint32]bool{}
		o.nonces[randHash] = seen
	}
	n := 0
	for _, t := range p.TicketSenderParams {
		if seen[t.SenderNonce] {
			o.ticketProblems["nonce_reused"]++
			continue
		}
		if len(t.Sig) != 65 {
			o.ticketProblems["bad_signature_length"]++
			continue
		}
		seen[t.SenderNonce] = true
		n++
		book.Tickets++
		book.ev.Add(book.ev, ev)
		o.tickets++
		o.ev.Add(o.ev, ev)
	}
	return n
}

// ---------------------------------------------------------------------------------------------
// Transcoding with ffmpeg.

type orchRendition struct {
	bytes  []byte
	pixels int64
}

type orchProbe struct {
	width, height  int
	fpsNum, fpsDen int
	frames         int64
}

func (o *orchState) probe(path string) (orchProbe, error) {
	out, err := exec.Command(o.cfg.ffprobe, "-v", "error", "-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=width,height,r_frame_rate,nb_read_packets", "-of", "json", path).Output()
	if err != nil {
		return orchProbe{}, fmt.Errorf("ffprobe %s: %v", filepath.Base(path), err)
	}
	var v struct {
		Streams []struct {
			Width     int    `json:"width"`
			Height    int    `json:"height"`
			Rate      string `json:"r_frame_rate"`
			NbPackets string `json:"nb_read_packets"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &v); err != nil || len(v.Streams) == 0 {
		return orchProbe{}, fmt.Errorf("ffprobe %s: no video stream", filepath.Base(path))
	}
	s := v.Streams[0]
	p := orchProbe{width: s.Width, height: s.Height, fpsDen: 1}
	if parts := strings.SplitN(s.Rate, "/", 2); len(parts) == 2 {
		p.fpsNum, _ = strconv.Atoi(parts[0])
		p.fpsDen, _ = strconv.Atoi(parts[1])
		if p.fpsDen <= 0 {
			p.fpsDen = 1
		}
	}
	p.frames, _ = strconv.ParseInt(s.NbPackets, 10, 64)
	return p, nil
}

var orchH264Profiles = map[lpnet.VideoProfile_Profile]string{
	lpnet.VideoProfile_H264_BASELINE:         "baseline",
	lpnet.VideoProfile_H264_MAIN:             "main",
	lpnet.VideoProfile_H264_HIGH:             "high",
	lpnet.VideoProfile_H264_CONSTRAINED_HIGH: "high",
}

func (o *orchState) transcode(body []byte, profiles []*lpnet.VideoProfile) ([]orchRendition, error) {
	o.sem <- struct{}{}
	defer func() { <-o.sem }()
	dir, err := os.MkdirTemp(o.tmp, "seg-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "in.ts")
	if err := os.WriteFile(in, body, 0o600); err != nil {
		return nil, err
	}
	src, err := o.probe(in)
	if err != nil {
		return nil, err
	}
	srcFPS := 0.0
	if src.fpsNum > 0 {
		srcFPS = float64(src.fpsNum) / float64(src.fpsDen)
	}
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-sws_flags", "bilinear", "-i", in}
	outs := make([]string, len(profiles))
	for i, p := range profiles {
		w, h := int(p.Width), int(p.Height)
		if src.height > src.width && w > h { // a portrait source: the profile turned
			w, h = h, w
		}
		if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
			return nil, fmt.Errorf("profile %s: unsupported size %dx%d", p.Name, p.Width, p.Height)
		}
		filters := []string{fmt.Sprintf("scale=%d:%d", w, h)}
		fpsArgs := []string{"-fps_mode", "passthrough"}
		if p.Fps > 0 {
			den := p.FpsDen
			if den == 0 {
				den = 1
			}
			want := float64(p.Fps) / float64(den)
			if srcFPS > 1.05*want { // a lower frame rate than the source's
				filters = append([]string{fmt.Sprintf("fps=%d/%d", p.Fps, den)}, filters...)
				fpsArgs = []string{"-fps_mode", "cfr"}
			}
		}
		outs[i] = filepath.Join(dir, fmt.Sprintf("out%d.ts", i))
		args = append(args, "-map", "0:v:0", "-map", "0:a?", "-c:a", "copy",
			"-vf", strings.Join(filters, ","), "-c:v", "libx264", "-preset", o.cfg.preset,
			"-pix_fmt", "yuv420p")
		args = append(args, fpsArgs...)
		if p.Bitrate > 0 {
			args = append(args, "-b:v", strconv.Itoa(int(p.Bitrate)))
		}
		if name, ok := orchH264Profiles[p.Profile]; ok {
			args = append(args, "-profile:v", name)
		}
		if p.Gop < 0 {
			args = append(args, "-g", "1")
		} else if p.Gop > 0 && srcFPS > 0 {
			g := int(float64(p.Gop) / 1000.0 * srcFPS)
			if g < 1 {
				g = 1
			}
			args = append(args, "-g", strconv.Itoa(g))
		}
		args = append(args, "-copyts", "-muxdelay", "0", "-f", "mpegts", outs[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.cfg.ffmpeg, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[len(msg)-300:]
		}
		return nil, fmt.Errorf("ffmpeg: %v: %s", err, msg)
	}
	renditions := make([]orchRendition, len(profiles))
	for i := range profiles {
		b, err := os.ReadFile(outs[i])
		if err != nil {
			return nil, err
		}
		pr, err := o.probe(outs[i])
		if err != nil {
			return nil, err
		}
		// Pixels as go-livepeer counts them: width x height of every encoded frame.
		renditions[i] = orchRendition{bytes: b, pixels: int64(pr.width) * int64(pr.height) * pr.frames}
	}
	return renditions, nil
}

// ---------------------------------------------------------------------------------------------
// Renditions: kept in memory, served under /stream/<session>/<profile>/<seq>.ts.

func (o *orchState) storeRendition(session, profile string, seq int64, b []byte) string {
	key := url.PathEscape(session) + "/" + url.PathEscape(profile) + "/" + strconv.FormatInt(seq, 10) + ".ts"
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.renditions[key]; !ok {
		o.renditionOrder[session] = append(o.renditionOrder[session], key)
	}
	o.renditions[key] = b
	if order := o.renditionOrder[session]; len(order) > o.cfg.keepRenditionsPerSession {
		delete(o.renditions, order[0])
		o.renditionOrder[session] = order[1:]
	}
	return key
}

func (o *orchState) serveRendition(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		orchHTTPError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	key := strings.TrimPrefix(r.URL.EscapedPath(), "/stream/")
	o.mu.Lock()
	b, ok := o.renditions[key]
	if ok {
		o.downloads++
		o.downloadProtos[r.Proto]++
	} else {
		o.downloadMisses++
	}
	o.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "video/mp2t")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// ---------------------------------------------------------------------------------------------
// The summary.

func (o *orchState) summaryJSON() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	senders := map[string]orchSenderBook{}
	for k, b := range o.senders {
		c := *b
		c.EV = RatString(b.ev)
		senders[k] = c
	}
	segs := append([]orchSegmentRecord(nil), o.segments...)
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].Seq < segs[j].Seq })
	copyMap := func(m map[string]int) map[string]int {
		out := map[string]int{}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	s := map[string]interface{}{
		"address":            o.addrStr,
		"service":            o.service,
		"segments":           len(o.segments),
		"segment_protocols":  copyMap(o.segmentProtos),
		"segment_list":       segs,
		"transcode_errors":   o.transcodeErrors,
		"rejections":         copyMap(o.rejections),
		"payments":           o.payments,
		"tickets":            o.tickets,
		"ev":                 RatString(o.ev),
		"senders":            senders,
		"ticket_problems":    copyMap(o.ticketProblems),
		"get_orchestrator":   o.grpcCalls["GetOrchestrator"],
		"grpc_calls":         copyMap(o.grpcCalls),
		"grpc_protocols":     copyMap(o.grpcProtos),
		"downloads":          o.downloads,
		"download_protocols": copyMap(o.downloadProtos),
		"download_misses":    o.downloadMisses,
		"sessions":           len(o.sessions),
		"sessions_ended":     o.sessionsEnded,
	}
	b, err := json.Marshal(s)
	if err != nil {
		return []byte(`{"error":` + strconv.Quote(err.Error()) + `}`)
	}
	return b
}
