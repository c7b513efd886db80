// SPDX-License-Identifier: GPL-2.0-only OR MIT

// Command tlog-go checks bioreader's audit log against an independent
// implementation of the same standards: Go's golang.org/x/mod/sumdb/note
// (C2SP signed notes) and golang.org/x/mod/sumdb/tlog (RFC 6962/9162
// Merkle trees and proofs), built from Debian's golang-golang-x-mod-dev.
// tests/interop/t_tlog_go.sh builds and runs it; it prints KTAP.
//
// Forward: a multi-epoch store written by the project's code
// (tests/interop/interop_store.c) is read back here: every epoch key
// as a note verifier key, every checkpoint with note.Open, every root
// recomputed with tlog, every inclusion proof with tlog.CheckRecord and
// every consistency proof with tlog.CheckTree, and the files
// bioflow-verify --export-proof writes.
//
// Reverse: notes made here with note.Sign, with signatures by keys the
// project's verifier does not know (an Ed25519 key, a C2SP
// tlog-cosignature, an ML-DSA-44-sized cosignature), are given to the
// project's verifier (interop_store verify-note, bioflow-verify --since
// and the store's checkpoint file), with negative controls.
//
// Witnesses: Go's tlog-cosignature through bioflow-verify --witness, and
// the project's cosignature (interop_store cosign) checked by Go.
//
// Usage: tlog-go -helper build/tests/interop/interop_store
//
//	-verify build/bioflow-verify -work DIR
package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const nTests = 20

var num, failed int

func check(ok bool, name string) bool {
	num++
	if ok {
		fmt.Printf("ok %d %s\n", num, name)
	} else {
		failed++
		fmt.Printf("not ok %d %s\n", num, name)
	}
	return ok
}

func diag(format string, a ...interface{}) {
	for _, l := range strings.Split(strings.TrimRight(fmt.Sprintf(format, a...), "\n"), "\n") {
		fmt.Printf("# %s\n", l)
	}
}

// What interop_store make prints.
type checkpointItem struct {
	where string // "entry", "final", "file"
	size  int64  // records before an entry; -1 otherwise
	note  []byte
}

type proofItem struct {
	size, index int64 // inclusion: tree size, leaf; consistency: old, new
	hashes      []tlog.Hash
}

type store struct {
	origin      string
	vkeys       map[int64]string
	records     [][]byte
	checkpoints []checkpointItem
	inclusion   []proofItem
	consistency []proofItem
}

func b64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(fmt.Sprintf("bad base64 %q from the helper", s))
	}
	return b
}

func hashes(fields []string) []tlog.Hash {
	var hs []tlog.Hash
	for _, f := range fields {
		var h tlog.Hash
		copy(h[:], b64(f))
		hs = append(hs, h)
	}
	return hs
}

func atoi(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("bad number %q from the helper", s))
	}
	return v
}

func parseDescription(out []byte) *store {
	s := &store{vkeys: map[int64]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "origin":
			s.origin = f[1]
		case "vkey":
			s.vkeys[atoi(f[1])] = f[2]
		case "record":
			if atoi(f[1]) != int64(len(s.records)) {
				panic("records out of order")
			}
			s.records = append(s.records, b64(f[2]))
		case "checkpoint":
			s.checkpoints = append(s.checkpoints, checkpointItem{f[1], atoi(f[2]), b64(f[3])})
		case "inclusion":
			s.inclusion = append(s.inclusion, proofItem{atoi(f[1]), atoi(f[2]), hashes(f[3:])})
		case "consistency":
			s.consistency = append(s.consistency, proofItem{atoi(f[1]), atoi(f[2]), hashes(f[3:])})
		}
	}
	return s
}

// A C2SP tlog-checkpoint body: origin, size, root, extension lines.
type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
	epoch  int64 // the "bioflow-epoch N" extension line; 0 if none
}

