// lpjudge gateway: a gateway as go-livepeer's broadcaster behaves towards one orchestrator:
// GetOrchestrator over gRPC (TLS, no certificate check), POST /segment with the Livepeer-Payment
// and Livepeer-Segment headers over HTTP/2 or HTTP/1.1, renditions downloaded from the result's
// URLs, a session refreshed every N segments through OrchestratorInfo.transcoder, and the
// books kept as go-livepeer keeps them: a credit per orchestrator session (the auth token's
// session id), tickets only when the credit does not cover max(fee estimate, ticket EV), the
// fee for the pixels the orchestrator reports taken off after each result.
//
// It prints one JSON object on stdout (the segments, the tickets, the books and the refreshes);
// on any error it prints what it has with an "error" field and exits 1.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"lpgen/lpnet"
)

func init() { commands["gateway"] = runGateway }

type gwSegment struct {
	Seq        int64    `json:"seq"`
	File       string   `json:"file"`
	Session    string   `json:"session"`
	Status     int      `json:"status"`
	Proto      string   `json:"proto"`
	Tickets    int      `json:"tickets"`
	FeeEst     string   `json:"fee_estimate"`
	Fee        string   `json:"fee"`
	Credit     string   `json:"credit_after"`
	Renditions []string `json:"renditions"`
	Pixels     int64    `json:"pixels"`
}

type gwRefresh struct {
	BeforeSeq int64  `json:"before_seq"`
	Target    string `json:"target"`  // host:port GetOrchestrator was sent to
	Session   string `json:"session"` // the new session's id
}

type gwReport struct {
	Orchestrator     string      `json:"orchestrator"` // its address (EIP-55)
	Gateway          string      `json:"gateway"`
	Transcoder       string      `json:"transcoder"` // OrchestratorInfo.transcoder at the start
	HTTP             string      `json:"http"`
	Segments         []gwSegment `json:"segments"`
	TicketsSent      int         `json:"tickets_sent"`
	TicketedSegments int         `json:"ticketed_segments"`
	TicketlessSegs   int         `json:"ticketless_segments"`
	EVSent           string      `json:"ev_sent"`
	Fees             string      `json:"fees"`
	ExpectedCredit   string      `json:"expected_credit"`
	Refreshes        []gwRefresh `json:"refreshes"`
	RefreshCount     int         `json:"refresh_count"`
	Sessions         []string    `json:"sessions"`
	Ended            int         `json:"ended"`
	Error            string      `json:"error,omitempty"`
}

type gwSession struct {
	info   *lpnet.OrchestratorInfo
	credit *big.Rat
}

type gateway struct {
	signer   *Signer
	client   *http.Client
	profiles []*lpnet.VideoProfile
	names    []string
	manifest []byte
	segMs    int32
	outDir   string
	nonces   map[string]uint32 // last sender nonce per recipientRandHash (a PM session)
	report   gwReport
	evSent   *big.Rat
	fees     *big.Rat
}

