package visitor

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// SaltStore keeps the sealed salts that the collector nodes of an
// installation share (chsalt implements it over ClickHouse). Days are UTC
// midnights. Values are opaque to the store: sealed with the installation's
// salt key, they reveal nothing without it.
type SaltStore interface {
	// Load returns every sealed salt stored for day: normally one (or
	// several sealings of the same salt), none if none is stored, and, after
	// two nodes raced to create the first salt, their candidates.
	Load(ctx context.Context, day time.Time) ([][]byte, error)
	// Store adds a sealed salt for day. Storing a value again is harmless.
	Store(ctx context.Context, day time.Time, sealed []byte) error
	// Days lists the days that have stored salts, oldest first.
	Days(ctx context.Context) ([]time.Time, error)
	// DropBefore destroys the stored salts of every day before day.
	DropBefore(ctx context.Context, day time.Time) error
}

// MinSaltKeyLen is the shortest accepted salt key, in bytes. The key is
// used as given (any string: "openssl rand -hex 32" makes a good one) as
// the input of HKDF-SHA256.
const MinSaltKeyLen = 32

// MinGrace is the shortest grace period accepted: a salt must outlive its
// day by at least the interval at which Rotate runs (a minute in main), so
// that nodes whose clocks differ by less than that still agree.
const MinGrace = time.Minute

// ErrSaltKeyMismatch means a stored salt cannot be opened with the salt key
// given: the nodes of an installation were given different keys, or the key
// was changed. Nodes never start a new salt of their own in that case, which
// would silently split visitor keys.
var ErrSaltKeyMismatch = errors.New("the stored salt cannot be opened with this ANALYTICS_SALT_KEY")

const (
	// storeTimeout bounds every exchange with the store, so that Rotate
	// and NewSharedSalts never hang on a slow database.
	storeTimeout = 10 * time.Second
	ratchetLabel = "analytics salt ratchet"
	sealInfo     = "analytics salt seal v1"
	sealVersion  = 1
	sealedSize   = 1 + 12 + saltSize + 16 // version, nonce, ciphertext, tag
)

// genesisSettle is how long a node that created a first salt waits before
// reading back which candidate won, so that nodes starting together see each
// other's candidates. Later disagreements are settled by Rotate.
var genesisSettle = time.Second

// shared is the state of shared mode.
type shared struct {
	store SaltStore
	aead  cipher.AEAD
	// syncMu serialises exchanges with the store; s.mu is never held
	// across one, so Key never waits for the network.
	syncMu sync.Mutex
}