func parseCheckpoint(text string) (checkpoint, error) {
	var c checkpoint
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return c, errors.New("fewer than 3 lines")
	}
	c.origin = lines[0]
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return c, fmt.Errorf("bad tree size %q", lines[1])
	}
	c.size = size
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return c, fmt.Errorf("bad root hash %q", lines[2])
	}
	c.root = root
	for _, l := range lines[3:] {
		if strings.HasPrefix(l, "bioflow-epoch ") {
			c.epoch, _ = strconv.ParseInt(strings.TrimPrefix(l, "bioflow-epoch "), 10, 64)
		}
	}
	return c, nil
}

// The tree built with tlog's own storage layout from the records.
type tree struct {
	stored []tlog.Hash
}

func (t *tree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(t.stored)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = t.stored[x]
	}
	return out, nil
}

// rootAt is the RFC 9162 tree head of the first n records.  tlog
// defines the empty tree's hash as all zeros; RFC 9162 (2.1.1) as
// SHA-256 of the empty string, which is what the project signs.
func (t *tree) rootAt(n int64) (tlog.Hash, error) {
	if n == 0 {
		return tlog.Hash(sha256.Sum256(nil)), nil
	}
	return tlog.TreeHash(n, t)
}

// A C2SP tlog-cosignature/v1 Ed25519 cosigner (signature type 0x04):
// key ID SHA-256(name || "\n" || 0x04 || key)[:4], signature
// timestamp (8 bytes, big-endian) || Ed25519 over
// "cosignature/v1\ntime <T>\n" || the checkpoint body.
type cosigner struct {
	name string
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	time uint64
}

func cosignKeyID(name string, typ byte, key []byte) uint32 {
	h := sha256.Sum256(append(append([]byte(name+"\n"), typ), key...))
	return binary.BigEndian.Uint32(h[:4])
}

func cosignedMessage(t uint64, body []byte) []byte {
	return append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), body...)
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return cosignKeyID(c.name, 0x04, c.pub) }
func (c *cosigner) Sign(msg []byte) ([]byte, error) {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], c.time)
	return append(ts[:], ed25519.Sign(c.priv, cosignedMessage(c.time, msg))...), nil
}
func (c *cosigner) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	return ed25519.Verify(c.pub, cosignedMessage(t, msg), sig[8:])
}

// An ML-DSA-44-sized cosignature line by a key nobody here knows
// (c2sp.org/tlog-cosignature: type 0x06, 8-byte timestamp and 2420
// bytes of signature): random bytes of the right size, which verifiers
// that do not know the key must skip.
func bigUnknownSig(name string) note.Signature {
	pub := make([]byte, 1312)
	sig := make([]byte, 4+8+2420)
	rand.Read(pub)
	rand.Read(sig)
	id := cosignKeyID(name, 0x06, pub)
	binary.BigEndian.PutUint32(sig, id)
	return note.Signature{Name: name, Hash: id, Base64: base64.StdEncoding.EncodeToString(sig)}
}

func run(name string, args ...string) (string, int) {
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		return err.Error(), -1
	}
	return string(out), 0
}

func main() {
	helper := flag.String("helper", "", "interop_store")
	verify := flag.String("verify", "", "bioflow-verify")
	work := flag.String("work", "", "scratch directory")
	flag.Parse()

	fmt.Printf("KTAP version 1\n1..%d\n", nTests)
	defer func() {
		if r := recover(); r != nil {
			diag("aborted: %v", r)
			failed++
		}
		for num < nTests {
			check(false, "not reached")
		}
		diag("totals: pass:%d fail:%d", num-failed, failed)
		if failed > 0 {
			os.Exit(1)
		}
	}()
	forward(*helper, *verify, *work)
	reverse(*helper, *verify, *work)
}

var st *store
var verifiers = map[int64]note.Verifier{}
var roots = map[int64]tlog.Hash{} // size -> root, from checkpoints Go verified
var latest []byte                 // the store's checkpoint file