func runGateway(args []string) int {
	fs := flag.NewFlagSet("lpjudge gateway", flag.ContinueOnError)
	orch := fs.String("orch", "", "orchestrator HOST:PORT for the first GetOrchestrator (gRPC over TLS)")
	lpnode := fs.String("lpnode", "lpnode", "the lpnode binary (signing oracle: lpnode pm sign-message)")
	keyFile := fs.String("key-file", "", "the gateway's key file (used only through the oracle)")
	segDir := fs.String("segments", "", "directory of .ts segments, sent in name order, looped to reach --count")
	count := fs.Int("count", 40, "segments to send")
	refreshEvery := fs.Int("refresh-every", 10, "GetOrchestrator again at OrchestratorInfo.transcoder every N segments (0: never)")
	httpVer := fs.Int("http", 2, "the /segment client: 2 (HTTP/2 over ALPN) or 1 (HTTP/1.1 only)")
	profiles := fs.String("profiles", "P240p30fps16x9,P360p30fps16x9", "the ladder: preset names, comma-separated")
	outDir := fs.String("out", "", "directory for the downloaded renditions")
	segMs := fs.Int("segment-ms", 2000, "the segments' duration in milliseconds (SegData.duration and the fee estimate)")
	end := fs.Bool("end", false, "EndTranscodingSession for every session used, at the end")
	timeout := fs.Duration("timeout", 120*time.Second, "limit for each request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *orch == "" || *keyFile == "" || *segDir == "" || *outDir == "" || *count <= 0 || (*httpVer != 1 && *httpVer != 2) {
		fmt.Fprintln(os.Stderr, "lpjudge gateway: --orch, --key-file, --segments and --out are required; --count > 0; --http 1 or 2")
		fs.Usage()
		return 2
	}

	g := &gateway{nonces: map[string]uint32{}, evSent: new(big.Rat), fees: new(big.Rat), segMs: int32(*segMs), outDir: *outDir}
	g.report.HTTP = fmt.Sprint(*httpVer)
	fail := func(format string, a ...interface{}) int {
		msg := fmt.Sprintf(format, a...)
		g.report.Error = msg
		g.finishReport()
		json.NewEncoder(os.Stdout).Encode(&g.report)
		fmt.Fprintln(os.Stderr, "lpjudge gateway: "+msg)
		return 1
	}

	for _, n := range strings.Split(*profiles, ",") {
		p, err := PresetProfile(strings.TrimSpace(n))
		if err != nil {
			return fail("--profiles: %v", err)
		}
		g.profiles = append(g.profiles, p)
		g.names = append(g.names, p.Name)
	}
	files, err := filepath.Glob(filepath.Join(*segDir, "*.ts"))
	if err != nil || len(files) == 0 {
		return fail("no .ts files in %s", *segDir)
	}
	sort.Strings(files)
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return fail("--out: %v", err)
	}
	rnd := make([]byte, 6)
	rand.Read(rnd)
	g.manifest = []byte("judge-" + hex.EncodeToString(rnd))

	g.signer, err = NewSigner(*lpnode, *keyFile)
	if err != nil {
		return fail("%v", err)
	}
	defer g.signer.Close()
	g.report.Gateway = ChecksumAddress(g.signer.Address)

	tr := &http.Transport{TLSClientConfig: InsecureTLS(), MaxIdleConnsPerHost: 4}
	if *httpVer == 2 {
		tr.ForceAttemptHTTP2 = true
	} else {
		// A non-nil empty map: no ALPN h2, only HTTP/1.1 is offered.
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	g.client = &http.Client{Transport: tr, Timeout: *timeout}

	sess, err := g.getOrchestrator(*orch, *timeout)
	if err != nil {
		return fail("GetOrchestrator at %s: %v", *orch, err)
	}
	g.report.Transcoder = sess.info.Transcoder
	g.report.Orchestrator = ChecksumAddress(sess.info.Address)
	all := []*gwSession{sess}

	for i := 0; i < *count; i++ {
		if *refreshEvery > 0 && i > 0 && i%*refreshEvery == 0 {
			// go-livepeer refreshes a session at the address the orchestrator gave for it.
			target, err := HostPort(sess.info.Transcoder)
			if err != nil {
				return fail("refresh before seq %d: OrchestratorInfo.transcoder: %v", i, err)
			}
			ns, err := g.getOrchestrator(target, *timeout)
			if err != nil {
				return fail("refresh before seq %d: GetOrchestrator at %s: %v", i, target, err)
			}
			sess = ns
			all = append(all, sess)
			g.report.Refreshes = append(g.report.Refreshes, gwRefresh{int64(i), target, sess.info.AuthToken.GetSessionId()})
		}
		file := files[i%len(files)]
		seg, err := g.sendSegment(sess, int64(i), file)
		if seg != nil {
			g.report.Segments = append(g.report.Segments, *seg)
		}
		if err != nil {
			return fail("segment %d (%s): %v", i, filepath.Base(file), err)
		}
		fmt.Fprintf(os.Stderr, "lpjudge gateway: seq %d %s %d tickets, %d pixels, credit %s\n", i, seg.Proto, seg.Tickets, seg.Pixels, seg.Credit)
	}

	if *end {
		for _, s := range all {
			target, err := HostPort(sess.info.Transcoder)
			if err != nil {
				return fail("EndTranscodingSession: %v", err)
			}
			if err := endSession(target, s.info.AuthToken, *timeout); err != nil {
				return fail("EndTranscodingSession at %s for session %s: %v", target, s.info.AuthToken.GetSessionId(), err)
			}
			g.report.Ended++
		}
	}
	g.finishReport()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(&g.report); err != nil {
		return 1
	}
	return 0
}