// NewSharedSalts returns Salts in shared mode: every node of an installation
// given the same key derives the same salt each day, with the store (the
// database all nodes use) as the meeting point.
//
// The first salt is random, created by the first node that finds none, and
// sealed into the store; every later day's salt is derived from the previous
// day's by a one-way ratchet,
//
//	salt(d+1) = HMAC-SHA256(salt(d), "analytics salt ratchet" || d+1)[:16]
//
// so nodes advance at midnight without talking to each other, and nobody,
// holding a salt, the key and the whole database, can compute an earlier
// day's salt. The store and dir hold the current day's salt sealed with
// AES-256-GCM under HKDF-SHA256(key), the day as additional data; past days
// are dropped from the store once their day and grace are over, and from dir
// at once.
//
// If the store is unreachable the node starts on dir's copy of today's salt,
// if there is one, and otherwise fails; Rotate catches up with the store
// later. If a stored salt cannot be opened with key, it fails with
// ErrSaltKeyMismatch.
func NewSharedSalts(dir string, store SaltStore, key []byte, now func() time.Time, grace time.Duration) (*Salts, error) {
	if store == nil {
		return nil, errors.New("visitor salts: shared mode needs a store")
	}
	if len(key) < MinSaltKeyLen {
		return nil, fmt.Errorf("visitor salts: salt key is %d bytes long, must be at least %d (make one with: openssl rand -hex 32)", len(key), MinSaltKeyLen)
	}
	s, err := baseSalts(dir, now, grace)
	if err != nil {
		return nil, err
	}
	sk, err := hkdf.Key(sha256.New, key, nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("visitor salts: derive sealing key: %w", err)
	}
	block, err := aes.NewCipher(sk)
	clear(sk)
	if err != nil {
		return nil, fmt.Errorf("visitor salts: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("visitor salts: %w", err)
	}
	s.shared = &shared{store: store, aead: aead}

	t := s.now()
	day := unixDay(t.Unix())
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	k, storeErr := s.resolveShared(ctx, day)
	switch {
	case storeErr == nil:
		if err := s.writeSealed(k); err != nil {
			return nil, err
		}
	case errors.Is(storeErr, ErrSaltKeyMismatch):
		return nil, storeErr
	default:
		var ferr error
		k, ferr = s.readSealed(day)
		if ferr != nil {
			return nil, fmt.Errorf("visitor salts: cannot get today's salt (%s) from the store: %w; "+
				"and no usable copy in %s: %v. Start this node when ClickHouse answers, so that it uses the installation's salt",
				dayString(day), storeErr, dir, ferr)
		}
		// Rotate reaches the store later.
	}
	s.cur.Store(k)
	if err := s.removeExpired(t); err != nil {
		return nil, err
	}
	if storeErr == nil {
		// A failure here is retried by every Rotate.
		_ = s.dropExpired(ctx, t, day)
	}
	return s, nil
}

// resolveShared returns the salt of day as the store has it, writing it
// there first if it is missing: derived by the ratchet from the latest
// stored day, or, if the store holds none, a fresh random genesis. Of
// several candidates for a day it picks the smallest sealed value, which
// every node picks.
func (s *Salts) resolveShared(ctx context.Context, day int64) (*salt, error) {
	st := s.shared.store
	rows, err := st.Load(ctx, dayTime(day))
	if err != nil {
		return nil, fmt.Errorf("load the salt of %s: %w", dayString(day), err)
	}
	if len(rows) > 0 {
		return s.pick(day, rows)
	}
	days, err := st.Days(ctx)
	if err != nil {
		return nil, fmt.Errorf("list stored salts: %w", err)
	}
	var cand *salt
	genesis := true
	for i := len(days) - 1; i >= 0; i-- {
		d := unixDay(days[i].Unix())
		if d >= day {
			continue
		}
		rows, err := st.Load(ctx, days[i])
		if err != nil {
			return nil, fmt.Errorf("load the salt of %s: %w", dayString(d), err)
		}
		if len(rows) == 0 {
			continue // dropped meanwhile
		}
		base, err := s.pick(d, rows)
		if err != nil {
			return nil, err
		}
		cand = ratchet(base, day)
		base.wipe()
		genesis = false
		break
	}
	if genesis {
		cand = newSalt(day)
	}
	sealed := s.seal(cand)
	cand.wipe()
	if err := st.Store(ctx, dayTime(day), sealed); err != nil {
		return nil, fmt.Errorf("store the salt of %s: %w", dayString(day), err)
	}
	if genesis {
		select {
		case <-time.After(genesisSettle):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	rows, err = st.Load(ctx, dayTime(day))
	if err != nil {
		return nil, fmt.Errorf("load the salt of %s: %w", dayString(day), err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("the salt of %s was stored but cannot be read back", dayString(day))
	}
	return s.pick(day, rows)
}

// pick opens the candidates for day and returns the one with the smallest
// sealed value. A candidate that does not open is an error: adopting
// another would fork the installation's visitor keys.
func (s *Salts) pick(day int64, rows [][]byte) (*salt, error) {
	best := -1
	for i, r := range rows {
		k, err := s.open(day, r)
		if err != nil {
			return nil, err
		}
		k.wipe()
		if best < 0 || bytes.Compare(r, rows[best]) < 0 {
			best = i
		}
	}
	return s.open(day, rows[best])
}

// syncShared reconciles the current salt with the store: it makes sure the
// store has the day's salt, adopts the store's if it differs from ours (only
// after a race to create the first salt, or one created while this node
// could not reach the store), and drops expired days from the store.
func (s *Salts) syncShared(t time.Time) error {
	s.shared.syncMu.Lock()
	defer s.shared.syncMu.Unlock()
	day := s.cur.Load().day
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	k, err := s.resolveShared(ctx, day)
	if err != nil {
		return fmt.Errorf("visitor salts: %w", err)
	}
	s.mu.Lock()
	var ferr error
	if cur := s.cur.Load(); cur.day == day && !sameSalt(cur, k) {
		ferr = s.writeSealed(k)
		s.unsaved = ferr
		s.cur.Store(k)
		cur.wipe() // a Key call still holding cur starts over
	} else {
		k.wipe()
	}
	s.mu.Unlock()
	return errors.Join(ferr, s.dropExpired(ctx, t, day))
}

// dropExpired drops from the store the days whose grace is over at t, never
// day itself (which the store was just seen to hold).
func (s *Salts) dropExpired(ctx context.Context, t time.Time, day int64) error {
	cutoff := min(unixDay(t.Add(-s.grace).Unix()), day)
	if err := s.shared.store.DropBefore(ctx, dayTime(cutoff)); err != nil {
		return fmt.Errorf("visitor salts: drop expired salts from the store: %w", err)
	}
	return nil
}

// ratchet derives the salt of day to from k, one day at a time. It only
// hashes forward: there is no way back from a salt to its predecessor.
func ratchet(k *salt, to int64) *salt {
	b := k.bytes()
	var in [len(ratchetLabel) + 8]byte
	copy(in[:], ratchetLabel)
	for d := k.day + 1; d <= to; d++ {
		binary.BigEndian.PutUint64(in[len(ratchetLabel):], uint64(d))
		m := hmac.New(sha256.New, b[:])
		m.Write(in[:])
		var sum [sha256.Size]byte
		m.Sum(sum[:0])
		copy(b[:], sum[:saltSize])
		clear(sum[:])
		// A zero half marks a wiped salt; make it non-zero the same way
		// on every node (odds 2^-63).
		if binary.LittleEndian.Uint64(b[:8]) == 0 {
			b[0] = 1
		}
		if binary.LittleEndian.Uint64(b[8:]) == 0 {
			b[8] = 1
		}
	}
	n, _ := saltFrom(to, b)
	clear(b[:])
	return n
}

func sameSalt(a, b *salt) bool {
	return a.day == b.day && a.k0.Load() == b.k0.Load() && a.k1.Load() == b.k1.Load()
}

// additionalData binds a sealed salt to its day: a sealed salt moved to
// another day's row or file does not open.
func additionalData(day int64) []byte { return []byte("analytics salt " + dayString(day)) }

// seal encrypts k: version byte, random nonce, ciphertext and tag.
func (s *Salts) seal(k *salt) []byte {
	out := make([]byte, 1+12, sealedSize)
	out[0] = sealVersion
	_, _ = rand.Read(out[1:13])
	plain := k.bytes()
	out = s.shared.aead.Seal(out, out[1:13], plain[:], additionalData(k.day))
	clear(plain[:])
	return out
}

// open decrypts a sealed salt of day.
func (s *Salts) open(day int64, sealed []byte) (*salt, error) {
	if len(sealed) != sealedSize || sealed[0] != sealVersion {
		return nil, fmt.Errorf("visitor salts: the stored salt of %s is not a sealed salt (%d bytes): %w", dayString(day), len(sealed), ErrSaltKeyMismatch)
	}
	plain, err := s.shared.aead.Open(nil, sealed[1:13], sealed[13:], additionalData(day))
	if err != nil {
		return nil, fmt.Errorf("visitor salts: %w (day %s): give every node the same key; "+
			"to start over with a new key, run TRUNCATE TABLE salts in ClickHouse and delete data-dir/salt "+
			"(visitors seen earlier today will be counted again)", ErrSaltKeyMismatch, dayString(day))
	}
	k, ok := saltFrom(day, [saltSize]byte(plain))
	clear(plain)
	if !ok {
		return nil, fmt.Errorf("visitor salts: the stored salt of %s is damaged", dayString(day))
	}
	return k, nil
}

// writeSealed replaces dir's copy of k's day with k, sealed.
func (s *Salts) writeSealed(k *salt) error {
	f, err := os.CreateTemp(s.dir, tempPrefix+dayString(k.day)+"-*"+tempSuffix) // mode 0600
	if err != nil {
		return fmt.Errorf("visitor salts: write salt file: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(s.seal(k))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if old, rerr := os.ReadFile(s.path(k.day)); rerr == nil && len(old) != sealedSize {
		// A salt in clear left by local mode: a rename would leave its
		// blocks as they are.
		_ = shred(s.path(k.day))
	}
	if err == nil {
		err = os.Rename(tmp, s.path(k.day))
	}
	if err != nil {
		_ = shred(tmp)
		return fmt.Errorf("visitor salts: write salt file: %w", err)
	}
	syncDir(s.dir)
	return nil
}

// readSealed reads and opens dir's copy of day's salt.
func (s *Salts) readSealed(day int64) (*salt, error) {
	b, err := os.ReadFile(s.path(day))
	if err != nil {
		return nil, err
	}
	return s.open(day, b)
}

func dayTime(day int64) time.Time { return time.Unix(day*secondsDay, 0).UTC() }