func forward(helper, verify, work string) {
	out, rc := run(helper, "make", work)
	if rc != 0 {
		diag("%s", out)
		check(false, "the project's code writes a multi-epoch store")
		return
	}
	st = parseDescription([]byte(out))
	nEntries := 0
	for _, c := range st.checkpoints {
		if c.where == "entry" {
			nEntries++
		}
	}
	diag("store: %d records, %d epochs, %d checkpoint entries, %d checkpoints in all",
		len(st.records), len(st.vkeys), nEntries, len(st.checkpoints))
	check(len(st.vkeys) >= 3 && nEntries >= 8 && len(st.records) > 32,
		"the project's code writes a multi-epoch store")

	// 2. Epoch keys in the note verifier key format.
	ok := len(st.vkeys) > 0
	for e, vk := range st.vkeys {
		v, err := note.NewVerifier(vk)
		if err != nil || v.Name() != fmt.Sprintf("%s/epoch/%d", st.origin, e) {
			diag("epoch %d: %q: %v", e, vk, err)
			ok = false
			continue
		}
		verifiers[e] = v
	}
	check(ok, "every epoch key is a note verifier key (note.NewVerifier recomputes the key ID)")

	// 3. Every checkpoint opens under its epoch's key, and only that.
	var all []note.Verifier
	for _, v := range verifiers {
		all = append(all, v)
	}
	list := note.VerifierList(all...)
	ok = len(st.checkpoints) > 0
	parsed := make([]checkpoint, len(st.checkpoints))
	for i, c := range st.checkpoints {
		n, err := note.Open(c.note, list)
		if err == nil {
			parsed[i], err = parseCheckpoint(n.Text)
		}
		if err == nil && (len(n.Sigs) != 1 || len(n.UnverifiedSigs) != 0 ||
			verifiers[parsed[i].epoch] == nil ||
			n.Sigs[0].Name != verifiers[parsed[i].epoch].Name()) {
			err = fmt.Errorf("signed by %v, names epoch %d", n.Sigs, parsed[i].epoch)
		}
		if err != nil {
			diag("checkpoint %d (%s): %v\n%s", i, c.where, err, c.note)
			ok = false
		}
		if c.where == "file" {
			latest = c.note
		}
	}
	check(ok, fmt.Sprintf("every checkpoint opens with note.Open under its epoch's key (%d)", len(st.checkpoints)))

	// 4. Origins, sizes and roots against tlog's tree of the records.
	t := &tree{}
	for i, r := range st.records {
		hs, err := tlog.StoredHashes(int64(i), r, t)
		if err != nil {
			panic(err)
		}
		t.stored = append(t.stored, hs...)
	}
	ok = true
	for i, c := range st.checkpoints {
		p := parsed[i]
		want, err := t.rootAt(p.size)
		if err != nil || p.origin != st.origin || (c.size >= 0 && c.size != p.size) ||
			p.size > int64(len(st.records)) || p.root != want {
			diag("checkpoint %d (%s): origin %q size %d (at %d) root %v, records give %v (%v)",
				i, c.where, p.origin, p.size, c.size, p.root, want, err)
			ok = false
			continue
		}
		roots[p.size] = p.root
	}
	check(ok, "every checkpoint's origin, size and root agree with tlog's tree of the records")

	// 5, 6. Inclusion proofs.
	ok = len(st.inclusion) > 0
	for _, p := range st.inclusion {
		root, have := roots[p.size]
		if !have {
			diag("inclusion proof for a size no checkpoint has: %d", p.size)
			ok = false
			continue
		}
		if err := tlog.CheckRecord(p.hashes, p.size, root, p.index,
			tlog.RecordHash(st.records[p.index])); err != nil {
			diag("inclusion of %d in %d: %v", p.index, p.size, err)
			ok = false
		}
	}
	check(ok, fmt.Sprintf("inclusion proofs check with tlog.CheckRecord (%d: every index under every checkpoint size)",
		len(st.inclusion)))
	bad := 0
	for _, p := range st.inclusion {
		if p.index+1 >= p.size {
			continue
		}
		if tlog.CheckRecord(p.hashes, p.size, roots[p.size], p.index,
			tlog.RecordHash(st.records[p.index+1])) == nil {
			bad++
		}
	}
	check(bad == 0 && len(st.inclusion) > 0, "negative control: no inclusion proof holds for the next record")

	// 7, 8. Consistency proofs.
	ok = len(st.consistency) > 0
	for _, p := range st.consistency {
		if err := tlog.CheckTree(p.hashes, p.index, roots[p.index], p.size, roots[p.size]); err != nil {
			diag("consistency %d -> %d: %v", p.size, p.index, err)
			ok = false
		}
	}
	check(ok, fmt.Sprintf("consistency proofs check with tlog.CheckTree (%d: every two checkpoint sizes)",
		len(st.consistency)))
	bad = 0
	tried := 0
	for _, p := range st.consistency {
		if len(p.hashes) == 0 {
			continue
		}
		h := append([]tlog.Hash(nil), p.hashes...)
		h[len(h)/2][0] ^= 1
		tried++
		if tlog.CheckTree(h, p.index, roots[p.index], p.size, roots[p.size]) == nil {
			bad++
		}
	}
	check(bad == 0 && tried > 0, "negative control: no consistency proof holds with one hash altered")

	// 9. What an auditor is handed: bioflow-verify --export-proof.
	ok = true
	n := int64(len(st.records))
	for _, idx := range []int64{0, n / 2, n - 1} {
		dir := filepath.Join(work, fmt.Sprintf("proof-%d", idx))
		out, rc := run(verify, "--export-proof", strconv.FormatInt(idx, 10), "--out", dir,
			filepath.Join(work, "store"))
		if err := checkExport(dir, idx, list); rc != 0 || err != nil {
			diag("--export-proof %d: exit %d: %v\n%s", idx, rc, err, out)
			ok = false
		}
	}
	check(ok, "bioflow-verify --export-proof: checkpoint, record and proof check with note.Open and tlog.CheckRecord")
}