func (g *gateway) finishReport() {
	g.report.EVSent = RatString(g.evSent)
	g.report.Fees = RatString(g.fees)
	g.report.ExpectedCredit = RatString(new(big.Rat).Sub(g.evSent, g.fees))
	g.report.RefreshCount = len(g.report.Refreshes)
}

// getOrchestrator asks hostport for an OrchestratorInfo: a new session, with its credit at 0.
func (g *gateway) getOrchestrator(hostport string, timeout time.Duration) (*gwSession, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, client, err := DialOrchestrator(ctx, hostport)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// go-livepeer's gateway signs its EIP-55 address string.
	sig, err := g.signer.Sign([]byte(ChecksumAddress(g.signer.Address)))
	if err != nil {
		return nil, err
	}
	info, err := client.GetOrchestrator(ctx, &lpnet.OrchestratorRequest{Address: g.signer.Address, Sig: sig, Capabilities: H264JobCapabilities()})
	if err != nil {
		return nil, err
	}
	if info.Transcoder == "" || info.AuthToken == nil || info.AuthToken.SessionId == "" {
		return nil, fmt.Errorf("OrchestratorInfo without transcoder or auth token: %v", info)
	}
	if len(info.Address) != 20 {
		return nil, fmt.Errorf("OrchestratorInfo.address is %d bytes", len(info.Address))
	}
	g.report.Sessions = append(g.report.Sessions, info.AuthToken.SessionId)
	return &gwSession{info: info, credit: new(big.Rat)}, nil
}

func endSession(hostport string, token *lpnet.AuthToken, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, client, err := DialOrchestrator(ctx, hostport)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = client.EndTranscodingSession(ctx, &lpnet.EndTranscodingSessionRequest{AuthToken: token})
	return err
}

// pricePerPixel is pricePerUnit / pixelsPerUnit (0 for a free or malformed price).
func pricePerPixel(p *lpnet.PriceInfo) *big.Rat {
	if p == nil || p.PricePerUnit <= 0 || p.PixelsPerUnit <= 0 {
		return new(big.Rat)
	}
	return big.NewRat(p.PricePerUnit, p.PixelsPerUnit)
}

// estimateFee is go-livepeer's estimate for a segment (as lpnode's gateway, wallet.cpp): per
// profile width x height x ceil(fps / fpsDen) (60 for a passthrough rate) x ceil(duration in s),
// times 1.02, times the price per pixel.
func (g *gateway) estimateFee(price *big.Rat) *big.Rat {
	seconds := (int64(g.segMs) + 999) / 1000
	pixels := new(big.Int)
	for _, p := range g.profiles {
		fps := int64(60)
		if p.Fps > 0 {
			den := int64(p.FpsDen)
			if den < 1 {
				den = 1
			}
			fps = (int64(p.Fps) + den - 1) / den
		}
		pixels.Add(pixels, big.NewInt(int64(p.Width)*int64(p.Height)*fps*seconds))
	}
	fee := new(big.Rat).SetInt(pixels)
	fee.Mul(fee, big.NewRat(102, 100))
	return fee.Mul(fee, price)
}

// payment builds the Payment for a segment of estimated fee `fee`: tickets until the session's
// credit covers max(fee, ticket EV) (go-livepeer's balance update), none when it already does.
func (g *gateway) payment(s *gwSession, fee *big.Rat) (*lpnet.Payment, int, *big.Rat, error) {
	pay := &lpnet.Payment{Sender: g.signer.Address, ExpectedPrice: s.info.PriceInfo}
	tp := s.info.TicketParams
	if tp == nil {
		return pay, 0, new(big.Rat), nil // offchain or free: no ticket params offered
	}
	face, win := BigFromBytes(tp.FaceValue), BigFromBytes(tp.WinProb)
	ev := TicketEV(face, win)
	if ev.Sign() <= 0 {
		return nil, 0, nil, fmt.Errorf("ticket params with zero expected value")
	}
	minCredit := fee
	if ev.Cmp(minCredit) > 0 {
		minCredit = ev
	}
	if s.credit.Cmp(minCredit) >= 0 {
		return pay, 0, new(big.Rat), nil
	}
	n := CeilRat(new(big.Rat).Quo(new(big.Rat).Sub(minCredit, s.credit), ev))
	if !n.IsInt64() || n.Int64() > 600 {
		return nil, 0, nil, fmt.Errorf("%s tickets needed for one segment: ticket EV %s too small for the price", n, RatString(ev))
	}
	count := int(n.Int64())
	exp := tp.ExpirationParams
	if exp == nil {
		return nil, 0, nil, fmt.Errorf("ticket params without expiration params")
	}
	pay.TicketParams = &lpnet.TicketParams{Recipient: tp.Recipient, FaceValue: tp.FaceValue, WinProb: tp.WinProb,
		RecipientRandHash: tp.RecipientRandHash, Seed: tp.Seed, ExpirationBlock: tp.ExpirationBlock}
	pay.ExpirationParams = &lpnet.TicketExpirationParams{CreationRound: exp.CreationRound, CreationRoundBlockHash: exp.CreationRoundBlockHash}
	key := hex.EncodeToString(tp.RecipientRandHash)
	for k := 0; k < count; k++ {
		g.nonces[key]++
		t := Ticket{Recipient: tp.Recipient, Sender: g.signer.Address, FaceValue: face, WinProb: win,
			SenderNonce: g.nonces[key], RecipientRandHash: tp.RecipientRandHash,
			CreationRound: exp.CreationRound, CreationRoundBlockHash: exp.CreationRoundBlockHash}
		sig, err := g.signer.SignTicket(&t)
		if err != nil {
			return nil, 0, nil, err
		}
		pay.TicketSenderParams = append(pay.TicketSenderParams, &lpnet.TicketSenderParams{SenderNonce: t.SenderNonce, Sig: sig})
	}
	return pay, count, new(big.Rat).Mul(ev, new(big.Rat).SetInt64(int64(count))), nil
}