func checkExport(dir string, idx int64, list note.Verifiers) error {
	rec, err1 := os.ReadFile(filepath.Join(dir, "record"))
	proof, err2 := os.ReadFile(filepath.Join(dir, "proof"))
	cp, err3 := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err := errorsJoin(err1, err2, err3); err != nil {
		return err
	}
	n, err := note.Open(cp, list)
	if err != nil {
		return err
	}
	c, err := parseCheckpoint(n.Text)
	if err != nil {
		return err
	}
	var index, size int64 = -1, -1
	var hs []tlog.Hash
	for _, l := range strings.Split(strings.TrimSuffix(string(proof), "\n"), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && f[0] == "index":
			index = atoi(f[1])
		case len(f) == 2 && f[0] == "tree-size":
			size = atoi(f[1])
		case len(f) == 2 && f[0] == "hash":
			hs = append(hs, hashes(f[1:])...)
		}
	}
	if index != idx || size != c.size {
		return fmt.Errorf("proof for %d in %d, checkpoint size %d", index, size, c.size)
	}
	return tlog.CheckRecord(hs, size, c.root, index, tlog.RecordHash(rec))
}

// The first error of errs (errors.Join is newer than Debian 12's Go 1.19).
func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func reverse(helper, verify, work string) {
	// 10-13. A note made by Go, checked by the project's note code.
	skey, vkey, err := note.GenerateKey(rand.Reader, "interop.example/go-log")
	signer, err2 := note.NewSigner(skey)
	skey2, _, err3 := note.GenerateKey(rand.Reader, "witness.example/go-w1")
	other, err4 := note.NewSigner(skey2)
	if err = errorsJoin(err, err2, err3, err4); err != nil {
		panic(err)
	}
	parts := strings.SplitN(vkey, "+", 3)
	pub := base64.StdEncoding.EncodeToString(b64(parts[2])[1:]) // without the type byte
	root := sha256.Sum256([]byte("interop"))
	text := fmt.Sprintf("interop.example/go-log\n%d\n%s\nx-ext go\n", 12345,
		base64.StdEncoding.EncodeToString(root[:]))
	msg, err := note.Sign(&note.Note{Text: text,
		UnverifiedSigs: []note.Signature{bigUnknownSig("witness.example/pq-w2")}}, signer, other)
	if err != nil {
		panic(err)
	}
	good := filepath.Join(work, "go-note")
	os.WriteFile(good, msg, 0o644)
	out, rc := run(helper, "verify-note", "interop.example/go-log", pub, good)
	diag("%s", out)
	check(rc == 0 && strings.HasPrefix(out, "verified: 3 signature lines"),
		"a note.Sign note with an unknown Ed25519 signature and an ML-DSA-44-sized one: the project's verifier accepts it")

	altered := filepath.Join(work, "go-note-altered")
	os.WriteFile(altered, bytes.Replace(msg, []byte("\n12345\n"), []byte("\n12346\n"), 1), 0o644)
	out, rc = run(helper, "verify-note", "interop.example/go-log", pub, altered)
	check(rc == 1 && strings.Contains(out, "does not verify"),
		"negative control: the same note with its text altered is rejected")

	onlyOthers, err := note.Sign(&note.Note{Text: text,
		UnverifiedSigs: []note.Signature{bigUnknownSig("witness.example/pq-w2")}}, other)
	if err != nil {
		panic(err)
	}
	unknown := filepath.Join(work, "go-note-unknown")
	os.WriteFile(unknown, onlyOthers, 0o644)
	out, rc = run(helper, "verify-note", "interop.example/go-log", pub, unknown)
	check(rc == 1 && strings.Contains(out, "no signature by"),
		"negative control: a note signed only by keys the project's verifier does not know is rejected")

	// Names with a Unicode space: note refuses to sign under them, and so
	// does the project.
	spaced := "interop.example/go\u00a0log"
	sk, _, _ := note.GenerateKey(rand.Reader, spaced)
	_, errGo := note.NewSigner(sk)
	out, rc = run(helper, "verify-note", spaced, pub, good)
	check(errGo != nil && rc == 1 && strings.Contains(out, "U+00A0"),
		"a key name with U+00A0: refused by note.NewSigner and by the project's key code")

	// 14-17. The store's own latest checkpoint, cosigned by witnesses,
	// through bioflow-verify.
	if latest == nil || len(verifiers) == 0 {
		check(false, "the store's checkpoint file was read")
		return
	}
	list := []note.Verifier{}
	for _, v := range verifiers {
		list = append(list, v)
	}
	n, err := note.Open(latest, note.VerifierList(list...))
	if err != nil {
		panic(err)
	}
	wpub, wpriv, _ := ed25519.GenerateKey(rand.Reader)
	w := &cosigner{name: "witness.example/w1", priv: wpriv, pub: wpub, time: 1767225600}
	n.UnverifiedSigs = append(n.UnverifiedSigs, bigUnknownSig("witness.example/pq-w2"))
	cosigned, err := note.Sign(n, w)
	if err != nil {
		panic(err)
	}
	// The cosignature is genuine: Go's note.Open verifies it with the
	// witness's key.
	_, errW := note.Open(cosigned, note.VerifierList(w))
	cpath := filepath.Join(work, "cosigned.checkpoint")
	os.WriteFile(cpath, cosigned, 0o644)
	diag("cosigned checkpoint: %d bytes, %d signature lines", len(cosigned),
		bytes.Count(cosigned, []byte("\u2014 ")))
	rootPEM := filepath.Join(work, "root.pem")
	storeDir := filepath.Join(work, "store")
	out, rc = run(verify, "--root-key", rootPEM, "--since", cpath, storeDir)
	if rc != 0 {
		diag("%s", out)
	}
	check(errW == nil && rc == 0,
		"bioflow-verify --since: the latest checkpoint with a tlog-cosignature and an ML-DSA-44-sized cosignature verifies")

	badpath := filepath.Join(work, "cosigned-altered.checkpoint")
	p, _ := parseCheckpoint(n.Text)
	os.WriteFile(badpath, bytes.Replace(cosigned,
		[]byte(fmt.Sprintf("\n%d\n", p.size)), []byte(fmt.Sprintf("\n%d\n", p.size-1)), 1), 0o644)
	out, rc = run(verify, "--root-key", rootPEM, "--since", badpath, storeDir)
	check(rc == 1 && strings.Contains(out, "checkpoint-signature"),
		"negative control: bioflow-verify --since fails (exit 1) when the cosigned checkpoint's size is altered")

	os.WriteFile(filepath.Join(storeDir, "checkpoint"), cosigned, 0o644)
	out, rc = run(verify, "--root-key", rootPEM, storeDir)
	if rc != 0 {
		diag("%s", out)
	}
	check(rc == 0, "bioflow-verify: the store's checkpoint file, cosigned, verifies")

	// 17-18. Go's cosignature through bioflow-verify --witness, with the
	// witness's verifier key (type 0x04) made here.
	wvkey := fmt.Sprintf("%s+%08x+%s", w.name, w.KeyHash(),
		base64.StdEncoding.EncodeToString(append([]byte{0x04}, w.pub...)))
	out, rc = run(verify, "--root-key", rootPEM, "--witness", wvkey, "--cosigned", cpath, storeDir)
	if rc != 0 {
		diag("%s", out)
	}
	check(rc == 0 && strings.Contains(out, "witness-cosigned"),
		"bioflow-verify --witness: Go's tlog-cosignature verifies under its verifier key")
	wline := []byte("\u2014 " + w.name + " ")
	at := bytes.Index(cosigned, wline)
	wbad := append([]byte{}, cosigned...)
	if at >= 0 {
		// In the signature (past the key ID and the time), replaced by
		// another base64 character: flipping a bit could make it no
		// base64 at all ('A' ^ 1 is '@'), a malformed line rather than
		// a wrong signature, and the check would depend on the
		// signature's random bytes.
		i := at + len(wline) + 20
		if wbad[i] == 'A' {
			wbad[i] = 'B'
		} else {
			wbad[i] = 'A'
		}
	}
	os.WriteFile(badpath, wbad, 0o644)
	out, rc = run(verify, "--root-key", rootPEM, "--witness", wvkey, "--cosigned", badpath, storeDir)
	check(at >= 0 && rc == 1 && strings.Contains(out, "witness-cosignature"),
		"negative control: bioflow-verify --witness fails (exit 1) on an altered cosignature")

	// 19-20. The project's cosignature (witness.c) checked by Go.
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	cpriv := ed25519.NewKeyFromSeed(seed)
	cw := &cosigner{name: "collector.example/witness", priv: cpriv,
		pub: cpriv.Public().(ed25519.PublicKey)}
	plain := filepath.Join(work, "latest.checkpoint")
	os.WriteFile(plain, latest, 0o644)
	out, rc = run(helper, "cosign", base64.StdEncoding.EncodeToString(seed), cw.name,
		"1767225601", plain)
	var cvkey, cline string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "vkey ") {
			cvkey = l[5:]
		} else if strings.HasPrefix(l, "line ") {
			cline = l[5:]
		}
	}
	wantV := fmt.Sprintf("%s+%08x+%s", cw.name, cw.KeyHash(),
		base64.StdEncoding.EncodeToString(append([]byte{0x04}, cw.pub...)))
	cn, errC := note.Open(append(append([]byte{}, latest...), []byte(cline+"\n")...),
		note.VerifierList(cw))
	okT := false
	if errC == nil && len(cn.Sigs) == 1 {
		raw, _ := base64.StdEncoding.DecodeString(cn.Sigs[0].Base64)
		okT = len(raw) == 4+8+64 && binary.BigEndian.Uint64(raw[4:12]) == 1767225601
	}
	if rc != 0 || cvkey != wantV || errC != nil {
		diag("%s", out)
		diag("want vkey %s; note.Open: %v", wantV, errC)
	}
	check(rc == 0 && cvkey == wantV && errC == nil && okT,
		"the project's cosignature and verifier key: Go computes the same key and verifies the cosignature and its time")
	otherCp := bytes.Replace(latest, []byte(fmt.Sprintf("\n%d\n", p.size)),
		[]byte(fmt.Sprintf("\n%d\n", p.size+1)), 1)
	cw2 := *cw
	_, errO := note.Open(append(otherCp, []byte(cline+"\n")...), note.VerifierList(&cw2))
	check(cline != "" && errO != nil,
		"negative control: Go refuses the project's cosignature on another checkpoint")
}