func (g *gateway) sendSegment(s *gwSession, seq int64, file string) (*gwSegment, error) {
	body, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	out := &gwSegment{Seq: seq, File: filepath.Base(file), Session: s.info.AuthToken.SessionId, Renditions: []string{}}
	price := pricePerPixel(s.info.PriceInfo)
	fee := g.estimateFee(price)
	out.FeeEst = RatString(fee)
	pay, tickets, newCredit, err := g.payment(s, fee)
	if err != nil {
		return out, err
	}
	out.Tickets = tickets
	segHash := Keccak256(body)
	sig, err := g.signer.Sign(SegmentFlatten(g.manifest, seq, segHash, g.names))
	if err != nil {
		return out, err
	}
	sd := &lpnet.SegData{ManifestId: g.manifest, Seq: seq, Hash: segHash, Profiles: []byte("invalid"), Sig: sig,
		Duration: g.segMs, Capabilities: H264JobCapabilities(), AuthToken: s.info.AuthToken, FullProfiles3: g.profiles}
	payHdr, err := EncodeHeader(pay)
	if err != nil {
		return out, err
	}
	segHdr, err := EncodeHeader(sd)
	if err != nil {
		return out, err
	}
	req, err := http.NewRequest("POST", strings.TrimRight(s.info.Transcoder, "/")+"/segment", strings.NewReader(string(body)))
	if err != nil {
		return out, err
	}
	req.Header.Set(PaymentHeader, payHdr)
	req.Header.Set(SegmentHeader, segHdr)
	req.Header.Set("Content-Type", "video/MP2T")
	resp, err := g.client.Do(req)
	// Sent: the tickets count as sent whatever comes back (go-livepeer: the credit is spent).
	g.evSent.Add(g.evSent, newCredit)
	g.report.TicketsSent += tickets
	if tickets > 0 {
		g.report.TicketedSegments++
	} else {
		g.report.TicketlessSegs++
	}
	existing := s.credit // reserved for this segment; what is left comes back below
	s.credit = new(big.Rat)
	if err != nil {
		return out, fmt.Errorf("POST /segment: %v", err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	out.Status, out.Proto = resp.StatusCode, resp.Proto
	if err != nil {
		return out, fmt.Errorf("reading the result (%s, status %d): %v", resp.Proto, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("status %d (%s): %q", resp.StatusCode, resp.Proto, strings.TrimSpace(string(data)))
	}
	var res lpnet.TranscodeResult
	if err := proto.Unmarshal(data, &res); err != nil {
		return out, fmt.Errorf("TranscodeResult (%d bytes, Content-Type %q): %v", len(data), resp.Header.Get("Content-Type"), err)
	}
	if e := res.GetError(); e != "" {
		return out, fmt.Errorf("TranscodeResult error: %s", e)
	}
	td := res.GetData()
	if td == nil {
		return out, fmt.Errorf("TranscodeResult without data")
	}
	if res.Seq != seq {
		return out, fmt.Errorf("TranscodeResult for seq %d", res.Seq)
	}
	if len(td.Segments) != len(g.profiles) {
		return out, fmt.Errorf("%d renditions for %d profiles", len(td.Segments), len(g.profiles))
	}
	var pixels int64
	for _, r := range td.Segments {
		if r.Pixels > 0 {
			pixels += r.Pixels
		}
	}
	out.Pixels = pixels
	// The books (go-livepeer completeBalanceUpdate): credit + new credit - price x pixels.
	charged := new(big.Rat).Mul(price, new(big.Rat).SetInt64(pixels))
	g.fees.Add(g.fees, charged)
	out.Fee = RatString(charged)
	s.credit = new(big.Rat).Add(existing, new(big.Rat).Sub(newCredit, charged))
	out.Credit = RatString(s.credit)
	for i, r := range td.Segments {
		path := filepath.Join(g.outDir, fmt.Sprintf("%03d_%s.ts", seq, g.names[i]))
		if err := g.download(r.Url, path); err != nil {
			return out, fmt.Errorf("rendition %s: %v", g.names[i], err)
		}
		out.Renditions = append(out.Renditions, path)
	}
	// Adopt the info that came back (fresh ticket params), keeping the session and its token
	// (go-livepeer updateSession).
	if ni := res.Info; ni != nil && ni.Transcoder != "" && ni.TicketParams != nil {
		if ni.AuthToken == nil {
			ni.AuthToken = s.info.AuthToken
		}
		s.info = ni
	}
	return out, nil
}

func (g *gateway) download(url, path string) error {
	resp, err := g.client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %q", url, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if len(data) == 0 {
		return fmt.Errorf("GET %s: empty", url)
	}
	return os.WriteFile(path, data, 0o644)
}
